"""A workflow that reads a secret, run through the REST API: the trigger looks the value up, the
handler sends it, and no response or event carries it."""

from __future__ import annotations

import json

import httpx

from flowdesk.runs import RunService
from flowdesk.secrets import SecretStore

from .helpers import LiveServer, create, stream, workflow

VALUE = "aP9xQm api/+ 3"
MARK = "ap9xqm"  # the start of VALUE, in any encoding of it


def test_responses_and_events_carry_no_secret(db, registry, server) -> None:
    secrets = SecretStore(environ={"FLOWDESK_SECRET_TOKEN": VALUE})
    secret = "{{ secrets.TOKEN }}"
    definition = workflow(
        {
            "id": "echo",
            "handler": "call_external_service",
            "dependencies": ["input"],
            "config": {
                "url": f"{server.url}/echo/{secret}",
                "headers": {"Authorization": f"Bearer {secret}"},
            },
        },
        {"id": "output", "handler": "output", "dependencies": ["echo"]},
    )
    with (
        RunService(registry, db, secrets=secrets) as service,
        LiveServer(service) as live,
        httpx.Client(base_url=live.url, timeout=30) as client,
    ):
        execution_id = create(client, definition)
        # A caller that sends the value as a param too: it is stored masked, never as sent.
        triggered = client.post(
            f"/workflows/{execution_id}/trigger", json={"params": {"token": VALUE}}
        )
        events = stream(client, execution_id)
        status = client.get(f"/workflows/{execution_id}")
        results = client.get(f"/workflows/{execution_id}/results")
    assert status.json()["status"] == "COMPLETED"
    echoed = results.json()["results"]["output"]["echo"]["body"]
    assert echoed["headers"]["authorization"] == "Bearer ***" and echoed["path"] == "/echo/***"
    (request,) = [r for r in server.requests if r.path.startswith("/echo/")]
    assert request.headers["authorization"] == f"Bearer {VALUE}"
    seen = "\n".join([triggered.text, status.text, results.text, json.dumps(events)])
    assert "***" in seen and MARK not in seen.lower()
    assert status.json()["params"] == {"token": "***"}
    for path in db.parent.glob(db.name + "*"):  # the database, its WAL and shared memory
        assert MARK.encode() not in path.read_bytes().lower(), path
