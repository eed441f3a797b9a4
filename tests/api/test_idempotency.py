"""Idempotency-Key: a retried request gets the first answer and nothing happens twice."""

from __future__ import annotations

import asyncio

from flowdesk.api.idempotency import fingerprint

from .helpers import echo, finish


def test_a_repeated_key_gets_the_first_answer_and_creates_nothing(client) -> None:
    key = {"Idempotency-Key": "create-1"}
    first = client.post("/workflows", json=echo(), headers=key)
    again = client.post("/workflows", json=echo(), headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(client.get("/runs").json()["runs"]) == 1

    execution_id = first.json()["execution_id"]
    trigger = {"Idempotency-Key": "trigger-1"}
    path = f"/workflows/{execution_id}/trigger"
    started = client.post(path, json={"params": {"x": 1}}, headers=trigger)
    repeated = client.post(path, json={"params": {"x": 1}}, headers=trigger)
    assert started.status_code == repeated.status_code == 202, "not a 409: nothing ran again"
    assert repeated.json() == started.json()
    assert finish(client, execution_id)["status"] == "COMPLETED"

    # An invalid workflow's answer is as final as a success.
    bad = {"name": "bad", "dag": {"nodes": [{"id": "a", "handler": "nope"}]}}
    refusals = [
        client.post("/workflows", json=bad, headers={"Idempotency-Key": "bad"}) for _ in "ab"
    ]
    assert [r.status_code for r in refusals] == [422, 422]
    assert refusals[0].json() == refusals[1].json()


def test_the_same_key_with_another_request_is_refused(client) -> None:
    key = {"Idempotency-Key": "shared"}
    created = client.post("/workflows", json=echo("one"), headers=key)
    other_body = client.post("/workflows", json=echo("two"), headers=key)
    assert other_body.status_code == 422
    assert other_body.json()["detail"][0]["rule"] == "idempotency-key"
    execution_id = created.json()["execution_id"]
    other_path = client.post(f"/workflows/{execution_id}/trigger", headers=key)
    assert other_path.status_code == 422, "one key space for the whole server"
    assert client.get(f"/workflows/{execution_id}").json()["status"] == "PENDING"
    # The same JSON written differently is the same request.
    spaced = client.post(
        "/workflows",
        content=b'{ "dag": {"nodes": [{"id": "input", "handler": "input", "dependencies": []},'
        b' {"id": "t", "handler": "transform", "dependencies": ["input"], "config":'
        b' {"value": "{{ params.x }}"}}, {"id": "output", "handler": "output",'
        b' "dependencies": ["t"]}]}, "name": "one" }',
        headers=key,
    )
    assert spaced.status_code == 201 and spaced.json() == created.json()
    too_long = client.post("/workflows", json=echo(), headers={"Idempotency-Key": "k" * 256})
    assert too_long.status_code == 422
    assert too_long.json()["detail"][0]["message"].startswith("header.Idempotency-Key")


def test_a_key_whose_first_request_is_still_answered_gets_409(client, service) -> None:
    body = b'{"params": {}}'
    # The first request with this key, as this server would hold it while answering.
    reserved = asyncio.run(
        service.idempotency.reserve("busy", fingerprint("POST", "/workflows", body))
    )
    assert reserved.state == "reserved"
    conflict = client.post("/workflows", content=body, headers={"Idempotency-Key": "busy"})
    assert conflict.status_code == 409
    assert "in progress" in conflict.json()["detail"]
    assert client.get("/runs").json()["runs"] == []
