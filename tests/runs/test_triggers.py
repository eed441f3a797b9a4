"""Executions made now and triggered later (the REST API's): PENDING with no owner until then."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest

from flowdesk.engine import RunState
from flowdesk.model import workflow_from_data
from flowdesk.runs import RunNotPendingError, RunService

ECHO = {
    "name": "later",
    "dag": {
        "nodes": [
            {"id": "input", "handler": "input"},
            {
                "id": "t",
                "handler": "transform",
                "dependencies": ["input"],
                "config": {"value": "{{ params.x }}"},
            },
        ]
    },
}
MAKE_TWO = """
import asyncio, json, sys
from flowdesk.engine import HandlerRegistry
from flowdesk.model import workflow_from_data
from flowdesk.runs import RunService

async def main():
    with RunService(HandlerRegistry.default(), sys.argv[1]) as service:
        definition = workflow_from_data(json.loads(sys.argv[2]))
        waiting, triggered = await service.create(definition), await service.create(definition)
        await service.trigger(triggered, {"x": 2})  # and the process ends before executing it
        print(waiting, triggered)

asyncio.run(main())
"""


def test_executions_outlive_the_process_that_made_them(tmp_path, registry) -> None:
    import json

    db = tmp_path / "runs.db"
    made = subprocess.run(
        [sys.executable, "-c", MAKE_TWO, str(db), json.dumps(ECHO)],
        capture_output=True,
        text=True,
        check=True,
    )
    waiting, triggered = made.stdout.split()
    with RunService(registry, db) as service:  # opening recovers runs of dead processes
        assert service.get(waiting).state is RunState.PENDING, "no owner: nothing to recover"
        assert service.get(waiting).owner is None
        assert service.get(triggered).state is RunState.INTERRUPTED
        handle = asyncio.run(service.trigger(waiting, {"x": 1}))
        assert asyncio.run(handle.execute()).results == {}  # no output node; it completed
        assert service.get(waiting).state is RunState.COMPLETED
        assert service.get(waiting).result.nodes["t"].output == 1
        resumed = asyncio.run(service.resume(triggered).execute())
        assert resumed.state is RunState.COMPLETED
        assert service.get(triggered).result.params == {"x": 2}


def test_an_execution_is_triggered_once(tmp_path, registry) -> None:
    async def scenario(service: RunService) -> None:
        execution = await service.create(workflow_from_data(ECHO))
        assert service.list_runs()[0].state is RunState.PENDING
        handle = await service.trigger(execution, {"x": 1})
        assert service.get(execution).state is RunState.RUNNING  # at once, before executing
        with pytest.raises(RunNotPendingError) as refused:
            await service.trigger(execution, {"x": 2})
        assert refused.value.state is RunState.RUNNING
        await handle.execute()
        with pytest.raises(RunNotPendingError):
            await service.trigger(execution)
        with pytest.raises(ValueError):
            await service.trigger(await service.create(workflow_from_data(ECHO)), [1])  # type: ignore[arg-type]

    with RunService(registry, tmp_path / "runs.db") as service:
        asyncio.run(scenario(service))


def test_a_trigger_that_cannot_build_the_run_leaves_it_waiting(tmp_path, registry) -> None:
    """Its workflow compiled when it was made, but a handler it uses is gone here."""
    from flowdesk.engine import InvalidWorkflowError
    from flowdesk.engine.registry import registry_of

    db = tmp_path / "runs.db"
    without_transform = registry_of(spec for spec in registry if spec.name != "transform")

    async def scenario() -> None:
        with RunService(registry, db) as maker:
            execution = await maker.create(workflow_from_data(ECHO))
        with RunService(without_transform, db) as lacking:
            with pytest.raises(InvalidWorkflowError):
                await lacking.trigger(execution, {"x": 1})
            stored = lacking.get(execution)
            assert (stored.state, stored.owner, stored.result.params) == (
                RunState.PENDING,
                None,
                {},
            )
        with RunService(registry, db) as whole:
            result = await (await whole.trigger(execution, {"x": 3})).execute()
            assert result.nodes["t"].output == 3

    asyncio.run(scenario())
