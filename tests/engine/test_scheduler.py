"""The scheduler: concurrency, data flow, failure, retry, timeout, cancellation, max_concurrency
and scale.

A few tests run end to end against the real demo service; retry, backoff, timeout and cancel
tests run on an injected clock and httpx.MockTransport and wait on events, never on the wall
clock, so they pass the same on a loaded machine.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable

import httpx
import pytest
from conftest import workflow

from flowdesk.engine.clock import RunClock
from flowdesk.engine.events import NodeFinished, NodeRetrying, NodeStarted, RunFinished, RunStarted
from flowdesk.engine.results import NodeResult
from flowdesk.engine.reuse import StoredOutput
from flowdesk.engine.scheduler import InvalidWorkflowError, WorkflowRun, run_workflow
from flowdesk.engine.states import NodeState, RunState


def http(node_id: str, url: str, deps=("input",), **extra) -> dict:
    return {
        "id": node_id,
        "handler": "call_external_service",
        "dependencies": list(deps),
        "config": {"url": url},
        **extra,
    }


INPUT = {"id": "input", "handler": "input"}


def run(definition, params=None, **options):
    events: list = []
    result = asyncio.run(run_workflow(definition, params, listeners=(events.append,), **options))
    return result, events


class InstantClock(RunClock):
    """Records every sleep the engine asks for and returns at once; jitter from `rng`."""

    def __init__(self, rng: random.Random) -> None:
        super().__init__(rng)
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.sleep(0)


class MidpointRandom(random.Random):
    """Jitter that is always the middle of its range (a factor of exactly 1)."""

    def uniform(self, a: float, b: float) -> float:
        return (a + b) / 2


def mock_http(respond: Callable[[httpx.Request], object]) -> httpx.MockTransport:
    """A transport answering from `respond` (sync or async) instead of a network."""
    return httpx.MockTransport(respond)  # type: ignore[arg-type]


async def never_answer(request: httpx.Request) -> httpx.Response:
    """A server that accepted the request and never replies."""
    await asyncio.Event().wait()
    raise AssertionError("unreachable")


def states(result) -> dict[str, str]:
    return {node_id: node.state.value for node_id, node in result.nodes.items()}


def test_seed_fan_out_runs_the_three_calls_concurrently(server) -> None:
    slow = f"{server.url}/slow?seconds=0.4"
    definition = workflow(
        INPUT,
        http("get_user", slow),
        http("get_posts", slow),
        http("get_comments", slow),
        {
            "id": "output",
            "handler": "output",
            "dependencies": ["get_user", "get_posts", "get_comments"],
        },
    )
    result, _ = run(definition, {"user_id": 1})
    assert result.state is RunState.COMPLETED
    assert server.max_overlap("/slow") == 3
    calls = [r for r in server.requests if r.path == "/slow"]
    assert max(r.started for r in calls) < min(r.finished for r in calls), "the calls overlap"
    assert set(result.results["output"]) == {"get_user", "get_posts", "get_comments"}
    assert result.results["output"]["get_user"]["body"] == {"slept": 0.4}


def test_data_flows_through_templates_across_two_hops(server) -> None:
    definition = workflow(
        INPUT,
        http("get_user", f"{server.url}/users/{{{{ params.user_id }}}}"),
        {
            "id": "get_posts",
            "handler": "call_external_service",
            "dependencies": ["get_user"],
            "config": {"url": f"{server.url}/posts", "query": {"userId": "{{ get_user.body.id }}"}},
        },
        {
            "id": "summary",
            "handler": "transform",
            "dependencies": ["get_posts"],
            "config": {
                "value": {
                    "who": "{{ get_user.body.name }}",
                    "user_id": "{{ params.user_id }}",
                    "titles": "{{ get_posts.body | map(attribute='title') | list }}",
                    "line": "{{ get_user.body.name }} wrote {{ get_posts.body | length }} notes",
                }
            },
        },
        {
            "id": "output",
            "handler": "output",
            "dependencies": ["summary"],
            "config": {"value": "{{ summary }}"},
        },
    )
    result, _ = run(definition, {"user_id": 2})
    assert result.state is RunState.COMPLETED, states(result)
    summary = result.results["output"]
    assert summary["who"] == "Grace Hopper"
    assert summary["user_id"] == 2
    assert summary["titles"] == [f"Note {n} by Grace Hopper" for n in (1, 2, 3)]
    assert summary["line"] == "Grace Hopper wrote 3 notes"
    assert "/users/2" in server.paths()
    assert result.nodes["get_posts"].resolved_config["query"] == {"userId": 2}


def test_failure_skips_descendants_while_the_sibling_branch_completes(server) -> None:
    definition = workflow(
        INPUT,
        http("broken", f"{server.url}/fail"),
        {
            "id": "after_broken",
            "handler": "transform",
            "dependencies": ["broken"],
            "config": {"value": 1},
        },
        {
            "id": "further",
            "handler": "transform",
            "dependencies": ["after_broken"],
            "config": {"value": 2},
        },
        http("fine", f"{server.url}/slow?seconds=0.2"),
        {
            "id": "after_fine",
            "handler": "transform",
            "dependencies": ["fine"],
            "config": {"value": "{{ fine.body }}"},
        },
        {"id": "join", "handler": "output", "dependencies": ["further", "after_fine"]},
    )
    result, events = run(definition)
    assert result.state is RunState.FAILED
    assert states(result) == {
        "input": "SUCCEEDED",
        "broken": "FAILED",
        "after_broken": "SKIPPED",
        "further": "SKIPPED",
        "fine": "SUCCEEDED",
        "after_fine": "SUCCEEDED",
        "join": "SKIPPED",
    }
    error = result.nodes["broken"].error
    assert "returned HTTP 500" in error and "failed on purpose" in error
    assert result.nodes["after_fine"].output == {"slept": 0.2}
    # Descendants are skipped the moment their ancestor fails, not at the end of the run.
    order = [(type(e).__name__, getattr(e, "node_id", None)) for e in events]
    assert order.index(("NodeFinished", "further")) < order.index(("NodeFinished", "fine"))


def test_retry_succeeds_on_the_third_attempt(server) -> None:
    definition = workflow(
        INPUT,
        http(
            "flaky",
            f"{server.url}/flaky/third?failures=2",
            retry={"max_attempts": 3, "backoff_s": 0.01},
        ),
    )
    result, events = run(definition)
    assert result.state is RunState.COMPLETED
    assert result.nodes["flaky"].attempts == 3
    assert result.nodes["flaky"].output["body"] == {"key": "third", "attempt": 3}
    retries = [e for e in events if isinstance(e, NodeRetrying)]
    assert [e.attempt for e in retries] == [1, 2]
    assert "HTTP 503" in retries[0].error
    assert [e.attempt for e in events if isinstance(e, NodeStarted) and e.node_id == "flaky"] == [
        1,
        2,
        3,
    ]


def unavailable(requests: list[httpx.Request]) -> httpx.MockTransport:
    """Answers every request 503, keeping them in `requests`."""

    def respond(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(503, json={"error": "try later"})

    return mock_http(respond)


def test_backoff_doubles_per_attempt_on_the_run_clock() -> None:
    """10 s of backoff, doubling: the engine asks its clock for exactly 10, 20 and 40 s."""
    requests: list[httpx.Request] = []
    clock = InstantClock(MidpointRandom())
    definition = workflow(
        INPUT, http("flaky", "http://api.test/x", retry={"max_attempts": 4, "backoff_s": 10})
    )
    started = time.perf_counter()
    result, events = run(definition, transport=unavailable(requests), clock=clock)
    assert time.perf_counter() - started < 10, "the run waited on the real clock"
    node = result.nodes["flaky"]
    assert node.state is NodeState.FAILED and node.attempts == 4 and len(requests) == 4
    assert node.error.startswith("GET http://api.test/x returned HTTP 503: ")
    assert node.error.endswith('try later"} (after 4 attempts)')
    assert clock.sleeps == [10.0, 20.0, 40.0]
    assert [e.delay_s for e in events if isinstance(e, NodeRetrying)] == clock.sleeps


def test_backoff_jitter_comes_from_the_clock_random_source() -> None:
    clock = InstantClock(random.Random(11))
    definition = workflow(
        INPUT, http("flaky", "http://api.test/x", retry={"max_attempts": 3, "backoff_s": 10})
    )
    result, events = run(definition, transport=unavailable([]), clock=clock)
    replay = random.Random(11)
    expected = [10 * replay.uniform(0.5, 1.5), 20 * replay.uniform(0.5, 1.5)]
    assert clock.sleeps == expected
    assert [e.delay_s for e in events if isinstance(e, NodeRetrying)] == expected
    assert 5 <= expected[0] <= 15 and 10 <= expected[1] <= 30
    assert result.nodes["flaky"].error.endswith("(after 3 attempts)")


def test_retry_succeeds_once_the_service_recovers_without_waiting() -> None:
    answers = iter([503, 503, 200])

    def respond(request: httpx.Request) -> httpx.Response:
        return httpx.Response(next(answers), json={"ok": True})

    clock = InstantClock(MidpointRandom())
    definition = workflow(
        INPUT, http("flaky", "http://api.test/x", retry={"max_attempts": 5, "backoff_s": 3})
    )
    result, _ = run(definition, transport=mock_http(respond), clock=clock)
    assert result.nodes["flaky"].state is NodeState.SUCCEEDED
    assert result.nodes["flaky"].attempts == 3
    assert result.nodes["flaky"].output["body"] == {"ok": True}
    assert clock.sleeps == [3.0, 6.0]


def test_node_timeout() -> None:
    """A server that never answers: the node's own timeout ends the attempt, then the retry's."""
    clock = InstantClock(MidpointRandom())
    definition = workflow(
        INPUT,
        http(
            "hangs",
            "http://api.test/never",
            timeout_s=0.05,
            retry={"max_attempts": 2, "backoff_s": 60},
        ),
    )
    result, events = run(definition, transport=mock_http(never_answer), clock=clock)
    node = result.nodes["hangs"]
    assert node.state is NodeState.FAILED
    assert node.error == "timed out after 0.05 s (after 2 attempts)"
    assert [e.error for e in events if isinstance(e, NodeRetrying)] == ["timed out after 0.05 s"]
    assert clock.sleeps == [60.0]


def test_http_timeout_from_config(server) -> None:
    definition = workflow(
        INPUT,
        {
            "id": "slow",
            "handler": "call_external_service",
            "dependencies": ["input"],
            "config": {"url": f"{server.url}/slow?seconds=3", "timeout_s": 0.2},
        },
    )
    result, _ = run(definition)
    assert result.nodes["slow"].error == f"GET {server.url}/slow?seconds=3 timed out after 0.2 s"


def test_max_concurrency_is_honoured() -> None:
    """Requests are held until four are in flight at once; a fifth would mean the limit leaks."""
    limit, in_flight, peak = 4, 0, 0
    full = asyncio.Event()

    async def respond(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight == limit:
            full.set()
        async with asyncio.timeout(10):  # fewer than `limit` ever in flight: fail, don't hang
            await full.wait()
        await asyncio.sleep(0)  # let any request the limit should hold back arrive
        in_flight -= 1
        return httpx.Response(200, json={})

    nodes = [INPUT] + [http(f"n{i}", f"http://api.test/{i}") for i in range(20)]
    result, _ = run(workflow(*nodes), max_concurrency=limit, transport=mock_http(respond))
    assert result.state is RunState.COMPLETED, states(result)
    assert peak == limit


def test_cancel_stops_in_flight_nodes_and_leaves_no_task() -> None:
    definition = workflow(
        INPUT,
        http("slow_a", "http://api.test/never"),
        {"id": "wait", "handler": "delay", "dependencies": ["input"], "config": {"seconds": 30}},
        {"id": "after", "handler": "output", "dependencies": ["slow_a", "wait"]},
    )

    async def scenario():
        from flowdesk.engine import HandlerRegistry

        run = WorkflowRun(definition, HandlerRegistry.default(), transport=mock_http(never_answer))
        events: list = []
        run.subscribe(events.append)
        started = set()

        def cancel_when_both_started(event) -> None:
            if isinstance(event, NodeStarted):
                started.add(event.node_id)
                if {"slow_a", "wait"} <= started:
                    asyncio.get_running_loop().call_soon(run.cancel)

        run.subscribe(cancel_when_both_started)
        result = await run.execute()  # returns although both handlers would wait for ever
        leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        return result, events, leftover

    result, events, leftover = asyncio.run(scenario())
    assert result.state is RunState.CANCELLED
    assert states(result) == {
        "input": "SUCCEEDED",
        "slow_a": "CANCELLED",
        "wait": "CANCELLED",
        "after": "SKIPPED",
    }
    assert leftover == []
    assert isinstance(events[-1], RunFinished) and events[-1].state is RunState.CANCELLED


def test_cancel_during_backoff_cancels_the_node_at_once() -> None:
    """The clock's sleep never returns by itself: only cancelling the run ends the wait."""

    class StoppedClock(RunClock):
        async def sleep(self, seconds: float) -> None:
            await asyncio.Event().wait()

    definition = workflow(
        INPUT, http("flaky", "http://api.test/x", retry={"max_attempts": 3, "backoff_s": 1})
    )

    async def scenario():
        from flowdesk.engine import HandlerRegistry

        run = WorkflowRun(
            definition, HandlerRegistry.default(), transport=unavailable([]), clock=StoppedClock()
        )
        events: list = []
        run.subscribe(events.append)
        run.subscribe(
            lambda event: (
                asyncio.get_running_loop().call_soon(run.cancel)
                if isinstance(event, NodeRetrying)
                else None
            )
        )
        return await run.execute(), events

    result, events = asyncio.run(scenario())
    assert result.state is RunState.CANCELLED
    assert states(result) == {"input": "SUCCEEDED", "flaky": "CANCELLED"}
    assert result.nodes["flaky"].attempts == 1
    assert [type(e).__name__ for e in events if getattr(e, "node_id", None) == "flaky"] == [
        "NodeStarted",
        "NodeRetrying",
        "NodeFinished",
    ]


def test_cancelling_the_awaiting_task_cancels_the_run() -> None:
    definition = workflow(
        INPUT,
        {"id": "wait", "handler": "delay", "dependencies": ["input"], "config": {"seconds": 30}},
    )

    async def scenario():
        from flowdesk.engine import HandlerRegistry

        run = WorkflowRun(definition, HandlerRegistry.default())
        waiting = asyncio.Event()
        run.subscribe(
            lambda event: (
                waiting.set()
                if isinstance(event, NodeStarted) and event.node_id == "wait"
                else None
            )
        )
        task = asyncio.create_task(run.execute())
        await waiting.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return run

    run_ = asyncio.run(scenario())
    assert run_.state is RunState.CANCELLED
    assert run_.nodes["wait"].state is NodeState.CANCELLED


def test_events_arrive_in_order() -> None:
    definition = workflow(
        INPUT,
        {"id": "a", "handler": "transform", "dependencies": ["input"], "config": {"value": 1}},
        {"id": "b", "handler": "transform", "dependencies": ["input"], "config": {"value": 2}},
        {"id": "c", "handler": "output", "dependencies": ["a", "b"]},
    )
    _, events = run(definition)
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunFinished)
    position = {(type(e).__name__, getattr(e, "node_id", None)): i for i, e in enumerate(events)}
    for node_id, deps in {"a": ["input"], "b": ["input"], "c": ["a", "b"]}.items():
        for dep in deps:
            assert position[("NodeFinished", dep)] < position[("NodeStarted", node_id)]
    finished = [e for e in events if isinstance(e, NodeFinished)]
    assert [e.node_id for e in finished][-1] == "c"
    assert finished[-1].output == {"a": 1, "b": 2}
    assert all(e.duration_s is not None and e.duration_s >= 0 for e in finished)


def test_a_generated_2000_node_dag_completes() -> None:
    width, depth = 50, 40
    nodes = [INPUT]
    previous = ["input"]
    for layer in range(depth):
        current = [f"l{layer}_{i}" for i in range(width)]
        nodes += [
            {
                "id": node_id,
                "handler": "transform",
                "dependencies": previous[:3] if layer else ["input"],
                "config": {"value": i},
            }
            for i, node_id in enumerate(current)
        ]
        previous = current
    nodes.append({"id": "join", "handler": "output", "dependencies": previous})
    definition = workflow(*nodes)
    assert len(definition.nodes) == width * depth + 2
    result, events = run(definition)
    assert result.state is RunState.COMPLETED
    assert result.count(NodeState.SUCCEEDED) == len(definition.nodes)
    assert result.results["join"] == {f"l{depth - 1}_{i}": i for i in range(width)}
    assert sum(isinstance(e, NodeFinished) for e in events) == len(definition.nodes)


def test_missing_template_key_fails_the_node_naming_the_expression(server) -> None:
    definition = workflow(
        INPUT,
        http("get_user", f"{server.url}/users/1"),
        {
            "id": "use",
            "handler": "transform",
            "dependencies": ["get_user"],
            "retry": {"max_attempts": 3, "backoff_s": 0},
            "config": {"value": {"x": "{{ get_user.body.nickname }}"}},
        },
    )
    result, _ = run(definition)
    node = result.nodes["use"]
    assert node.state is NodeState.FAILED
    assert "{{ get_user.body.nickname }}" in node.error and "config.value.x" in node.error
    assert node.attempts == 1, "a template error is not retried"


def test_config_that_is_invalid_after_templates_fails_the_node() -> None:
    definition = workflow(
        INPUT,
        {
            "id": "wait",
            "handler": "delay",
            "dependencies": ["input"],
            "config": {"seconds": "{{ params.s }}"},
        },
    )
    result, _ = run(definition, {"s": "soon"})
    assert result.nodes["wait"].state is NodeState.FAILED
    assert "config.seconds" in result.nodes["wait"].error
    assert "'soon'" in result.nodes["wait"].error
    result, _ = run(definition, {"s": 0.01})
    assert result.state is RunState.COMPLETED


def test_resume_reuses_previous_outputs_without_executing(server) -> None:
    definition = workflow(
        INPUT,
        http("get_user", f"{server.url}/users/1"),
        {
            "id": "out",
            "handler": "output",
            "dependencies": ["get_user"],
            "config": {"value": "{{ get_user.body.name }}"},
        },
    )
    stored = {"status_code": 200, "headers": {}, "body": {"name": "From an earlier attempt"}}
    previous = {
        "input": StoredOutput("same-run", NodeResult("input", NodeState.SUCCEEDED, 1, {})),
        "get_user": StoredOutput("other-run", NodeResult("get_user", NodeState.REUSED, 0, stored)),
        "out": StoredOutput("same-run", NodeResult("out", NodeState.FAILED, 1, None, "boom")),
    }
    result, events = run(definition, previous=previous, run_id="same-run")
    assert result.run_id == "same-run"
    assert result.state is RunState.COMPLETED
    assert result.results["out"] == "From an earlier attempt"
    assert server.paths() == [], "a node that succeeded is never executed again"
    assert events[0].resumed_node_ids == ("input", "get_user")
    assert [e.node_id for e in events if isinstance(e, NodeStarted)] == ["out"]
    reused = [(e.node_id, e.state) for e in events if isinstance(e, NodeFinished)][:2]
    assert reused == [("input", NodeState.REUSED), ("get_user", NodeState.REUSED)]
    assert result.nodes["input"].reused_from == "same-run"
    assert result.nodes["get_user"].reused_from == "other-run"
    assert result.nodes["out"].state is NodeState.SUCCEEDED


def test_reused_nodes_satisfy_every_join_rule() -> None:
    """REUSED is a success: all_success, one_success and none_failed all let a child run."""
    definition = workflow(
        INPUT,
        *(
            {
                "id": f"after_{rule}",
                "handler": "transform",
                "dependencies": ["input"],
                "trigger_rule": rule,
                "config": {"value": "{{ input.n }}"},
            }
            for rule in ("all_success", "one_success", "none_failed", "none_failed_min_one_success")
        ),
    )
    kept = {"input": StoredOutput("earlier", NodeResult("input", NodeState.SUCCEEDED, 1, {"n": 7}))}
    result, _ = run(definition, previous=kept)
    assert result.state is RunState.COMPLETED
    assert result.count(NodeState.REUSED) == 1
    assert {n.output for n in result.nodes.values() if n.node_id != "input"} == {7}


def test_invalid_workflow_is_refused_before_running() -> None:
    definition = workflow(INPUT, {"id": "x", "handler": "nope", "dependencies": ["input"]})
    from flowdesk.engine import HandlerRegistry

    with pytest.raises(InvalidWorkflowError) as info:
        WorkflowRun(definition, HandlerRegistry.default())
    assert info.value.problems[0].node_id == "x"


def test_params_must_be_an_object() -> None:
    from flowdesk.engine import HandlerRegistry

    with pytest.raises(ValueError, match="JSON object"):
        WorkflowRun(workflow(INPUT), HandlerRegistry.default(), [1, 2])  # type: ignore[arg-type]
