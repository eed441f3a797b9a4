"""The scheduler against the real demo service: concurrency, data flow, failure, retry, timeout,
cancellation, max_concurrency and scale."""

from __future__ import annotations

import asyncio
import time

import pytest
from conftest import workflow

from flowdesk.engine.events import NodeFinished, NodeRetrying, NodeStarted, RunFinished, RunStarted
from flowdesk.engine.results import NodeResult
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
    started = time.perf_counter()
    result, _ = run(definition, {"user_id": 1})
    elapsed = time.perf_counter() - started
    assert result.state is RunState.COMPLETED
    assert server.max_overlap("/slow") == 3
    assert elapsed < 0.4 * 2, f"three 0.4 s calls took {elapsed:.2f} s: not concurrent"
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


def test_retry_gives_up_after_max_attempts_with_backoff(server) -> None:
    definition = workflow(
        INPUT,
        http(
            "flaky",
            f"{server.url}/flaky/never?failures=9",
            retry={"max_attempts": 3, "backoff_s": 0.1},
        ),
    )
    started = time.perf_counter()
    result, events = run(definition)
    elapsed = time.perf_counter() - started
    node = result.nodes["flaky"]
    assert node.state is NodeState.FAILED and node.attempts == 3
    assert node.error.endswith("(after 3 attempts)")
    delays = [e.delay_s for e in events if isinstance(e, NodeRetrying)]
    assert 0.05 <= delays[0] <= 0.15 and 0.1 <= delays[1] <= 0.3, delays
    assert elapsed >= sum(delays)


def test_node_timeout(server) -> None:
    definition = workflow(INPUT, http("slow", f"{server.url}/slow?seconds=3", timeout_s=0.2))
    started = time.perf_counter()
    result, _ = run(definition)
    assert time.perf_counter() - started < 2
    assert result.nodes["slow"].state is NodeState.FAILED
    assert result.nodes["slow"].error == "timed out after 0.2 s"


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


def test_max_concurrency_is_honoured(server) -> None:
    nodes = [INPUT] + [http(f"n{i}", f"{server.url}/slow?seconds=0.05") for i in range(20)]
    result, _ = run(workflow(*nodes), max_concurrency=4)
    assert result.state is RunState.COMPLETED
    assert server.max_overlap("/slow") == 4


def test_cancel_stops_in_flight_nodes_and_leaves_no_task(server) -> None:
    definition = workflow(
        INPUT,
        http("slow_a", f"{server.url}/slow?seconds=2"),
        {"id": "wait", "handler": "delay", "dependencies": ["input"], "config": {"seconds": 30}},
        {"id": "after", "handler": "output", "dependencies": ["slow_a", "wait"]},
    )

    async def scenario():
        from flowdesk.engine import HandlerRegistry

        run = WorkflowRun(definition, HandlerRegistry.default())
        events: list = []
        run.subscribe(events.append)
        started = set()

        def cancel_when_both_started(event) -> None:
            if isinstance(event, NodeStarted):
                started.add(event.node_id)
                if {"slow_a", "wait"} <= started:
                    asyncio.get_running_loop().call_soon(run.cancel)

        run.subscribe(cancel_when_both_started)
        begun = time.perf_counter()
        result = await run.execute()
        elapsed = time.perf_counter() - begun
        leftover = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        return result, events, elapsed, leftover

    result, events, elapsed, leftover = asyncio.run(scenario())
    assert result.state is RunState.CANCELLED
    assert states(result) == {
        "input": "SUCCEEDED",
        "slow_a": "CANCELLED",
        "wait": "CANCELLED",
        "after": "SKIPPED",
    }
    assert elapsed < 1.5
    assert leftover == []
    assert isinstance(events[-1], RunFinished) and events[-1].state is RunState.CANCELLED


def test_cancelling_the_awaiting_task_cancels_the_run() -> None:
    definition = workflow(
        INPUT,
        {"id": "wait", "handler": "delay", "dependencies": ["input"], "config": {"seconds": 30}},
    )

    async def scenario():
        from flowdesk.engine import HandlerRegistry

        run = WorkflowRun(definition, HandlerRegistry.default())
        task = asyncio.create_task(run.execute())
        await asyncio.sleep(0.05)
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
    assert node.attempts == 0, "a template error is not retried"


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
        "input": NodeResult("input", NodeState.SUCCEEDED, 1, {}),
        "get_user": NodeResult("get_user", NodeState.SUCCEEDED, 1, stored),
        "out": NodeResult("out", NodeState.FAILED, 1, None, "boom"),
    }
    result, events = run(definition, previous=previous, run_id="same-run")
    assert result.run_id == "same-run"
    assert result.state is RunState.COMPLETED
    assert result.results["out"] == "From an earlier attempt"
    assert server.paths() == [], "a node that succeeded is never executed again"
    assert events[0].resumed_node_ids == ("input", "get_user")
    assert [e.node_id for e in events if isinstance(e, NodeStarted)] == ["out"]


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
