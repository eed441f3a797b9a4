"""Executions over HTTP: bad input, trigger rules, cancel and resume, the run list, the queue."""

from __future__ import annotations

import json
import time

import pytest

from flowdesk.model import errors_only, validate_workflow, workflow_from_data
from flowdesk.runs import RunService

from .helpers import LiveServer, create, echo, finish, waiting, workflow


def test_an_invalid_workflow_gets_the_problems_flowdesk_validate_finds(client, registry) -> None:
    broken = workflow(
        {"id": "a", "handler": "no_such_handler", "dependencies": ["input"]},
        {"id": "b", "handler": "transform", "dependencies": ["c"], "config": {"value": 1}},
        {"id": "c", "handler": "transform", "dependencies": ["b"], "config": {"value": 1}},
        {"id": "d", "handler": "output", "dependencies": ["ghost"]},
    )
    response = client.post("/workflows", json=broken)
    assert response.status_code == 422
    expected = errors_only(validate_workflow(workflow_from_data(broken), registry.config_models()))
    assert response.json()["detail"] == [
        {"node": p.node_id, "rule": str(p.rule), "message": p.message} for p in expected
    ]
    assert {p["rule"] for p in response.json()["detail"]} >= {
        "unknown-handler",
        "cycle",
        "missing-dependency",
    }
    assert client.get("/runs").json()["runs"] == []  # nothing recorded


def test_malformed_json_names_its_line_and_column(client) -> None:
    text = '{\n  "name": "x",\n  "dag": \n}'
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
    response = client.post("/workflows", content=text)
    assert response.status_code == 400
    (problem,) = response.json()["detail"]
    assert problem["rule"] == "malformed-json" and problem["message"].startswith(where)

    execution_id = create(client, echo())
    trigger = client.post(f"/workflows/{execution_id}/trigger", content='{"params": {"x": 1,}}')
    assert trigger.status_code == 400
    assert trigger.json()["detail"][0]["message"].startswith("line 1, column ")

    no_dag = client.post("/workflows", json={"name": "x", "nodes": []})
    assert no_dag.status_code == 422
    assert no_dag.json()["detail"][0]["rule"] == "structure"
    assert "dag" in no_dag.json()["detail"][0]["message"]


def test_trigger_rules(client) -> None:
    execution_id = create(client, echo())
    assert client.post("/workflows/nope/trigger").status_code == 404
    prefix = client.post(f"/workflows/{execution_id[:8]}/trigger", json={})
    assert prefix.status_code == 404, "ids are exact over HTTP"
    for bad in ({"params": [1, 2]}, [1], {"params": {}, "extra": 1}):
        response = client.post(f"/workflows/{execution_id}/trigger", json=bad)
        assert response.status_code == 422, bad
        assert response.json()["detail"][0]["rule"] == "invalid-request"
    assert client.get(f"/workflows/{execution_id}").json()["status"] == "PENDING"

    first = client.post(f"/workflows/{execution_id}/trigger")  # no body: params {}
    assert first.status_code == 202 and first.json()["status"] == "RUNNING"
    again = client.post(f"/workflows/{execution_id}/trigger", json={"params": {"x": 2}})
    assert again.status_code == 409
    assert again.json()["status"] in ("RUNNING", "FAILED")  # it may have failed already
    assert again.json()["execution_id"] == execution_id
    done = finish(client, execution_id)
    assert done["params"] == {}
    assert done["nodes"]["t"]["status"] == "FAILED"  # params.x is missing: a node error, no crash
    late = client.post(f"/workflows/{execution_id}/trigger")
    assert late.status_code == 409 and late.json()["status"] == "FAILED"


def _wait_for(client, execution_id: str, node: str, status: str) -> None:
    deadline = time.monotonic() + 20
    while client.get(f"/workflows/{execution_id}").json()["nodes"][node]["status"] != status:
        assert time.monotonic() < deadline, f"{node} never became {status}"
        time.sleep(0.02)


def test_cancel_and_resume(client, server) -> None:
    never = create(client, echo())
    cancelled = client.post(f"/workflows/{never}/cancel")
    assert cancelled.status_code == 202 and cancelled.json()["status"] == "CANCELLED"

    slow = create(client, waiting())
    client.post(f"/workflows/{slow}/trigger")
    _wait_for(client, slow, "wait", "RUNNING")
    answer = client.post(f"/workflows/{slow}/cancel")
    assert answer.status_code == 202 and answer.json() == {
        "execution_id": slow,
        "status": "CANCELLED",
    }
    nodes = client.get(f"/workflows/{slow}").json()["nodes"]
    assert [nodes[n]["status"] for n in ("input", "wait", "output")] == [
        "SUCCEEDED",
        "CANCELLED",
        "SKIPPED",
    ]
    again = client.post(f"/workflows/{slow}/cancel")
    assert again.status_code == 409 and again.json()["status"] == "CANCELLED"

    # A node failing once: resume runs only what did not succeed.
    flaky = workflow(
        {
            "id": "call",
            "handler": "call_external_service",
            "dependencies": ["input"],
            "config": {"url": f"{server.url}/flaky/resume-test?failures=1"},
        },
        {"id": "output", "handler": "output", "dependencies": ["call"]},
    )
    failing = create(client, flaky)
    client.post(f"/workflows/{failing}/trigger", json={"params": {"n": 1}})
    assert finish(client, failing)["status"] == "FAILED"
    first_input = client.get(f"/workflows/{failing}").json()["nodes"]["input"]
    resumed = client.post(f"/workflows/{failing}/resume")
    assert resumed.status_code == 202 and resumed.json()["status"] == "RUNNING"
    body = finish(client, failing)
    assert body["status"] == "COMPLETED"
    assert body["nodes"]["input"] == first_input, "a node that succeeded never runs again"
    assert body["params"] == {"n": 1}
    results = client.get(f"/workflows/{failing}/results").json()
    assert results["results"]["output"]["call"]["body"]["attempt"] == 2
    done = client.post(f"/workflows/{failing}/resume")
    assert done.status_code == 409 and done.json()["status"] == "COMPLETED"
    assert client.post(f"/workflows/{never}/resume").status_code == 202  # CANCELLED resumes
    assert client.post("/workflows/unknown/cancel").status_code == 404
    assert client.post("/workflows/unknown/resume").status_code == 404


def test_the_run_list_pages_and_filters_and_includes_other_front_ends(client, db, registry) -> None:
    ours = [create(client, echo("listed")) for _ in range(3)]
    client.post(f"/workflows/{ours[0]}/trigger", json={"params": {"x": 1}})
    finish(client, ours[0])
    with RunService(registry, db) as editor:  # another front-end on the same database
        handle = editor.start(workflow_from_data(echo("elsewhere")), {"x": 2})
        import asyncio

        asyncio.run(handle.execute())  # type: ignore[union-attr]

    everything = client.get("/runs").json()
    assert [run["execution_id"] for run in everything["runs"]] == [
        handle.run_id,  # type: ignore[union-attr]
        *reversed(ours),
    ]
    assert everything["has_more"] is False
    first = client.get("/runs", params={"limit": 2}).json()
    assert len(first["runs"]) == 2 and first["has_more"] is True
    rest = client.get(
        "/runs", params={"limit": 2, "starting_after": first["runs"][-1]["execution_id"]}
    ).json()
    assert [r["execution_id"] for r in first["runs"] + rest["runs"]] == [
        r["execution_id"] for r in everything["runs"]
    ]
    assert rest["has_more"] is False
    listed = client.get("/runs", params={"workflow": "listed", "status": "PENDING"}).json()
    assert {r["execution_id"] for r in listed["runs"]} == set(ours[1:])
    for bad in ({"status": "SLEEPING"}, {"limit": 0}, {"starting_after": "nope"}):
        response = client.get("/runs", params=bad)
        assert response.status_code == 422, bad
        assert response.json()["detail"][0]["rule"] == "invalid-request"


def test_triggers_beyond_max_concurrency_wait_their_turn(service) -> None:
    """The fixture's service runs 4 executions at once; later triggers are accepted and wait."""
    import httpx

    with LiveServer(service) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        ids = [create(client, waiting()) for _ in range(6)]
        for execution_id in ids:
            response = client.post(f"/workflows/{execution_id}/trigger")
            assert response.status_code == 202 and response.json()["status"] == "RUNNING"
        assert service.queued == 2
        bodies = [client.get(f"/workflows/{i}").json() for i in ids]
        assert [b["status"] for b in bodies] == ["RUNNING"] * 6
        assert [b["started_at"] is None for b in bodies] == [False] * 4 + [True] * 2

        assert client.post(f"/workflows/{ids[5]}/cancel").json()["status"] == "CANCELLED"
        assert service.queued == 1  # a waiting run is cancelled without a slot
        client.post(f"/workflows/{ids[0]}/cancel")
        _wait_for(client, ids[4], "wait", "RUNNING")  # its slot went to the next in line
        assert service.queued == 0
    # Shutting the server down cancelled the rest: nothing is left RUNNING.
    states = {run.run_id: run.state.value for run in service.list_runs()}
    assert set(states.values()) == {"CANCELLED"}
    assert len(states) == 6


@pytest.mark.parametrize("path", ["/workflows", "/nowhere"])
def test_unknown_routes_and_methods_are_json(client, path) -> None:
    response = client.delete(path)
    assert response.status_code == (405 if path == "/workflows" else 404)
    assert response.headers["content-type"] == "application/json"
    assert isinstance(response.json()["detail"], str)
