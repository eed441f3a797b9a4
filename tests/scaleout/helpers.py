"""Helpers of the scale-out tests."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path

import redis

from flowdesk.engine import HandlerRegistry, RunResult
from flowdesk.model import WorkflowDefinition
from flowdesk.runs import RunService
from flowdesk.store import StoredRun


def run_in_service(
    definition: WorkflowDefinition,
    executor,
    db: Path,
    registry: HandlerRegistry | None = None,
    params: dict | None = None,
) -> tuple[RunResult, StoredRun]:
    """Run to the end through the run service (recorded in `db`): the result and the record."""
    with RunService(registry or HandlerRegistry.default(), db, executor=executor) as service:
        handle = service.start(definition, params or {})
        result = asyncio.run(handle.execute())
        return result, service.load(handle.run_id)


def task_state(client: redis.Redis, task_id: str) -> str | None:
    meta = client.get(f"celery-task-meta-{task_id}")
    return json.loads(meta)["status"] if meta else None


def wait_for_state(
    client: redis.Redis, task_id: str, states: set[str], timeout_s: float = 15
) -> str | None:
    """The task's state in the result backend once it is one of `states` (or the last seen)."""
    deadline = time.monotonic() + timeout_s
    state = task_state(client, task_id)
    while state not in states and time.monotonic() < deadline:
        time.sleep(0.05)
        state = task_state(client, task_id)
    return state


def closed_port_url() -> str:
    """A Redis URL on a loopback port where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def started(starts: Path, run_id: str) -> dict[str, int]:
    """Task ids of `run_id` that a worker started (the test plugin's `nap` notes each start in
    $FLOWDESK_TEST_STARTS), with the pid of the worker that started it (the latest start)."""
    if not starts.exists():
        return {}
    found = {}
    for line in starts.read_text(encoding="utf-8").splitlines():
        task_id, pid = line.split()
        if task_id.startswith(f"{run_id}:"):
            found[task_id] = int(pid)
    return found
