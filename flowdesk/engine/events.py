"""The run's event stream. Listeners are plain callables, called in order on the loop's thread.

The GUI paints from these events and the CLI prints them, so each is small,
immutable and delivered the moment the engine knows it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flowdesk.engine.results import ItemResult, NodeResult, RunResult
from flowdesk.engine.states import NodeState, RunState

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RunStarted:
    run_id: str
    workflow: str
    params: dict[str, Any]
    node_ids: tuple[str, ...]
    at: datetime
    resumed_node_ids: tuple[str, ...] = ()
    """Nodes the reuse plan keeps (REUSED from the start, engine/reuse.py); they do not run."""


@dataclass(frozen=True, slots=True)
class NodeStarted:
    run_id: str
    node_id: str
    attempt: int
    at: datetime


@dataclass(frozen=True, slots=True)
class NodeRetrying:
    run_id: str
    node_id: str
    attempt: int
    """The attempt that just failed; the next one is attempt + 1."""
    error: str
    delay_s: float
    at: datetime


@dataclass(frozen=True, slots=True)
class NodeFinished:
    run_id: str
    node_id: str
    state: NodeState
    result: NodeResult

    @property
    def attempts(self) -> int:
        return self.result.attempts

    @property
    def output(self) -> Any:
        return self.result.output

    @property
    def error(self) -> str | None:
        return self.result.error

    @property
    def duration_s(self) -> float | None:
        return self.result.duration_s


@dataclass(frozen=True, slots=True)
class MapStarted:
    """A node with `map_over` has its list, checked: `total` items, none run yet."""

    run_id: str
    node_id: str
    total: int
    at: datetime


@dataclass(frozen=True, slots=True)
class ItemFinished:
    """One item of a mapped node is final. `done` counts the node's final items, failed ones
    included; `failed` those that FAILED (a cancelled item is not counted there)."""

    run_id: str
    node_id: str
    item: ItemResult
    done: int
    failed: int
    total: int


@dataclass(frozen=True, slots=True)
class RunFinished:
    run_id: str
    state: RunState
    result: RunResult
    at: datetime


RunEvent = (
    RunStarted | NodeStarted | NodeRetrying | NodeFinished | MapStarted | ItemFinished | RunFinished
)
Listener = Callable[[RunEvent], None]


class EventStream:
    """Fan-out of events to listeners; a failing listener is logged and never stops the run."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def emit(self, event: RunEvent) -> None:
        for listener in tuple(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("event listener %r failed on %s", listener, type(event).__name__)
