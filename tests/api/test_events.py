"""The event stream: every node's state now, then each change, then the run's end."""

from __future__ import annotations

import asyncio
import json

import httpx

from .helpers import create, echo, finish, stream, waiting, workflow

NODES = ["input", "wait", "output"]


def short_wait() -> dict:
    return workflow(
        {"id": "wait", "handler": "delay", "dependencies": ["input"], "config": {"seconds": 0.1}},
        {"id": "output", "handler": "output", "dependencies": ["wait"]},
        name="short wait",
    )


def test_a_finished_run_is_replayed_and_the_stream_ends(client) -> None:
    execution_id = create(client, echo())
    client.post(f"/workflows/{execution_id}/trigger", json={"params": {"x": 1}})
    body = finish(client, execution_id)
    events = stream(client, execution_id)
    assert [kind for kind, _ in events] == ["node", "node", "node", "run"]
    nodes = {data["node"]: data for kind, data in events if kind == "node"}
    for node_id, data in nodes.items():
        stored = body["nodes"][node_id]
        assert (data["status"], data["attempt"], data["error"]) == ("SUCCEEDED", 1, None)
        assert data["at"] == stored["finished_at"]
    assert events[-1][1] == {
        "execution_id": execution_id,
        "status": "COMPLETED",
        "at": body["finished_at"],
    }
    assert client.get("/workflows/nope/events").status_code == 404


def test_a_live_stream_follows_the_run_from_before_its_trigger(live) -> None:
    async def scenario() -> list[tuple[str, dict]]:
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
            created = await client.post("/workflows", json=short_wait())
            execution_id = created.json()["execution_id"]
            events: list[tuple[str, dict]] = []
            async with client.stream("GET", f"/workflows/{execution_id}/events") as response:
                kind = None
                async for line in response.aiter_lines():
                    if line.startswith("event: "):
                        kind = line.removeprefix("event: ")
                    elif line.startswith("data: "):
                        events.append((kind, json.loads(line.removeprefix("data: "))))
                        if len(events) == len(NODES):  # the state now: all waiting
                            trigger = await client.post(f"/workflows/{execution_id}/trigger")
                            assert trigger.status_code == 202
            return events

    events = asyncio.run(scenario())
    first, rest = events[:3], events[3:]
    assert [(data["node"], data["status"]) for _, data in first] == [
        (node, "PENDING") for node in NODES
    ]
    changes = [(data["node"], data["status"]) for kind, data in rest if kind == "node"]
    assert changes == [
        ("input", "RUNNING"),
        ("input", "SUCCEEDED"),
        ("wait", "RUNNING"),
        ("wait", "SUCCEEDED"),
        ("output", "RUNNING"),
        ("output", "SUCCEEDED"),
    ]
    assert rest[-1][0] == "run" and rest[-1][1]["status"] == "COMPLETED"
    assert all(data["attempt"] == 1 for kind, data in rest if kind == "node")


def test_cancelling_ends_the_stream_with_the_cancelled_run(live) -> None:
    async def scenario() -> list[tuple[str, dict]]:
        async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
            created = await client.post("/workflows", json=waiting())
            execution_id = created.json()["execution_id"]
            await client.post(f"/workflows/{execution_id}/trigger")
            events: list[tuple[str, dict]] = []
            async with client.stream("GET", f"/workflows/{execution_id}/events") as response:
                kind = None
                async for line in response.aiter_lines():
                    if line.startswith("event: "):
                        kind = line.removeprefix("event: ")
                    elif line.startswith("data: "):
                        data = json.loads(line.removeprefix("data: "))
                        events.append((kind, data))
                        if (data.get("node"), data.get("status")) == ("wait", "RUNNING"):
                            await client.post(f"/workflows/{execution_id}/cancel")
            return events

    events = asyncio.run(scenario())
    last_state = {data["node"]: data["status"] for kind, data in events if kind == "node"}
    assert last_state == {"input": "SUCCEEDED", "wait": "CANCELLED", "output": "SKIPPED"}
    assert events[-1][0] == "run" and events[-1][1]["status"] == "CANCELLED"
