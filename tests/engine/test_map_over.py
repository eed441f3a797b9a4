"""map_over in the engine: one call per item, item and item_index in the config, outputs in
item order, per-item retries, partial failure (fail and skip), 0 items, max_items + 1, a value
that is not a list, cancel mid-map, per-item timeouts and masked secrets."""

from __future__ import annotations

import asyncio

import pytest
from conftest import workflow
from pydantic import BaseModel

from flowdesk.engine import HandlerError, HandlerRegistry, RunLimits, handler
from flowdesk.engine.events import ItemFinished, MapStarted, NodeFinished
from flowdesk.engine.scheduler import WorkflowRun
from flowdesk.engine.states import NodeState, RunState
from flowdesk.model.secret_refs import ResolvedSecrets


class ItemConfig(BaseModel):
    value: object = None
    index: int = 0
    fail_times: int = 0
    """Fail this many attempts of the item, then succeed."""
    always_fail: bool = False
    say: str = ""
    """Added to the failure's message."""


class Items:
    """A handler that records its calls; tests gate items with events to order them."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []
        """(item index, attempt) of every call."""
        self.in_flight = 0
        self.peak = 0
        self.gates: dict[int, asyncio.Event] = {}
        self.finished: list[int] = []
        self.started = asyncio.Event()
        self.block = False

    def registry(self) -> HandlerRegistry:
        registry = HandlerRegistry.default()

        @handler("item_probe", ItemConfig)
        async def item_probe(config: ItemConfig, context):
            self.calls.append((config.index, context.attempt))
            assert context.item_index == config.index
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            self.started.set()
            try:
                if self.block:
                    await asyncio.Event().wait()  # until cancelled
                gate = self.gates.get(config.index)
                if gate is not None:
                    await gate.wait()
                if config.always_fail or context.attempt <= config.fail_times:
                    raise HandlerError(f"item {config.index} failed on purpose{config.say}")
                return {"got": config.value, "at": config.index}
            finally:
                self.in_flight -= 1
                self.finished.append(config.index)

        registry.register(item_probe)
        return registry


def mapped(values, *, config=None, **fields):
    """params.values -> a node `each` mapped over it -> `after`, which reads its output."""
    return workflow(
        {"id": "source", "handler": "transform", "config": {"value": "{{ params['values'] }}"}},
        {
            "id": "each",
            "handler": "item_probe",
            "dependencies": ["source"],
            "map_over": "{{ source }}",
            "config": config or {"value": "{{ item }}", "index": "{{ item_index }}"},
            **fields,
        },
        {"id": "after", "handler": "transform", "dependencies": ["each"],
         "config": {"value": "{{ each | length }}"}},
    )  # fmt: skip


def execute(definition, probe: Items, values, **options):
    events: list = []
    run = WorkflowRun(definition, probe.registry(), {"values": values}, **options)
    run.subscribe(events.append)
    return asyncio.run(run.execute()), events


def test_each_item_runs_once_with_item_and_index_and_outputs_keep_item_order() -> None:
    probe = Items()
    result, events = execute(mapped(["a", "b", "c"]), probe, ["a", "b", "c"])
    assert result.state is RunState.COMPLETED
    each = result.nodes["each"]
    assert each.state is NodeState.SUCCEEDED
    assert each.output == [{"got": "a", "at": 0}, {"got": "b", "at": 1}, {"got": "c", "at": 2}]
    assert sorted(probe.calls) == [(0, 1), (1, 1), (2, 1)]
    assert [item.state for item in each.items] == [NodeState.SUCCEEDED] * 3
    assert [item.attempts for item in each.items] == [1, 1, 1]
    assert result.nodes["after"].output == 3
    started = [e for e in events if isinstance(e, MapStarted)]
    assert [(e.node_id, e.total) for e in started] == [("each", 3)]
    finished = [e for e in events if isinstance(e, ItemFinished)]
    assert sorted(e.item.index for e in finished) == [0, 1, 2]
    assert [e.done for e in finished] == [1, 2, 3]
    assert {(e.failed, e.total) for e in finished} == {(0, 3)}
    # MapStarted comes before any ItemFinished, and the node's NodeFinished after the last.
    kinds = [type(e).__name__ for e in events if e.__class__ in (MapStarted, ItemFinished)]
    assert kinds[0] == "MapStarted"
    node_done = next(
        i for i, e in enumerate(events) if isinstance(e, NodeFinished) and e.node_id == "each"
    )
    assert node_done > events.index(finished[-1])


def test_order_is_kept_when_items_finish_in_reverse_under_concurrency() -> None:
    probe = Items()
    values = list(range(8))

    async def run_it():
        registry = probe.registry()
        run = WorkflowRun(mapped(values), registry, {"values": values}, max_concurrency=8)
        for index in values:
            probe.gates[index] = asyncio.Event()

        async def release_backwards():
            while probe.in_flight < len(values):  # all eight are in flight at once
                await asyncio.sleep(0)
            for index in reversed(values):
                probe.gates[index].set()
                while index not in probe.finished:
                    await asyncio.sleep(0)

        releaser = asyncio.create_task(release_backwards())
        result = await run.execute()
        await releaser
        return result

    result = asyncio.run(run_it())
    assert probe.finished == list(reversed(values))
    assert [out["at"] for out in result.nodes["each"].output] == values
    assert probe.peak == len(values)


def test_items_in_flight_stay_within_the_runs_max_concurrency() -> None:
    probe = Items()
    values = list(range(20))
    result, _ = execute(mapped(values), probe, values, max_concurrency=3)
    assert result.state is RunState.COMPLETED
    assert len(result.nodes["each"].output) == 20
    assert probe.peak <= 3


def test_each_item_has_its_own_retries() -> None:
    probe = Items()
    config = {"value": "{{ item }}", "index": "{{ item_index }}", "fail_times": "{{ item }}"}
    definition = mapped([0, 2, 1], config=config, retry={"max_attempts": 3, "backoff_s": 0})
    result, _ = execute(definition, probe, [0, 2, 1])
    each = result.nodes["each"]
    assert each.state is NodeState.SUCCEEDED
    assert [item.attempts for item in each.items] == [1, 3, 2]
    assert sorted(probe.calls) == [(0, 1), (1, 1), (1, 2), (1, 3), (2, 1), (2, 2)]


def failing_items(values: list[int], bad: set[int], **fields):
    config = {
        "value": "{{ item }}",
        "index": "{{ item_index }}",
        "always_fail": "{{ item in params.bad }}",
    }
    return mapped(values, config=config, **fields), {"values": values, "bad": sorted(bad)}


def test_on_item_failure_fail_fails_the_node_once_every_item_is_final() -> None:
    probe = Items()
    values = list(range(10))
    definition, params = failing_items(values, {3, 7}, retry={"max_attempts": 2, "backoff_s": 0})
    run = WorkflowRun(definition, probe.registry(), params)
    result = asyncio.run(run.execute())
    assert result.state is RunState.FAILED
    each = result.nodes["each"]
    assert each.state is NodeState.FAILED
    assert each.error == (
        "items 3, 7 failed (2 of 10); item 3: item 3 failed on purpose (after 2 attempts)"
    )
    assert len(probe.calls) == 8 + 2 * 2  # every item ran: the failures did not stop the others
    states = [item.state for item in each.items]
    assert states.count(NodeState.SUCCEEDED) == 8
    assert states[3] is states[7] is NodeState.FAILED
    assert each.items[7].error == "item 7 failed on purpose (after 2 attempts)"
    assert result.nodes["after"].state is NodeState.SKIPPED


def test_on_item_failure_skip_gives_null_for_failed_items_and_succeeds() -> None:
    probe = Items()
    values = list(range(5))
    definition, params = failing_items(values, {1}, on_item_failure="skip")
    run = WorkflowRun(definition, probe.registry(), params)
    result = asyncio.run(run.execute())
    assert result.state is RunState.COMPLETED
    each = result.nodes["each"]
    assert each.state is NodeState.SUCCEEDED
    assert each.output[1] is None
    assert [out["at"] for i, out in enumerate(each.output) if i != 1] == [0, 2, 3, 4]
    assert each.items[1].state is NodeState.FAILED
    assert each.items[1].error == "item 1 failed on purpose"
    assert result.nodes["after"].output == 5


def test_an_empty_list_succeeds_with_an_empty_output() -> None:
    probe = Items()
    result, events = execute(mapped([]), probe, [])
    each = result.nodes["each"]
    assert each.state is NodeState.SUCCEEDED
    assert each.output == []
    assert each.items == []
    assert probe.calls == []
    assert [e.total for e in events if isinstance(e, MapStarted)] == [0]
    assert result.nodes["after"].output == 0


def test_more_than_max_items_fails_before_any_item_runs() -> None:
    probe = Items()
    result, events = execute(mapped([1, 2, 3, 4], max_items=3), probe, [1, 2, 3, 4])
    each = result.nodes["each"]
    assert each.state is NodeState.FAILED
    assert each.error == "map_over gave 4 items, more than max_items (3)"
    assert probe.calls == []
    assert not [e for e in events if isinstance(e, MapStarted | ItemFinished)]
    assert each.items is None
    ok, _ = execute(mapped([1, 2, 3], max_items=3), Items(), [1, 2, 3])
    assert ok.nodes["each"].state is NodeState.SUCCEEDED


@pytest.mark.parametrize(
    ("value", "kind"),
    [({"a": 1}, "an object"), ("abc", "text"), (7, "a number"), (None, "null")],
)
def test_a_map_over_value_that_is_not_a_list_fails_naming_its_type(value, kind) -> None:
    probe = Items()
    result, _ = execute(mapped(value), probe, value)
    each = result.nodes["each"]
    assert each.state is NodeState.FAILED
    assert each.error == f"map_over must give a list, not {kind}"
    assert probe.calls == []


def test_the_list_of_outputs_is_held_to_the_runs_output_limit() -> None:
    definition = workflow(
        {"id": "each", "handler": "transform", "map_over": "{{ params['values'] }}",
         "config": {"value": "{{ 'x' * 300 }}"}},
    )  # fmt: skip
    run = WorkflowRun(definition, params={"values": [1, 2, 3, 4, 5]}, limits=RunLimits(1000))
    result = asyncio.run(run.execute())
    each = result.nodes["each"]
    assert [item.state for item in each.items] == [NodeState.SUCCEEDED] * 5  # each one fits
    assert each.state is NodeState.FAILED
    assert each.error.startswith("output too large")


def test_a_map_over_template_error_fails_the_node() -> None:
    probe = Items()
    definition = mapped([1])
    definition.node("each").map_over = "{{ source.missing }}"
    result, _ = execute(definition, probe, [1])
    assert result.nodes["each"].state is NodeState.FAILED
    assert "source.missing" in result.nodes["each"].error
    assert probe.calls == []


def test_cancel_mid_map_cancels_items_in_flight_and_skips_the_rest() -> None:
    probe = Items()
    probe.block = True
    values = list(range(50))

    finished: list[ItemFinished] = []

    async def run_it():
        run = WorkflowRun(mapped(values), probe.registry(), {"values": values}, max_concurrency=4)
        run.subscribe(lambda event: isinstance(event, ItemFinished) and finished.append(event))
        task = asyncio.create_task(run.execute())
        while probe.in_flight < 4:
            await asyncio.sleep(0)
        run.cancel()
        result = await task
        return result, asyncio.all_tasks()

    result, left = asyncio.run(run_it())
    assert result.state is RunState.CANCELLED
    each = result.nodes["each"]
    assert each.state is NodeState.CANCELLED
    states = [item.state for item in each.items]
    assert states.count(NodeState.CANCELLED) == 4
    assert states.count(NodeState.SKIPPED) == 46
    assert {item.error for item in each.items if item.state is NodeState.SKIPPED} == {
        "run cancelled"
    }
    assert probe.in_flight == 0
    assert len(left) == 1  # only the test's own task: no worker outlived the run
    # A cancelled item is not a failure: front-ends counted "4 failed" from this.
    assert [event.failed for event in finished] == [0, 0, 0, 0]


def test_each_item_has_its_own_timeout() -> None:
    probe = Items()
    probe.gates[1] = asyncio.Event()  # item 1 never finishes by itself
    result, _ = execute(mapped([0, 1, 2], timeout_s=0.2, on_item_failure="skip"), probe, [0, 1, 2])
    each = result.nodes["each"]
    assert [item.state for item in each.items] == [
        NodeState.SUCCEEDED,
        NodeState.FAILED,
        NodeState.SUCCEEDED,
    ]
    assert each.items[1].error == "timed out after 0.2 s"


def test_secrets_are_masked_in_item_outputs_and_errors() -> None:
    probe = Items()
    config = {
        "value": "{{ secrets.TOKEN }}-{{ item }}",
        "index": "{{ item_index }}",
        "always_fail": "{{ item == 'b' }}",
        "say": " with {{ secrets.TOKEN }}",
    }
    definition = mapped(["a", "b"], config=config, on_item_failure="skip")
    secrets = ResolvedSecrets({"TOKEN": "hunter2-secret"})
    run = WorkflowRun(definition, probe.registry(), {"values": ["a", "b"]}, secrets=secrets)
    events: list = []
    run.subscribe(events.append)
    result = asyncio.run(run.execute())
    each = result.nodes["each"]
    assert each.output[0] == {"got": "***-a", "at": 0}
    assert "hunter2" not in repr([item.output for item in each.items])
    assert each.items[1].error == "item 1 failed on purpose with ***"
    seen = [(e.item.output, e.item.error) for e in events if isinstance(e, ItemFinished)]
    assert len(seen) == 2
    assert "hunter2" not in repr(seen)
