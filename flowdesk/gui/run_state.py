"""What the editor shows about a run, fed by engine events and read by the canvas in batches.

Qt-free: the engine's events arrive here one by one, and the canvas asks for
the nodes that changed since it last painted (`take_dirty`), so a burst of
1,000 events costs one repaint. A run from the history has no events: its log
is rebuilt from the stored node states and times, in the same words. A mapped node's items
(`map_over`) are counted in `progress` and kept in its NodeResult's item list, but are not
logged one by one: a 10,000-item map writes two lines, not 10,000.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flowdesk.engine import (
    NodeFinished,
    NodeResult,
    NodeRetrying,
    NodeStarted,
    NodeState,
    RunEvent,
    RunFinished,
    RunResult,
    RunStarted,
    RunState,
)
from flowdesk.engine.events import ItemFinished, MapStarted
from flowdesk.engine.results import ItemResult
from flowdesk.engine.reuse import reuse_note
from flowdesk.gui.map_progress import MapProgress, progress_text


@dataclass(frozen=True)
class LogEntry:
    at: datetime
    text: str
    node_id: str | None = None


def run_started_text(run_id: str, node_count: int, reused: int) -> str:
    also = f", reusing {reused} earlier results" if reused else ""
    return f"run {run_id[:8]} started: {node_count} nodes{also}"


def node_started_text(node_id: str, attempt: int) -> str:
    return f"{node_id} started" + (f" (attempt {attempt})" if attempt > 1 else "")


def node_finished_text(
    node_id: str, state: NodeState, error: str | None, *, attempts: int = 0, note: str = ""
) -> str:
    """`attempts` is given for a stored run only: its retry lines were never recorded. `note`
    says where a REUSED node's output came from."""
    after = f" after {attempts} attempts" if attempts > 1 else ""
    detail = f": {error}" if error and not state.succeeded else ""
    # ": cached (from run …)", not "(cached (from run …))"
    return f"{node_id} {state.value}{after}{detail}" + (f": {note}" if note else "")


def reused_text(node: NodeResult, run_id: str | None) -> str:
    """The run log's and the inspector's note for a REUSED node; empty for any other."""
    if node.state is not NodeState.REUSED:
        return ""
    return reuse_note(node, run_id, id_length=8)


def run_finished_text(run_id: str, state: RunState, duration_s: float | None) -> str:
    took = f" in {duration_s:.2f} s" if duration_s is not None else ""
    return f"run {run_id[:8]} {state.value}{took}"


def stored_log(result: RunResult) -> list[LogEntry]:
    """The log of a stored run, from each node's times and state, oldest first.

    Nodes that never started (and a run still going) have no line for what did not happen.
    """
    entries: list[LogEntry] = []
    if result.started_at is not None:
        reused = sum(1 for node in result.nodes.values() if node.state is NodeState.REUSED)
        text = run_started_text(result.run_id, len(result.nodes), reused)
        entries.append(LogEntry(result.started_at, text))
    for node in result.nodes.values():
        if node.started_at is not None:
            entries.append(
                LogEntry(node.started_at, node_started_text(node.node_id, 1), node.node_id)
            )
        if node.finished_at is not None and node.state.is_final:
            text = node_finished_text(
                node.node_id,
                node.state,
                node.error,
                attempts=node.attempts,
                note=reused_text(node, result.run_id),
            )
            entries.append(LogEntry(node.finished_at, text, node.node_id))
    if result.finished_at is not None and result.state.is_final:
        text = run_finished_text(result.run_id, result.state, result.duration_s)
        entries.append(LogEntry(result.finished_at, text))
    # Stable: at equal times a start stays before its finish and the run's end stays last.
    # timestamp() orders naive (local) and aware times alike instead of raising.
    return sorted(entries, key=lambda entry: entry.at.timestamp())


@dataclass
class RunBoard:
    """Node states of the run on show (live or from history), and its event log."""

    run_id: str | None = None
    state: RunState | None = None
    nodes: dict[str, NodeResult] = field(default_factory=dict)
    retrying: set[str] = field(default_factory=set)
    log: list[LogEntry] = field(default_factory=list)
    result: RunResult | None = None
    progress: dict[str, MapProgress] = field(default_factory=dict)
    """Mapped nodes (`map_over`) of the run on show: how many items are final, how many
    failed (a stored run's are set from the store's counts by the run controller)."""
    generation: int = 0
    """Changes whenever the board starts showing another run (or the same one afresh): a view
    of `log` starts over when it changes, whatever the lengths of the old and new logs."""
    _dirty: set[str] = field(default_factory=set)
    _all_dirty: bool = False

    def clear(self) -> None:
        self.run_id, self.state, self.result = None, None, None
        self.nodes = {}
        self.progress = {}
        self.retrying.clear()
        self.log = []
        self.generation += 1
        self._all_dirty = True

    def show_result(self, result: RunResult) -> None:
        """Show a finished (or stored) run as it ended, with its log rebuilt from its times."""
        self.clear()
        self.run_id, self.state, self.result = result.run_id, result.state, result
        self.nodes = dict(result.nodes)
        self.log = stored_log(result)
        for node_id, node in self.nodes.items():
            if node.items is not None:
                self.progress[node_id] = MapProgress.of_items(node.items)

    def __call__(self, event: RunEvent) -> None:
        """The engine listener: apply one event."""
        match event:
            case RunStarted():
                self.clear()
                self.run_id, self.state = event.run_id, RunState.RUNNING
                self.nodes = {node_id: NodeResult(node_id) for node_id in event.node_ids}
                text = run_started_text(
                    event.run_id, len(event.node_ids), len(event.resumed_node_ids)
                )
                self._log(event.at, text)
            case NodeStarted():
                node = self.nodes.setdefault(event.node_id, NodeResult(event.node_id))
                node.state, node.attempts = NodeState.RUNNING, event.attempt
                node.started_at = node.started_at or event.at
                self.retrying.discard(event.node_id)
                self._log(event.at, node_started_text(event.node_id, event.attempt), event.node_id)
            case NodeRetrying():
                self.retrying.add(event.node_id)
                self._log(
                    event.at,
                    f"{event.node_id} attempt {event.attempt} failed, retrying in "
                    f"{event.delay_s:.2f} s: {event.error}",
                    event.node_id,
                )
            case MapStarted():
                node = self.nodes.setdefault(event.node_id, NodeResult(event.node_id))
                node.items = [ItemResult(index) for index in range(event.total)]
                self.progress[event.node_id] = MapProgress(event.total)
                text = f"{event.node_id} maps over {event.total:,} item" + (
                    "" if event.total == 1 else "s"
                )
                self._log(event.at, text, event.node_id)
            case ItemFinished():
                self._item_finished(event)
            case NodeFinished():
                self.nodes[event.node_id] = event.result
                self.retrying.discard(event.node_id)
                if event.result.items is not None:
                    self.progress[event.node_id] = MapProgress.of_items(event.result.items)
                when = event.result.finished_at or datetime.now().astimezone()
                text = node_finished_text(
                    event.node_id,
                    event.state,
                    event.error,
                    note=reused_text(event.result, event.run_id),
                )
                progress = self.progress.get(event.node_id)
                if progress is not None and progress.failed and event.state.succeeded:
                    # on_item_failure "skip": the failed items are null in the output
                    failed = progress_text(progress, event.state)
                    text += f" ({failed}; failed items are null in the output)"
                self._log(when, text, event.node_id)
            case RunFinished():
                self.state, self.result = event.state, event.result
                text = run_finished_text(event.run_id, event.state, event.result.duration_s)
                self._log(event.at, text)

    def _item_finished(self, event: ItemFinished) -> None:
        """Count the item and keep it in the node's list; no log line (there may be 10,000)."""
        before = self.progress.get(event.node_id)
        cancelled = before.cancelled if before is not None else 0
        cancelled += int(event.item.state is NodeState.CANCELLED)
        self.progress[event.node_id] = MapProgress(event.total, event.done, event.failed, cancelled)
        node = self.nodes.get(event.node_id)
        items = node.items if node is not None else None
        if items is not None and 0 <= event.item.index < len(items):
            items[event.item.index] = event.item
        self._dirty.add(event.node_id)

    def _log(self, at: datetime, text: str, node_id: str | None = None) -> None:
        self.log.append(LogEntry(at, text, node_id))
        if node_id is not None:
            self._dirty.add(node_id)

    def take_dirty(self) -> tuple[set[str], bool]:
        """(node ids changed since the last call, whether everything must be repainted)."""
        dirty, everything = self._dirty, self._all_dirty
        self._dirty, self._all_dirty = set(), False
        return dirty, everything
