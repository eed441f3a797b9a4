"""Runs whose handlers execute on real `flowdesk worker`s (Celery prefork) over a real Redis:
the same outputs as in-process, retries and timeouts, cancel, and what the user sees when the
broker or the workers are missing."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import uuid

import pytest
import redis
from conftest import EXAMPLES

from flowdesk.engine import HandlerRegistry, NodeState, RunState, handler
from flowdesk.model import workflow_from_data
from flowdesk.runs import RunService

from .helpers import closed_port_url, run_in_service, started, wait_for_state

pytestmark = pytest.mark.usefixtures("shared_worker")


@pytest.fixture
def demo(server):
    """The shared demo service (on a free port, not the examples' 8911)."""
    return server


def flowdesk_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flowdesk", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def without_headers(results: dict) -> dict:
    """Outputs of HTTP calls without their headers (the Date header differs from run to run)."""
    return {
        node: {
            call: {k: v for k, v in out.items() if k != "headers"} for call, out in value.items()
        }
        for node, value in results.items()
    }


def test_the_seed_example_gives_the_same_outputs_on_workers_as_in_process(
    demo, redis_url, tmp_path
) -> None:
    example = tmp_path / "parallel_api_fetcher.json"
    text = (EXAMPLES / "parallel_api_fetcher.json").read_text(encoding="utf-8")
    example.write_text(text.replace("http://localhost:8911", demo.url), encoding="utf-8")
    assert demo.url in example.read_text(encoding="utf-8")
    common = ["run", str(example), "--json", "--params", '{"user_id": 123}', "--db"]
    local = flowdesk_cli(*common, str(tmp_path / "local.db"))
    remote = flowdesk_cli(
        *common,
        str(tmp_path / "remote.db"),
        "--executor",
        "celery",
        "--broker",
        redis_url,
        "--queue",
        "flowdesk",
    )
    assert local.returncode == 0, local.stderr
    assert remote.returncode == 0, remote.stderr
    local_run, remote_run = json.loads(local.stdout), json.loads(remote.stdout)
    assert remote_run["status"] == "COMPLETED"
    assert without_headers(remote_run["results"]) == without_headers(local_run["results"])
    assert set(remote_run["results"]["output"]) == {"get_user", "get_posts", "get_comments"}
    assert {node["attempts"] for node in remote_run["nodes"].values()} == {1}


def test_retries_and_timeouts_are_scheduled_here_and_a_timed_out_task_is_terminated(
    demo, executor_for, redis_url, tmp_path
) -> None:
    key = uuid.uuid4().hex
    definition = workflow_from_data(
        {
            "name": "retries over celery",
            "dag": {
                "nodes": [
                    {"id": "input", "handler": "input"},
                    {
                        "id": "flaky",
                        "handler": "call_external_service",
                        "dependencies": ["input"],
                        "retry": {"max_attempts": 4, "backoff_s": 0.05},
                        "config": {"url": f"{demo.url}/flaky/{key}", "query": {"failures": 2}},
                    },
                    {
                        "id": "slow",
                        "handler": "call_external_service",
                        "dependencies": ["input"],
                        "timeout_s": 1,
                        "retry": {"max_attempts": 2, "backoff_s": 0.05},
                        "config": {"url": f"{demo.url}/slow", "query": {"seconds": 20}},
                    },
                    {  # its prints come back from the worker to the node's log
                        "id": "code",
                        "handler": "python",
                        "dependencies": ["input"],
                        "config": {
                            "code": "def main(inputs, params):\n"
                            "    print('hello from the worker')\n    return 7\n"
                        },
                    },
                ]
            },
        }
    )
    result, stored = run_in_service(definition, executor_for(), tmp_path / "runs.db")
    assert result.nodes["flaky"].state is NodeState.SUCCEEDED
    assert result.nodes["flaky"].attempts == 3
    assert result.nodes["flaky"].output["body"]["attempt"] == 3
    assert result.nodes["slow"].state is NodeState.FAILED
    assert result.nodes["slow"].error == "timed out after 1 s (after 2 attempts)"
    assert stored.result.nodes["slow"].attempts == 2
    assert result.nodes["code"].output == 7
    assert "hello from the worker" in (stored.result.nodes["code"].log or "")
    # Each timed-out attempt's task was revoked and its worker process terminated.
    client = redis.Redis.from_url(redis_url)
    for attempt in (1, 2):
        assert wait_for_state(client, f"{result.run_id}:slow:{attempt}", {"REVOKED"}) == "REVOKED"


def test_a_handler_missing_on_the_worker_fails_its_node_naming_both(
    executor_for, shared_worker, tmp_path
) -> None:
    from pydantic import BaseModel

    class NoConfig(BaseModel):
        pass

    @handler("only_here", NoConfig)
    async def only_here(config, context):
        return "ran here"

    registry = HandlerRegistry.default()
    registry.register(only_here)
    definition = workflow_from_data(
        {
            "name": "missing handler",
            "dag": {
                "nodes": [
                    {"id": "lonely", "handler": "only_here", "retry": {"max_attempts": 3}},
                ]
            },
        }
    )
    result, _ = run_in_service(definition, executor_for(), tmp_path / "runs.db", registry)
    node = result.nodes["lonely"]
    assert node.state is NodeState.FAILED
    assert node.error == f"handler 'only_here' is not installed on worker '{shared_worker.name}'"
    assert node.attempts == 1  # retrying cannot install it


def test_cancel_revokes_queued_tasks_and_terminates_running_ones(
    plugins_installed, executor_for, redis_url, shared_starts, tmp_path
) -> None:
    naps = [
        {"id": f"nap{i}", "handler": "nap", "dependencies": [], "config": {"seconds": 60}}
        for i in range(3)  # two run on the worker's two processes, one waits in the queue
    ]
    definition = workflow_from_data({"name": "cancel over celery", "dag": {"nodes": naps}})
    client = redis.Redis.from_url(redis_url)
    executor = executor_for()

    async def cancel_once_started(handle) -> None:
        execution = asyncio.ensure_future(handle.execute())
        deadline = time.monotonic() + 30
        while len(started(shared_starts, handle.run_id)) < 2 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        running = {task_id.split(":")[1] for task_id in started(shared_starts, handle.run_id)}
        assert len(running) == 2, "two naps should have started on the two processes"
        handle.cancel()
        result = await asyncio.wait_for(execution, 10)
        return result, running

    with RunService(HandlerRegistry.default(), tmp_path / "runs.db", executor=executor) as service:
        handle = service.start(definition)
        result, running = asyncio.run(cancel_once_started(handle))
        assert result.state is RunState.CANCELLED
        assert {node.state for node in result.nodes.values()} == {NodeState.CANCELLED}
        for node in running:
            assert wait_for_state(client, f"{handle.run_id}:{node}:1", {"REVOKED"}) == "REVOKED"
        # Resumed with short naps: the worker's processes are free again at once (the run does
        # not wait a minute), and the resumed tasks do not take the ids revoked above.
        quick = workflow_from_data(
            {
                "name": "cancel over celery",
                "dag": {"nodes": [{**nap, "config": {"seconds": 0}} for nap in naps]},
            }
        )
        began = time.monotonic()
        resumed = service.resume(handle.run_id, definition=quick)
        after = asyncio.run(resumed.execute())
        assert after.state is RunState.COMPLETED, {n: r.error for n, r in after.nodes.items()}
        assert time.monotonic() - began < 30
        assert wait_for_state(client, f"{handle.run_id}.2:nap0:1", {"SUCCESS"}) == "SUCCESS"


def test_an_unreachable_broker_exits_2_naming_it_before_anything_runs(tmp_path) -> None:
    url = closed_port_url()
    db = str(tmp_path / "runs.db")
    result = flowdesk_cli(
        "run", str(EXAMPLES / "template_chain.json"), "--db", db, "--executor", "celery",
        "--broker", url,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"flowdesk: cannot reach the broker at {url}")
    listed = flowdesk_cli("runs", "list", "--db", db, "--json")
    assert json.loads(listed.stdout or "[]") == []


def test_without_a_worker_on_the_queue_nodes_fail_after_the_worker_wait(
    redis_url, tmp_path
) -> None:
    queue = f"nobody-{uuid.uuid4().hex[:6]}"
    began = time.monotonic()
    result = flowdesk_cli(
        "run", str(EXAMPLES / "template_chain.json"), "--json", "--db", str(tmp_path / "r.db"),
        "--executor", "celery", "--broker", redis_url, "--queue", queue, "--worker-wait", "2",
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    run = json.loads(result.stdout)
    assert run["status"] == "FAILED"
    message = f"no FlowDesk worker is consuming queue '{queue}' on {redis_url}"
    failed = [node for node in run["nodes"].values() if node["status"] == "FAILED"]
    assert failed and all(node["error"] == message for node in failed)
    assert time.monotonic() - began < 60
    # `runs resume` goes through the workers too when asked (here: still nobody there).
    resumed = flowdesk_cli(
        "runs", "resume", run["run_id"], "--json", "--db", str(tmp_path / "r.db"),
        "--executor", "celery", "--broker", redis_url, "--queue", queue, "--worker-wait", "1",
    )  # fmt: skip
    assert resumed.returncode == 1, resumed.stderr
    again = json.loads(resumed.stdout)
    assert any(node["error"] == message for node in again["nodes"].values())
