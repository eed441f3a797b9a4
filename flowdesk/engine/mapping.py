"""A node with `map_over`: its list, checked, then one handler call per item, concurrently.

The scheduler hands a mapped node to `ItemMap.run` instead of calling its handler once. Items
do not get a task each: a bounded set of worker coroutines (at most the run's
`max_concurrency`) pull item indices in order, so 100,000 items cost 32 coroutines, not
100,000 tasks. Each item resolves the node's config with `item` and `item_index`, and is
called through `call_with_retries` like any node (its own attempts, backoff and timeout, on
whatever executor the run uses). Handlers that never wait (a `transform`) would let one worker
run every item in one go and freeze the loop, so the workers hand the loop back every few
milliseconds (`_Slices`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from flowdesk.engine.clock import RunClock
from flowdesk.engine.context import NodeContext, NodeLog, RunResources
from flowdesk.engine.events import ItemFinished, MapStarted, RunEvent
from flowdesk.engine.execution import (
    NodeFailure,
    NodePlan,
    call_with_retries,
    check_json,
    evaluate_map_over,
    log_raised,
    resolve_config,
)
from flowdesk.engine.executor import ExecutorSession
from flowdesk.engine.limits import RunLimits
from flowdesk.engine.masking import SecretMask
from flowdesk.engine.recorder import RunRecorder
from flowdesk.engine.results import ItemResult, NodeResult
from flowdesk.engine.states import NodeState
from flowdesk.model.secret_refs import SecretLookup
from flowdesk.model.templates import ITEM, ITEM_INDEX

log = logging.getLogger(__name__)

SLICE_S = 0.005
"""How long the workers of one map may keep the event loop before handing it back."""
SHOWN_INDICES = 10
"""How many failed item indices a node's error names before "…"."""


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class ItemMap:
    """Everything one mapped node's items need from their run; `run` maps the node once."""

    run_id: str
    plan: NodePlan
    params: Mapping[str, Any]
    outputs: Mapping[str, Any]
    limits: RunLimits
    secrets: SecretLookup
    resources: RunResources
    clock: RunClock
    session: ExecutorSession
    mask: SecretMask
    emit: Callable[[RunEvent], None]
    recorder: RunRecorder | None
    """None when nothing records the run (no per-item recorder calls then)."""
    max_workers: int
    node_log: NodeLog

    async def run(self, result: NodeResult) -> list[Any]:
        """The item outputs in item order (null for an item that failed under "skip").

        Raises NodeFailure when the list is not a list or is too long (no item runs), or, under
        on_item_failure "fail", once every item is final and some failed. `result.items` holds
        the items from the moment the list is known. Cancelled: the items in flight end
        CANCELLED, the others SKIPPED, and CancelledError propagates.

        A resume keeps the items that succeeded in an earlier execution of the run, and runs
        only the others, provided the map_over list resolves to the same length as then;
        with another length every item runs again (the old outputs would not line up).
        """
        plan = self.plan
        values = await evaluate_map_over(plan, self.params, self.outputs, self.limits, self.secrets)
        if not isinstance(values, list):
            raise NodeFailure(f"map_over must give a list, not {_kind(values)}", retryable=False)
        total = len(values)
        if total > plan.spec.max_items:
            raise NodeFailure(
                f"map_over gave {total:,} items, more than max_items ({plan.spec.max_items:,})",
                retryable=False,
            )
        slices = _Slices()
        items: list[ItemResult] = []
        while len(items) < total:  # 100,000 of them take ~50 ms: not in one go
            items.extend(ItemResult(i) for i in range(len(items), min(total, len(items) + 2000)))
            if slices.spent():
                await slices.hand_back()
        kept = 0
        if self.recorder is not None:
            stored_total, succeeded = await self.recorder.stored_items(self.run_id, plan.node_id)
            keep = stored_total == total and bool(succeeded)
            if keep:
                for item in succeeded:
                    items[item.index] = item
                kept = len(succeeded)
            self.recorder.map_started(self.run_id, plan.node_id, total, keep=keep)
        result.items = items
        self.emit(MapStarted(self.run_id, plan.node_id, total, now()))
        progress = _Progress(total, kept)
        to_run = (item for item in items if item.state is not NodeState.SUCCEEDED)
        workers = min(self.max_workers, total - kept)
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(workers):
                    group.create_task(self._work(to_run, values, progress, slices))
        except asyncio.CancelledError:
            self._skip_unstarted(items)
            raise
        return self._outcome(items, progress)

    async def _work(
        self,
        to_run: Iterator[ItemResult],
        values: list[Any],
        progress: _Progress,
        slices: _Slices,
    ) -> None:
        """One worker: the next item not taken by another worker, until none is left."""
        while True:
            if slices.spent():  # checked first: a worker woken after the slice waits again
                await slices.hand_back()
            item = next(to_run, None)
            if item is None:
                return
            await self._run_item(item, values[item.index], progress)

    async def _run_item(self, item: ItemResult, value: Any, progress: _Progress) -> None:
        plan = self.plan
        item.state = NodeState.RUNNING
        item.started_at = now()
        try:
            config, resolved = await resolve_config(
                plan,
                self.params,
                self.outputs,
                self.limits,
                self.secrets,
                {ITEM: value, ITEM_INDEX: item.index},
            )
            output, item.attempts = await call_with_retries(
                plan,
                config,
                lambda attempt: NodeContext(
                    self.run_id,
                    plan.node_id,
                    attempt,
                    self.params,
                    self.resources,
                    plan.spec.dependencies,
                    self.outputs,
                    self.node_log,
                    item.index,
                ),
                lambda attempt: _set_attempts(item, attempt),
                partial(self._retrying, item),
                self.clock,
                self.limits,
                self.session,
                resolved,
                self.mask,
            )
            item.output = self.mask.value(output)
            item.state = NodeState.SUCCEEDED
        except NodeFailure as failure:
            item.state, item.error = NodeState.FAILED, self.mask.text(str(failure))
        except asyncio.CancelledError:
            item.state, item.error = NodeState.CANCELLED, "cancelled"
            self._finished(item, progress)
            raise
        except Exception as exc:  # a bug in our own code: fail the item, keep the map going
            log_raised(log, f"node '{plan.node_id}' item {item.index} failed", exc, self.mask)
            item.state = NodeState.FAILED
            item.error = self.mask.text(f"internal error: {type(exc).__name__}: {exc}")
        self._finished(item, progress)

    def _retrying(self, item: ItemResult, attempt: int, message: str, delay: float) -> None:
        """An item's retries are counted in its attempts; NodeRetrying is for nodes."""
        log.debug(
            "node '%s' item %d: attempt %d failed (%s); retrying in %.2f s",
            self.plan.node_id, item.index, attempt, self.mask.text(message), delay,
        )  # fmt: skip

    def _finished(self, item: ItemResult, progress: _Progress) -> None:
        item.finished_at = now()
        progress.done += 1
        if item.state is NodeState.FAILED:
            progress.failed += 1
            if progress.first_failure is None:
                progress.first_failure = item
        if self.recorder is not None:
            self.recorder.item_finished(self.run_id, self.plan.node_id, item)
        self.emit(
            ItemFinished(
                self.run_id, self.plan.node_id, item, progress.done, progress.failed, progress.total
            )
        )

    def _skip_unstarted(self, items: list[ItemResult]) -> None:
        """A cancelled map: items that never started are SKIPPED, as a run's unstarted nodes."""
        at = now()
        for item in items:
            if item.state is NodeState.PENDING:
                item.state, item.error, item.finished_at = NodeState.SKIPPED, "run cancelled", at
                if self.recorder is not None:
                    self.recorder.item_finished(self.run_id, self.plan.node_id, item)

    def _outcome(self, items: list[ItemResult], progress: _Progress) -> list[Any]:
        if progress.failed and self.plan.spec.on_item_failure != "skip":
            raise NodeFailure(failure_message(items, progress.first_failure), retryable=False)
        outputs = [item.output for item in items]
        check_json(outputs, self.limits.max_value_bytes)  # the list is the node's output
        return outputs


def failure_message(items: list[ItemResult], first: ItemResult | None) -> str:
    """`items 3, 17 failed (2 of 100); item 3: <its error>`."""
    failed = [item.index for item in items if item.state is not NodeState.SUCCEEDED]
    shown = ", ".join(str(index) for index in failed[:SHOWN_INDICES])
    if len(failed) > SHOWN_INDICES:
        shown += ", …"
    noun = "item" if len(failed) == 1 else "items"
    message = f"{noun} {shown} failed ({len(failed):,} of {len(items):,})"
    if first is not None and first.error:
        message += f"; item {first.index}: {first.error}"
    return message


def _set_attempts(item: ItemResult, attempt: int) -> None:
    item.attempts = attempt


def _kind(value: Any) -> str:
    """How a value that is not a list reads in an error: its JSON kind."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


@dataclass(slots=True)
class _Progress:
    total: int
    done: int
    """Final items, failed ones included (kept items of a resume count from the start)."""
    failed: int = 0
    first_failure: ItemResult | None = None


class _Slices:
    """Shares the event loop fairly: once the map's workers have kept it for SLICE_S, each
    worker that finishes an item waits for the loop's next round, so other nodes, the store's
    writes and the editor get their turn between two slices."""

    __slots__ = ("_end", "_loop", "_resume")

    def __init__(self) -> None:
        self._end = time.perf_counter() + SLICE_S
        self._resume: asyncio.Future[None] | None = None
        self._loop = asyncio.get_running_loop()
        """Taken once, where the map starts: under qasync a later task step may not find the
        running loop through asyncio."""

    def spent(self) -> bool:
        return time.perf_counter() > self._end

    async def hand_back(self) -> None:
        if self._resume is None:
            self._resume = self._loop.create_future()
            self._loop.call_soon(self._next_slice)  # runs in the loop's next round, after I/O
        await asyncio.shield(self._resume)  # one waiter cancelled does not cancel the others

    def _next_slice(self) -> None:
        resume, self._resume = self._resume, None
        self._end = time.perf_counter() + SLICE_S
        if resume is not None and not resume.done():
            resume.set_result(None)
