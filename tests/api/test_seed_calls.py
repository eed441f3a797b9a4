"""The seed service's four calls, in order and unchanged, against the demo service."""

from __future__ import annotations

import time

import pytest
from conftest import DATA

from flowdesk.demo import DEFAULT_PORT, DemoServer

# The demo service's fixed port (8911): one module at a time uses it, across xdist workers.
pytestmark = pytest.mark.usefixtures("demo_port_turn")

SEED_EXAMPLE = (DATA / "seed_example.json").read_bytes()  # the seed README's, byte for byte


@pytest.fixture
def demo_on_the_seed_port():
    with DemoServer(port=DEFAULT_PORT) as server:  # the example calls localhost:8911
        yield server


def test_create_trigger_status_results(client, demo_on_the_seed_port) -> None:
    # 1. Create: the body is the seed README's example workflow, as a file would send it.
    created = client.post(
        "/workflows", content=SEED_EXAMPLE, headers={"Content-Type": "application/json"}
    )
    assert created.status_code == 201
    assert created.json()["status"] == "PENDING"
    assert set(created.json()) == {"execution_id", "status"}
    execution_id = created.json()["execution_id"]
    assert client.get(f"/workflows/{execution_id}").json()["status"] == "PENDING"

    # 2. Trigger, with the README's params.
    triggered = client.post(f"/workflows/{execution_id}/trigger", json={"params": {"user_id": 123}})
    assert triggered.status_code == 202
    assert triggered.json() == {"execution_id": execution_id, "status": "RUNNING"}

    # 3. Check status, as a seed client polls it, until the run ends.
    deadline = time.monotonic() + 30
    while (status := client.get(f"/workflows/{execution_id}")).json()["status"] == "RUNNING":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    body = status.json()
    assert status.status_code == 200
    assert body["status"] == "COMPLETED"
    assert body["workflow"] == "Parallel API Fetcher"
    assert body["params"] == {"user_id": 123}
    assert body["created_at"] <= body["started_at"] <= body["finished_at"]
    assert set(body["nodes"]) == {"input", "get_user", "get_posts", "get_comments", "output"}
    for node in body["nodes"].values():
        assert node["status"] == "SUCCEEDED" and node["attempts"] == 1 and node["error"] is None
        assert node["started_at"] <= node["finished_at"]

    # 4. Fetch results.
    results = client.get(f"/workflows/{execution_id}/results")
    assert results.status_code == 200
    answer = results.json()
    assert answer["status"] == "COMPLETED"
    fetched = answer["results"]["output"]
    assert set(fetched) == {"get_user", "get_posts", "get_comments"}
    assert all(call["body"]["count"] == 3 for call in fetched.values())
    assert answer["outputs"]["input"] == {"user_id": 123}
    assert set(answer["outputs"]) == set(body["nodes"])
    assert demo_on_the_seed_port.paths() == ["/document/policy/list"] * 3
