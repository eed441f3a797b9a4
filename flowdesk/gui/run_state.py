"""What the editor shows about a run, fed by engine events and read by the canvas in batches.

Qt-free: the engine's events arrive here one by one, and the canvas asks for
the nodes that changed since it last painted (`take_dirty`), so a burst of
1,000 events costs one repaint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flowdesk.engine.events import (
    NodeFinished,
    NodeRetrying,
    NodeStarted,
    RunEvent,
    RunFinished,
    RunStarted,
)
from flowdesk.engine.results import NodeResult, RunResult
from flowdesk.engine.states import NodeState, RunState


@dataclass(frozen=True)
class LogEntry:
    at: datetime
    text: str
    node_id: str | None = None


@dataclass
class RunBoard:
    """Node states of the run on show (live or from history), and its event log."""

    run_id: str | None = None
    state: RunState | None = None
    nodes: dict[str, NodeResult] = field(default_factory=dict)
    retrying: set[str] = field(default_factory=set)
    log: list[LogEntry] = field(default_factory=list)
    result: RunResult | None = None
    _dirty: set[str] = field(default_factory=set)
    _all_dirty: bool = False

    def clear(self) -> None:
        self.run_id, self.state, self.result = None, None, None
        self.nodes = {}
        self.retrying.clear()
        self.log.clear()
        self._all_dirty = True

    def show_result(self, result: RunResult) -> None:
        """Show a finished (or stored) run as it ended."""
        self.clear()
        self.run_id, self.state, self.result = result.run_id, result.state, result
        self.nodes = dict(result.nodes)

    def __call__(self, event: RunEvent) -> None:
        """The engine listener: apply one event."""
        match event:
            case RunStarted():
                self.clear()
                self.run_id, self.state = event.run_id, RunState.RUNNING
                self.nodes = {node_id: NodeResult(node_id) for node_id in event.node_ids}
                reused = (
                    f", reusing {len(event.resumed_node_ids)} earlier results"
                    if event.resumed_node_ids
                    else ""
                )
                self._log(
                    event.at, f"run {event.run_id[:8]} started: {len(event.node_ids)} nodes{reused}"
                )
            case NodeStarted():
                node = self.nodes.setdefault(event.node_id, NodeResult(event.node_id))
                node.state, node.attempts = NodeState.RUNNING, event.attempt
                node.started_at = node.started_at or event.at
                self.retrying.discard(event.node_id)
                attempt = f" (attempt {event.attempt})" if event.attempt > 1 else ""
                self._log(event.at, f"{event.node_id} started{attempt}", event.node_id)
            case NodeRetrying():
                self.retrying.add(event.node_id)
                self._log(
                    event.at,
                    f"{event.node_id} attempt {event.attempt} failed, retrying in "
                    f"{event.delay_s:.2f} s: {event.error}",
                    event.node_id,
                )
            case NodeFinished():
                self.nodes[event.node_id] = event.result
                self.retrying.discard(event.node_id)
                detail = (
                    f": {event.error}"
                    if event.error and event.state is not NodeState.SUCCEEDED
                    else ""
                )
                when = event.result.finished_at or datetime.now().astimezone()
                self._log(when, f"{event.node_id} {event.state.value}{detail}", event.node_id)
            case RunFinished():
                self.state, self.result = event.state, event.result
                took = (
                    f" in {event.result.duration_s:.2f} s"
                    if event.result.duration_s is not None
                    else ""
                )
                self._log(event.at, f"run {event.run_id[:8]} {event.state.value}{took}")

    def _log(self, at: datetime, text: str, node_id: str | None = None) -> None:
        self.log.append(LogEntry(at, text, node_id))
        if node_id is not None:
            self._dirty.add(node_id)

    def state_of(self, node_id: str) -> NodeState | None:
        node = self.nodes.get(node_id)
        return node.state if node else None

    def take_dirty(self) -> tuple[set[str], bool]:
        """(node ids changed since the last call, whether everything must be repainted)."""
        dirty, everything = self._dirty, self._all_dirty
        self._dirty, self._all_dirty = set(), False
        return dirty, everything

    @property
    def active(self) -> bool:
        return self.state in (RunState.PENDING, RunState.RUNNING)
