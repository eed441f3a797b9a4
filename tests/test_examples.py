"""Every bundled example runs headless against the demo service, with the outcome it promises."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest
from conftest import EXAMPLES

from flowdesk.demo import DEFAULT_PORT, DemoServer
from flowdesk.engine.scheduler import run_workflow
from flowdesk.engine.states import RunState
from flowdesk.model import load_workflow

# The demo service's fixed port (8911): one module at a time uses it, across xdist workers.
pytestmark = pytest.mark.usefixtures("demo_port_turn")


@pytest.fixture(scope="module")
def demo_on_default_port(demo_port_turn):
    with DemoServer(port=DEFAULT_PORT) as server:
        yield server


@pytest.fixture
def demo(demo_on_default_port):
    demo_on_default_port.reset()
    return demo_on_default_port


def run_example(name: str, params: dict | None = None):
    return asyncio.run(run_workflow(load_workflow(EXAMPLES / f"{name}.json"), params or {}))


def test_examples_are_all_covered() -> None:
    assert {p.stem for p in EXAMPLES.glob("*.json")} == {
        "parallel_api_fetcher",
        "template_chain",
        "fan_out_fan_in",
        "retries_and_timeout",
        "failing_branch",
        "notify_only_on_change",
        "posts_for_each_user",
    }


def test_parallel_api_fetcher(demo) -> None:
    result = run_example("parallel_api_fetcher", {"user_id": 123})
    assert result.state is RunState.COMPLETED
    assert set(result.results["output"]) == {"get_user", "get_posts", "get_comments"}
    assert result.results["output"]["get_user"]["body"]["count"] == 3
    assert demo.paths() == ["/document/policy/list"] * 3


def test_template_chain(demo) -> None:
    result = run_example("template_chain", {"user_id": 3})
    assert result.state is RunState.COMPLETED
    assert result.results["output"] == {
        "author": "Alan Turing",
        "first_post": "Note 1 by Alan Turing",
        "comment_count": 2,
        "headline": "Alan Turing has 3 posts",
    }


def test_fan_out_fan_in(demo) -> None:
    result = run_example("fan_out_fan_in")
    assert result.state is RunState.COMPLETED
    report = result.results["output"]
    assert report["people"][0] == "Ada Lovelace"
    assert report["teams"] == ["algorithms", "analytics", "compilers", "research"]
    assert report["posts"] == 12 and report["comments"] == 24
    assert report["policies"] == "Data retention, Access control, Incident response"


def test_retries_and_timeout(demo) -> None:
    result = run_example("retries_and_timeout")
    assert result.state is RunState.COMPLETED
    assert result.nodes["flaky"].attempts == 3
    assert result.results["output"] == {"flaky_attempts": 3, "slept": 0.5}


def test_failing_branch(demo) -> None:
    result = run_example("failing_branch")
    assert result.state is RunState.FAILED
    states = {node_id: node.state.value for node_id, node in result.nodes.items()}
    assert states == {
        "input": "SUCCEEDED",
        "healthy": "SUCCEEDED",
        "healthy_summary": "SUCCEEDED",
        "broken": "FAILED",
        "broken_summary": "SKIPPED",
        "output": "SKIPPED",
    }


def test_notify_only_on_change_takes_one_branch_and_joins_once(demo) -> None:
    unchanged = run_example("notify_only_on_change", {"user_id": 1, "last_name": "Ada Lovelace"})
    assert unchanged.state is RunState.COMPLETED
    assert unchanged.nodes["notify"].state.value == "SKIPPED"
    assert unchanged.nodes["notify"].error == "condition false"
    assert unchanged.results["output"] == {"summary": "Ada Lovelace is unchanged: nobody notified"}
    assert demo.paths() == ["/users/1"]
    demo.reset()
    changed = run_example("notify_only_on_change", {"user_id": 1, "last_name": "Ada"})
    assert changed.state is RunState.COMPLETED
    assert changed.nodes["no_change"].error == "condition false"
    assert changed.results["output"] == {"summary": "notified: Ada Lovelace changed their name"}
    assert demo.paths() == ["/users/1", "/echo/notify"]


def test_posts_for_each_user_maps_one_call_per_user(demo) -> None:
    result = run_example("posts_for_each_user")
    assert result.state is RunState.COMPLETED
    posts = result.nodes["get_posts"]
    assert [item.state.value for item in posts.items] == ["SUCCEEDED"] * 4
    assert [len(call["body"]) for call in posts.output] == [3, 3, 3, 3]
    report = result.results["output"]["report"]
    assert [entry["user"] for entry in report] == [
        "Ada Lovelace",
        "Grace Hopper",
        "Alan Turing",
        "Edsger Dijkstra",
    ]
    assert report[1]["titles"] == ["Note 1 by Grace Hopper", "Note 2 by Grace Hopper",
                                   "Note 3 by Grace Hopper"]  # fmt: skip
    assert demo.paths() == ["/users"] + ["/posts"] * 4
    assert sorted(r.query["userId"][0] for r in demo.requests if r.path == "/posts") == [
        "1",
        "123",
        "2",
        "3",
    ]


def test_demo_server_command_serves_and_refuses_a_busy_port(demo) -> None:
    busy = subprocess.run(
        [sys.executable, "-m", "flowdesk", "demo-server", "--port", str(DEFAULT_PORT)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert busy.returncode == 2
    assert f"cannot listen on 127.0.0.1:{DEFAULT_PORT}" in busy.stderr
    assert "Traceback" not in busy.stderr

    with DemoServer() as probe:
        free_port = probe.port
    process = subprocess.Popen(
        [sys.executable, "-m", "flowdesk", "demo-server", "--port", str(free_port)],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "demo service on" in process.stderr.readline()
        import httpx

        deadline = time.monotonic() + 10
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{free_port}/users/1", timeout=2)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert response.json()["name"] == "Ada Lovelace"
    finally:
        process.terminate()
        process.wait(timeout=10)
