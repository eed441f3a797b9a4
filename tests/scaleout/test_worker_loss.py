"""A worker SIGKILLed mid-node: the orchestrator sees it gone and sends the same task again to
another worker; the run completes with one result per node, and Redis's later redelivery of
the old message is dropped as a duplicate."""

from __future__ import annotations

import asyncio
import time

import pytest
import redis

from flowdesk.engine import HandlerRegistry, NodeState, RunState
from flowdesk.model import workflow_from_data
from flowdesk.runs import RunService

from .helpers import started, wait_for_state

QUEUE = "flowdesk-loss"


@pytest.fixture
def two_workers(worker_pool, tmp_path):
    """Two single-process workers whose Redis gives an unacknowledged task back after 10 s,
    each noting the naps it starts in one file."""
    starts = tmp_path / "starts.txt"
    env = {"FLOWDESK_VISIBILITY_TIMEOUT": "10", "FLOWDESK_TEST_STARTS": str(starts)}
    workers = [worker_pool.start(QUEUE, **env), worker_pool.start(QUEUE, **env)]
    worker_pool.wait_ready(*workers)
    yield workers, starts
    for worker in workers:
        worker.stop()


def test_a_node_on_a_killed_worker_completes_on_another_and_the_run_completes(
    plugins_installed, two_workers, executor_for, redis_url, tmp_path, caplog
) -> None:
    workers, starts = two_workers
    definition = workflow_from_data(
        {
            "name": "worker loss",
            "dag": {
                "nodes": [
                    {"id": "input", "handler": "input"},
                    {
                        "id": "long_nap",
                        "handler": "nap",
                        "dependencies": ["input"],
                        "timeout_s": 120,
                        "config": {"seconds": 3},
                    },
                    {"id": "output", "handler": "output", "dependencies": ["long_nap"]},
                ]
            },
        }
    )
    client = redis.Redis.from_url(redis_url)
    executor = executor_for(QUEUE)

    async def kill_the_holder(handle):
        execution = asyncio.ensure_future(handle.execute())
        task_id = f"{handle.run_id}:long_nap:1"
        deadline = time.monotonic() + 30
        while task_id not in started(starts, handle.run_id):
            assert time.monotonic() < deadline, "the nap never started"
            await asyncio.sleep(0.05)
        holder = started(starts, handle.run_id)[task_id]
        victim = next(worker for worker in workers if worker.pid == holder)
        victim.kill()
        killed_at = time.monotonic()
        result = await asyncio.wait_for(execution, 60)
        return result, victim, time.monotonic() - killed_at

    with RunService(HandlerRegistry.default(), tmp_path / "runs.db", executor=executor) as service:
        handle = service.start(definition)
        result, victim, recovery_s = asyncio.run(kill_the_holder(handle))
        stored = service.load(handle.run_id).result
    survivor = next(worker for worker in workers if worker is not victim)
    print(f"node completed {recovery_s:.1f} s after its worker was killed")
    assert result.state is RunState.COMPLETED
    # Sent again by the orchestrator once the worker's heartbeats stopped, not left to Redis.
    resent = f"worker {victim.name} is gone; task {handle.run_id}:long_nap:1 sent again"
    assert any(resent in record.getMessage() for record in caplog.records), caplog.text
    assert recovery_s < 30  # about 6 s to see the worker gone, 3 s to nap again
    nap = stored.nodes["long_nap"]
    assert nap.state is NodeState.SUCCEEDED
    assert nap.attempts == 1  # sent again, not retried: the same attempt, the same task id
    assert nap.output == {"worker_pid": survivor.pid}
    assert {node.state for node in stored.nodes.values()} == {NodeState.SUCCEEDED}
    task_id = f"{handle.run_id}:long_nap:1"
    assert wait_for_state(client, task_id, {"SUCCESS"}) == "SUCCESS"
    # 10 s after its first delivery Redis gives the killed worker's message back; the survivor
    # sees the task answered already and drops it instead of napping a third time.
    deadline = time.monotonic() + 30
    while "redelivered copy is dropped" not in survivor.log.read_text():
        assert time.monotonic() < deadline, survivor.log.read_text()
        time.sleep(0.2)
    ran = [line.split() for line in starts.read_text().splitlines()]
    assert [pid for tid, pid in ran if tid == task_id] == [str(victim.pid), str(survivor.pid)]
