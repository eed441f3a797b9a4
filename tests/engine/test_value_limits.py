"""A node's templates and output are bounded: a template past the node's timeout, a value too
large or not JSON, an output too large or too deep each fail the node with a clear message; the
event loop keeps running while a long template is evaluated; cancel stops it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import workflow
from pydantic import BaseModel

from flowdesk.engine import NodeState, RunLimits, RunState, WorkflowRun, handler
from flowdesk.engine.events import NodeStarted
from flowdesk.engine.execution import NodeFailure, check_json
from flowdesk.engine.registry import HandlerRegistry

SLOW = (
    "{% for a in params.lst %}{% for b in params.lst %}{% for c in params.lst %}"
    "{% endfor %}{% endfor %}{% endfor %}"
)
PARAMS = {"lst": list(range(1000))}


def transform(node_id: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "handler": "transform", "config": {"value": value}, **extra}


def run(definition, params=None, **options):
    return asyncio.run(WorkflowRun(definition, params=params, **options).execute())


def test_a_template_past_the_nodes_timeout_fails_it_while_the_loop_keeps_running() -> None:
    """Real time, on purpose: the evaluation is on a worker thread, so the event loop ticks."""
    definition = workflow(
        transform("slow", SLOW, timeout_s=0.5), transform("after", "x", dependencies=["slow"])
    )

    async def main() -> tuple[Any, int]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        result = await WorkflowRun(definition, params=PARAMS).execute()
        ticker.cancel()
        return result, ticks

    result, ticks = asyncio.run(main())
    slow = result.nodes["slow"]
    assert slow.state is NodeState.FAILED
    assert "template took longer than 0.5 s" in (slow.error or "")
    assert result.nodes["after"].state is NodeState.SKIPPED
    assert result.state is RunState.FAILED
    assert ticks >= 10  # the loop ran all along (about 50 ticks in 0.5 s)


def test_templates_of_a_node_without_a_timeout_get_the_runs_template_default() -> None:
    result = run(
        workflow(transform("slow", SLOW)), PARAMS, limits=RunLimits(template_timeout_s=0.2)
    )
    assert "template took longer than 0.2 s" in (result.nodes["slow"].error or "")


def test_cancel_stops_a_template_being_evaluated() -> None:
    definition = workflow(transform("slow", SLOW))

    async def main():
        run = WorkflowRun(definition, params=PARAMS)
        started = asyncio.Event()
        run.subscribe(lambda event: started.set() if isinstance(event, NodeStarted) else None)
        execution = asyncio.create_task(run.execute())
        await started.wait()
        await asyncio.sleep(0.05)  # well inside the evaluation, on its thread
        run.cancel()
        result = await execution
        # The worker thread ends at its next deadline check: the executor shuts down promptly.
        await asyncio.wait_for(asyncio.get_running_loop().shutdown_default_executor(), 30)
        return result

    result = asyncio.run(main())
    assert result.state is RunState.CANCELLED
    assert result.nodes["slow"].state is NodeState.CANCELLED


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ params.lst | map('abs') }}", "the value is a generator, not JSON: add `| list`"),
        ("{{ params.d.items() }}", "the value is a dict_items"),
        ("{{ self }}", "the value is a TemplateReference"),
        ("{{ ''.join }}", "not data: call it with ()"),
    ],
)
def test_a_value_that_is_not_json_fails_the_node_and_the_run(template: str, expected: str) -> None:
    result = run(workflow(transform("t", template)), {"lst": [1, -2], "d": {"a": 1}})
    assert result.nodes["t"].state is NodeState.FAILED
    assert expected in (result.nodes["t"].error or "")
    assert result.state is RunState.FAILED


def test_a_template_value_over_the_runs_limit_fails_the_node() -> None:
    limits = RunLimits(max_value_bytes=1024 * 1024)
    result = run(workflow(transform("t", "{{ 'x' * 2000000 }}")), limits=limits)
    assert "template result too large: repetition would be 1.9 MB (limit 1.0 MB)" in (
        result.nodes["t"].error or ""
    )


def test_an_output_over_the_runs_limit_fails_the_node() -> None:
    limits = RunLimits(max_value_bytes=1024 * 1024)
    result = run(workflow(transform("t", ["y" * 600_000, "z" * 600_000])), limits=limits)
    error = result.nodes["t"].error or ""
    assert error.startswith("output too large: 1.1 MB (limit 1.0 MB; FLOWDESK_MAX_VALUE_MB")
    assert result.state is RunState.FAILED


class NoConfig(BaseModel):
    pass


@handler("deep", NoConfig)
async def deep_output(config: NoConfig, context: Any) -> Any:
    """An output nested further than JSON can be written."""
    value: Any = []
    for _ in range(100_000):
        value = [value]
    return value


def test_an_output_nested_too_deep_to_store_fails_the_node() -> None:
    registry = HandlerRegistry.default()
    registry.register(deep_output)
    result = run(workflow({"id": "d", "handler": "deep"}), registry=registry)
    assert result.nodes["d"].error == "output is nested too deeply to store"
    assert result.state is RunState.FAILED


def test_check_json_refuses_integers_too_long_to_write() -> None:
    check_json(10**4000)
    with pytest.raises(NodeFailure, match="more than 4,300 digits"):
        check_json(10**5000)


def test_the_limit_is_read_from_the_environment() -> None:
    assert RunLimits.from_env({}).max_value_bytes == 16 * 1024 * 1024
    assert RunLimits.from_env({"FLOWDESK_MAX_VALUE_MB": "2"}).max_value_bytes == 2 * 1024 * 1024
    with pytest.raises(ValueError, match="FLOWDESK_MAX_VALUE_MB must be a number of megabytes"):
        RunLimits.from_env({"FLOWDESK_MAX_VALUE_MB": "lots"})
