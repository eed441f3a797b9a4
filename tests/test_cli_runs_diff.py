"""`flowdesk runs diff RUN_A RUN_B` as a user runs it: CLI subprocesses on a real SQLite file,
with runs made by running workflows against the demo service."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest
from cli_process import run_flowdesk

from flowdesk.model import workflow_from_data


def flowdesk(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    return run_flowdesk(*args, db=db)


def shop(server, *, extra: dict | None = None) -> dict:
    """input -> user (HTTP) -> card (transform); input -> check (HTTP, fails on /fail)."""
    nodes = [
        {"id": "input", "handler": "input"},
        {
            "id": "user",
            "handler": "call_external_service",
            "dependencies": ["input"],
            "config": {"url": f"{server.url}/users/{{{{ params.user_id }}}}"},
        },
        {
            "id": "check",
            "handler": "call_external_service",
            "dependencies": ["input"],
            "config": {"url": f"{server.url}/{{{{ params.check }}}}"},
        },
        {
            "id": "card",
            "handler": "transform",
            "dependencies": ["user"],
            "config": {
                "value": {
                    "who": {"name": "{{ user.body.name }}", "ids": [0, "{{ user.body.id }}"]},
                    "fixed": True,
                }
            },
        },
    ]
    if extra:
        nodes.append(extra)
    return {"name": "shop", "dag": {"nodes": nodes}}


def run(tmp_path: Path, db: Path, data: dict, params: dict) -> str:
    path = tmp_path / "workflow.json"
    path.write_text(json.dumps(data))
    done = flowdesk("run", str(path), "--params", json.dumps(params), "--json", db=db)
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)["run_id"]


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "history.db"


NO_DATE = ("--ignore", "$.headers.date")
"""The demo service's responses carry the time; two runs a second apart differ there."""


def test_identical_runs_exit_0(tmp_path, server, db):
    params = {"user_id": 1, "check": "users/2"}
    a = run(tmp_path, db, shop(server), params)
    b = run(tmp_path, db, shop(server), params)

    text = flowdesk("runs", "diff", a, b[:8], *NO_DATE, db=db)
    assert text.returncode == 0, text.stderr
    assert text.stdout.splitlines()[-1] == "identical: 4 nodes, same states and outputs"

    as_json = flowdesk("runs", "diff", a, b, "--json", *NO_DATE, db=db)
    assert as_json.returncode == 0
    report = json.loads(as_json.stdout)
    assert set(report) == {"identical", "nodes"}
    assert report["identical"] is True
    assert list(report["nodes"]) == ["input", "user", "check", "card"]
    card = report["nodes"]["card"]
    assert card == {
        "change": "same",
        "a": {
            "status": "SUCCEEDED",
            "output": {"who": {"name": "Ada Lovelace", "ids": [0, 1]}, "fixed": True},
        },
        "b": {
            "status": "SUCCEEDED",
            "output": {"who": {"name": "Ada Lovelace", "ids": [0, 1]}, "fixed": True},
        },
    }

    # A run is identical to itself, date headers and all.
    assert flowdesk("runs", "diff", a, a, db=db).returncode == 0


def test_the_date_header_alone_makes_two_http_runs_differ(tmp_path, server, db):
    """Without --ignore the response's date is a real difference when the runs straddle a
    second; the same data with that path ignored must be identical."""
    params = {"user_id": 1, "check": "users/2"}
    a = run(tmp_path, db, shop(server), params)
    b = run(tmp_path, db, shop(server), params)
    raw = json.loads(flowdesk("runs", "diff", a, b, "--json", db=db).stdout)
    dates = {raw["nodes"]["user"][side]["output"]["headers"]["date"] for side in "ab"}
    assert raw["identical"] is (len(dates) == 1)
    assert flowdesk("runs", "diff", a, b, "--ignore", "$.headers", db=db).returncode == 0


def test_differing_outputs_states_and_nodes_exit_1(tmp_path, server, db):
    a = run(tmp_path, db, shop(server), {"user_id": 1, "check": "users/2"})
    note = {"id": "note", "handler": "transform", "dependencies": ["input"], "config": {"value": 1}}
    b = run(tmp_path, db, shop(server, extra=note), {"user_id": 2, "check": "fail"})

    as_json = flowdesk("runs", "diff", a, b, "--json", *NO_DATE, db=db)
    assert as_json.returncode == 1, as_json.stderr
    report = json.loads(as_json.stdout)
    assert report["identical"] is False
    nodes = report["nodes"]
    assert {node_id: node["change"] for node_id, node in nodes.items()} == {
        "input": "output",
        "user": "output",
        "check": "state",
        "card": "output",
        "note": "only_b",
    }
    assert nodes["check"]["a"]["status"] == "SUCCEEDED"
    assert nodes["check"]["b"] == {"status": "FAILED", "output": None}
    assert nodes["note"]["a"] is None
    assert nodes["note"]["b"] == {"status": "SUCCEEDED", "output": 1}
    assert nodes["card"]["b"]["output"]["who"] == {"name": "Grace Hopper", "ids": [0, 2]}

    text = flowdesk("runs", "diff", a, b, *NO_DATE, db=db)
    assert text.returncode == 1
    lines = text.stdout.splitlines()
    card = lines.index("~ card   output differs")
    assert lines[card + 1 : card + 7] == [
        "    ~ $.who.ids[1]",
        "        - 1",
        "        + 2",
        "    ~ $.who.name",
        '        - "Ada Lovelace"',
        '        + "Grace Hopper"',
    ]
    assert "! check  state SUCCEEDED -> FAILED" in lines
    error = lines[lines.index("! check  state SUCCEEDED -> FAILED") + 1]
    assert error.startswith(f"    error in b: GET {server.url}/fail returned HTTP 500")
    assert "+ note   only in b (SUCCEEDED)" in lines
    assert "$.headers.date" not in text.stdout
    assert lines[-1] == "5 of 5 nodes differ: 3 output, 1 state, 1 only in b"

    # The other way round, the extra node is only in a.
    reverse = json.loads(flowdesk("runs", "diff", b, a, "--json", *NO_DATE, db=db).stdout)
    assert reverse["nodes"]["note"] == {
        "change": "only_a",
        "a": {"status": "SUCCEEDED", "output": 1},
        "b": None,
    }


def _ids_until_two_share_a_first_character(db: Path) -> tuple[str, str]:
    """Runs recorded (by running a one-node workflow) until two ids start alike: at most 17."""
    from flowdesk.engine import HandlerRegistry
    from flowdesk.runs import RunService

    definition = workflow_from_data(
        {"name": "tiny", "dag": {"nodes": [{"id": "input", "handler": "input"}]}}
    )
    seen: dict[str, str] = {}
    with RunService(HandlerRegistry.default(), db) as service:
        while True:
            handle = service.start(definition)
            asyncio.run(handle.execute())
            if handle.run_id[0] in seen:
                return seen[handle.run_id[0]], handle.run_id
            seen[handle.run_id[0]] = handle.run_id


def test_bad_ids_exit_2_with_one_line(tmp_path, db):
    first, second = _ids_until_two_share_a_first_character(db)
    cases = {
        ("nope", first): "flowdesk: no run with id 'nope'",
        (first, "nope"): "flowdesk: no run with id 'nope'",
        ("", first): "flowdesk: no run with id ''",
    }
    for (run_a, run_b), message in cases.items():
        result = flowdesk("runs", "diff", run_a, run_b, db=db)
        assert result.returncode == 2
        assert result.stderr.strip() == message
        assert result.stdout == ""

    ambiguous = flowdesk("runs", "diff", first[0], second, db=db)
    assert ambiguous.returncode == 2
    assert len(ambiguous.stderr.strip().splitlines()) == 1
    assert f"run id prefix '{first[0]}' matches several runs" in ambiguous.stderr

    missing = tmp_path / "typo.db"
    result = flowdesk("runs", "diff", first, second, "--db", str(missing), db=db)
    assert result.returncode == 2
    assert result.stderr.strip() == f"flowdesk: no FlowDesk database at {missing}"
    assert not missing.exists()

    usage = flowdesk("runs", "diff", first, db=db)
    assert usage.returncode == 2
    assert "RUN_B" in usage.stderr

    typo = flowdesk("runs", "diff", first, second, "--ignore", "headers.date", db=db)
    assert typo.returncode == 2 and typo.stdout == ""  # it used to ignore nothing, silently
    assert typo.stderr.strip() == (
        "flowdesk: --ignore 'headers.date': a path starts with $, "
        "e.g. $.headers.date or $.items[*].id"
    )


def test_a_node_skipped_by_its_condition_is_not_called_an_error(tmp_path, db):
    data = {
        "name": "gate",
        "dag": {
            "nodes": [
                {"id": "input", "handler": "input"},
                {
                    "id": "note",
                    "handler": "transform",
                    "dependencies": ["input"],
                    "when": "{{ params.go }}",
                    "config": {"value": "sent"},
                },
            ]
        },
    }
    ran = run(tmp_path, db, data, {"go": True})
    skipped = run(tmp_path, db, data, {"go": False})
    result = flowdesk("runs", "diff", ran, skipped, db=db)
    assert result.returncode == 1
    assert "    skipped in b: condition false" in result.stdout
    assert "error in b" not in result.stdout
