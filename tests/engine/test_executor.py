"""The executor seam: every handler call goes through the run's executor session, while
templates, validation, retries, timeouts and cancellation stay with the engine."""

from __future__ import annotations

import asyncio

from conftest import workflow

from flowdesk.engine import (
    ExecutorError,
    HandlerError,
    NodeState,
    RunState,
    run_workflow,
)


class RecordingExecutor:
    """Runs calls locally through a session that notes each one; `fail` shapes failures."""

    def __init__(self, fail=None) -> None:
        self.calls: list[tuple[str, int, dict]] = []
        self.opened: list[str] = []
        self.closed = 0
        self.cancelled: list[str] = []
        self.fail = fail

    async def open_run(self, run_id, workflow):
        self.opened.append(run_id)
        return self

    async def call(self, handler, config, resolved, context):
        self.calls.append((context.node_id, context.attempt, dict(resolved)))
        try:
            if self.fail is not None:
                await self.fail(context)
            return await handler.run(config, context)
        except asyncio.CancelledError:
            self.cancelled.append(context.node_id)
            raise

    async def aclose(self) -> None:
        self.closed += 1


INPUT = {"id": "input", "handler": "input"}


def test_every_call_goes_through_the_session_with_its_config_resolved_here() -> None:
    executor = RecordingExecutor()
    definition = workflow(
        INPUT,
        {
            "id": "greet",
            "handler": "transform",
            "dependencies": ["input"],
            "config": {"value": "hi {{ params.who }}"},
        },
    )
    result = asyncio.run(run_workflow(definition, {"who": "Ada"}, executor=executor))
    assert result.state is RunState.COMPLETED
    assert result.nodes["greet"].output == "hi Ada"
    assert executor.calls == [("input", 1, {}), ("greet", 1, {"value": "hi Ada"})]
    assert executor.opened == [result.run_id]
    assert executor.closed == 1


def test_an_executor_error_fails_the_node_at_once_and_a_handler_error_is_retried() -> None:
    async def fail(context):
        if context.node_id == "unreachable":
            raise ExecutorError("no worker for this")
        if context.attempt < 3:
            raise HandlerError(f"flaky {context.attempt}")

    executor = RecordingExecutor(fail)
    retry = {"max_attempts": 3, "backoff_s": 0}
    definition = workflow(
        {"id": "unreachable", "handler": "input", "retry": retry},
        {"id": "flaky", "handler": "input", "retry": retry},
    )
    result = asyncio.run(run_workflow(definition, executor=executor))
    assert result.nodes["unreachable"].state is NodeState.FAILED
    assert result.nodes["unreachable"].error == "no worker for this"
    assert result.nodes["unreachable"].attempts == 1
    assert result.nodes["flaky"].state is NodeState.SUCCEEDED
    assert result.nodes["flaky"].attempts == 3


def test_the_node_timeout_and_cancel_reach_the_call_wherever_it_runs() -> None:
    async def forever(context):
        await asyncio.Event().wait()

    executor = RecordingExecutor(forever)
    definition = workflow(
        {"id": "bounded", "handler": "input", "timeout_s": 0.1},
    )
    result = asyncio.run(run_workflow(definition, executor=executor))
    assert result.nodes["bounded"].error == "timed out after 0.1 s"

    async def cancel_soon():
        from flowdesk.engine import WorkflowRun

        run = WorkflowRun(workflow({"id": "endless", "handler": "input"}), executor=executor)
        task = asyncio.ensure_future(run.execute())
        while not any(node == "endless" for node, _, _ in executor.calls):
            await asyncio.sleep(0.001)
        run.cancel()
        return await task

    cancelled = asyncio.run(cancel_soon())
    assert cancelled.nodes["endless"].state is NodeState.CANCELLED
    assert executor.cancelled == ["bounded", "endless"]  # the timeout, then the cancel
    assert executor.closed == 2
