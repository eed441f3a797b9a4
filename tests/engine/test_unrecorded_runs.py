"""A recorder that fails under a run (issue 12, points 9 and 10): a result it cannot keep fails
its node and the run goes on; a recorder that can no longer record at all stops the run,
INTERRUPTED in its result and its events as in the store, and `execute` raises why."""

from __future__ import annotations

import asyncio

import pytest

from flowdesk.engine import (
    NodeFinished,
    NodeResult,
    NodeStarted,
    NodeState,
    ResultNotRecordable,
    RunFinished,
    RunResult,
    RunState,
    WorkflowRun,
)
from flowdesk.model import workflow_from_data


class StoreGone(Exception):
    """What a store raises when it cannot write at all (locked, damaged, full)."""


class FailingRecorder:
    """Records in memory; refuses the results named in `too_large`, breaks at `broken_at`."""

    def __init__(self, *, too_large=(), broken_at=None, finish_fails=False) -> None:
        self.too_large = set(too_large)
        self.broken_at = broken_at
        self.finish_fails = finish_fails
        self.recorded: dict[str, NodeResult] = {}
        self.finished: RunResult | None = None

    async def run_started(self, run: RunResult) -> None:
        return None

    def node_started(self, run_id: str, result: NodeResult) -> None:
        return None

    async def node_finished(self, run_id: str, result: NodeResult) -> None:
        await asyncio.sleep(0)
        if result.node_id == self.broken_at:
            raise StoreGone("database is locked")
        if result.node_id in self.too_large:
            raise ResultNotRecordable("result too large to store")
        self.recorded[result.node_id] = result

    async def run_finished(self, run: RunResult) -> None:
        if self.finish_fails:
            raise StoreGone("database is locked")
        self.finished = run


def definition(slow_s: float):
    """input -> a -> b -> c, and input -> slow (a delay, still running when b finishes)."""
    nodes = [
        {"id": "input", "handler": "input"},
        {"id": "a", "handler": "transform", "dependencies": ["input"], "config": {"value": 1}},
        {"id": "b", "handler": "transform", "dependencies": ["a"], "config": {"value": "x"}},
        {"id": "c", "handler": "transform", "dependencies": ["b"], "config": {"value": 3}},
        {
            "id": "slow",
            "handler": "delay",
            "dependencies": ["input"],
            "config": {"seconds": slow_s},
        },
    ]
    return workflow_from_data({"name": "recorded", "dag": {"nodes": nodes}})


def run_with(recorder: FailingRecorder, slow_s: float = 0) -> tuple[WorkflowRun, list]:
    run = WorkflowRun(definition(slow_s), recorder=recorder)
    events: list = []
    run.subscribe(events.append)
    return run, events


def test_a_result_the_recorder_cannot_keep_fails_its_node_only() -> None:
    recorder = FailingRecorder(too_large={"b"})
    run, events = run_with(recorder)
    result = asyncio.run(run.execute())
    assert result.state is RunState.FAILED
    assert result.nodes["b"].state is NodeState.FAILED
    assert result.nodes["b"].error == "result too large to store"
    assert result.nodes["b"].output is None
    assert result.nodes["c"].state is NodeState.SKIPPED
    assert result.nodes["slow"].state is NodeState.SUCCEEDED
    assert recorder.finished is result  # the run's end records the failure without the output
    finished_b = [e for e in events if isinstance(e, NodeFinished) and e.node_id == "b"]
    assert [e.state for e in finished_b] == [NodeState.FAILED]


def test_a_recorder_that_breaks_stops_the_run_interrupted_and_execute_says_why() -> None:
    recorder = FailingRecorder(broken_at="b")
    run, events = run_with(recorder, slow_s=30)
    with pytest.raises(StoreGone, match="database is locked"):
        asyncio.run(asyncio.wait_for(run.execute(), 20))
    result = run.result
    assert result.state is RunState.INTERRUPTED
    states = {node_id: node.state for node_id, node in result.nodes.items()}
    assert states == {
        "input": NodeState.SUCCEEDED,
        "a": NodeState.SUCCEEDED,
        "b": NodeState.INTERRUPTED,  # finished, but not recorded: a resume runs it again
        "c": NodeState.PENDING,  # never started, never skipped: as the store has it
        "slow": NodeState.INTERRUPTED,  # cancelled at once, not waited for
    }
    assert result.nodes["b"].error is None
    assert "c" not in {e.node_id for e in events if isinstance(e, NodeStarted)}
    assert recorder.finished is None, "nothing more is written to a store that failed"
    assert isinstance(events[-1], RunFinished)
    assert events[-1].state is RunState.INTERRUPTED


def test_a_run_whose_end_cannot_be_recorded_ends_interrupted() -> None:
    recorder = FailingRecorder(finish_fails=True)
    run, events = run_with(recorder)
    with pytest.raises(StoreGone):
        asyncio.run(run.execute())
    assert run.result.state is RunState.INTERRUPTED
    assert isinstance(events[-1], RunFinished)
    assert events[-1].state is RunState.INTERRUPTED
    assert run.result.count(NodeState.SUCCEEDED) == 5
