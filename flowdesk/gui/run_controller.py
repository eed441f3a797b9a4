"""Running the open workflow from the editor: start, cancel and resume through the run service
(recorded in the local store like a CLI run), with engine events painted on the canvas in
coalesced batches.

The engine runs on the qasync loop in this thread; its events land in a RunBoard, and a
short single-shot timer repaints only the nodes that changed since the last paint. The items
of a mapped node finish by the thousand: they wait for a slower timer (PROGRESS_DELAY_MS), so
a 10,000-item map repaints its badge about ten times a second, not 10,000 times.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from flowdesk.engine import (
    InvalidWorkflowError,
    NodeState,
    RunEvent,
    RunFinished,
    RunResult,
    RunStarted,
)
from flowdesk.engine.events import ItemFinished, MapStarted, NodeFinished
from flowdesk.engine.trigger_rules import CONDITION_FALSE
from flowdesk.gui.canvas import CanvasView, MapBadge
from flowdesk.gui.item_list import ItemSource, LiveItems, StoredItems
from flowdesk.gui.map_progress import MapProgress, progress_text
from flowdesk.gui.run_state import RunBoard
from flowdesk.model import WorkflowDefinition, dump_workflow
from flowdesk.runs import RunHandle, RunService
from flowdesk.store import StoredRun, StoreError

log = logging.getLogger(__name__)
PAINT_DELAY_MS = 30  # events within this window share one repaint
PAINT_CHUNK = 150  # nodes restyled per pass: re-rendering 1,000 nodes at once froze ~140 ms
PROGRESS_DELAY_MS = 100  # finished items of mapped nodes share one repaint per this window


class RunController(QObject):
    """Owns the run on show: at most one live run per window."""

    started = Signal(str)  # run id
    running = Signal(str)  # run id: the store now says RUNNING (the run claimed it)
    finished = Signal(object)  # RunResult
    board_changed = Signal()  # after each coalesced repaint

    def __init__(
        self,
        canvas: CanvasView,
        service: RunService,
        message: Callable[[str], None],
    ) -> None:
        super().__init__(canvas)
        self.canvas = canvas
        self.service = service
        self.message = message
        self.board = RunBoard()
        self.handle: RunHandle | None = None
        self.task: asyncio.Task[RunResult | None] | None = None
        self.shown_definition: WorkflowDefinition | None = None
        self._active = False
        self._backlog: set[str] = set()
        self._paint_timer = QTimer(self)
        self._paint_timer.setSingleShot(True)
        self._paint_timer.setInterval(PAINT_DELAY_MS)
        self._paint_timer.timeout.connect(self.paint)
        self._progress_timer = QTimer(self)
        self._progress_timer.setSingleShot(True)
        self._progress_timer.setInterval(PROGRESS_DELAY_MS)
        self._progress_timer.timeout.connect(self.paint)

    @property
    def active(self) -> bool:
        """From launch until `finished` is emitted (the task itself ends just after)."""
        return self._active

    # -- starting ---------------------------------------------------------------------------

    def start(self, definition: WorkflowDefinition, params: dict[str, Any]) -> str | None:
        """Start a new run; the run id, or None (with a message) when it cannot start."""
        return self._launch(lambda: self.service.start(definition, params))

    def resume(self, run_id: str, definition: WorkflowDefinition | None = None) -> str | None:
        """Run again the nodes of `run_id` that did not succeed: with its own definition, or
        with `definition` (the document), keeping only the nodes it leaves unchanged."""
        return self._launch(lambda: self.service.resume(run_id, definition=definition))

    def start_from(self, definition: WorkflowDefinition, node_id: str) -> str | None:
        """Run from here: run `node_id` and everything downstream, reusing every other node's
        stored output; the run id, or None (with a message) when it cannot start. A refusal
        (RunFromRefused) is raised for the caller to show."""
        return self._launch(lambda: self.service.start_from(definition, node_id))

    def _launch(self, make: Callable[[], RunHandle | StoredRun]) -> str | None:
        if self.active:
            self.message("A run is already active: cancel it first")
            return None
        try:
            handle = make()
        except InvalidWorkflowError as exc:
            self.message(f"Cannot run: {len(exc.problems)} problem(s): {exc.problems[0]}")
            return None
        except (StoreError, ValueError) as exc:
            self.message(f"Cannot run: {exc}")
            return None
        assert isinstance(handle, RunHandle)  # no idempotency key: always a new handle
        self.handle = handle
        self._active = True
        self.shown_definition = handle.definition
        handle.subscribe(self._on_event)
        self.task = asyncio.ensure_future(self._execute(handle))
        self.started.emit(handle.run_id)
        return handle.run_id

    async def _execute(self, handle: RunHandle) -> RunResult | None:
        try:
            return await handle.execute()
        except Exception as exc:  # the engine reports node failures itself; this is a bug
            log.exception("run %s failed unexpectedly", handle.run_id)
            self.message(f"The run stopped unexpectedly: {type(exc).__name__}: {exc}")
            return None
        finally:
            self._active = False
            self.paint()
            self.finished.emit(handle.result)

    def cancel(self) -> bool:
        if not self.active or self.handle is None:
            return False
        self.handle.cancel()
        self.message("Cancelling the run…")
        return True

    # -- showing ----------------------------------------------------------------------------

    def show_stored(self, stored: StoredRun) -> None:
        """Paint a past run's states (its definition snapshot may differ from the document)."""
        if self.active:
            return
        self.shown_definition = stored.definition
        self.board.show_result(stored.result)
        self._count_stored_items(stored)
        self.paint(all_at_once=True)

    def _count_stored_items(self, stored: StoredRun) -> None:
        """A stored run's nodes have no items in memory: their badges come from the store's
        counts (one query per mapped node that started or was REUSED)."""
        for spec in stored.definition.nodes:
            node = self.board.nodes.get(spec.id)
            if spec.map_over is None or node is None:
                continue
            if node.started_at is not None or node.state is NodeState.REUSED:
                self._count_items(stored.result.run_id, spec.id)

    def _count_items(self, run_id: str, node_id: str) -> None:
        """The badge of a mapped node whose items are only in the store (a stored run's, or a
        REUSED node's: the store copied them from the run it took them from)."""
        definition = self.shown_definition
        if definition is None or not any(n.id == node_id and n.map_over for n in definition.nodes):
            return
        try:
            counts = self.service.item_counts(run_id, node_id)
        except StoreError as exc:
            log.warning("item counts of %s unavailable: %s", node_id, exc)
            return
        if counts:
            self.board.progress[node_id] = MapProgress.of_counts(counts)

    def clear(self) -> None:
        if self.active:
            return
        self.board.clear()
        self.shown_definition = None
        self.paint(all_at_once=True)

    def _on_event(self, event: RunEvent) -> None:
        self.board(event)
        if isinstance(event, MapStarted):
            self._follow_live_items(event.node_id)
        if isinstance(event, NodeFinished) and event.state is NodeState.REUSED:
            self._count_items(event.run_id, event.node_id)  # its items are in the store now
        if isinstance(event, RunStarted):
            self.running.emit(event.run_id)
        if isinstance(event, RunFinished):
            self.paint()
        elif isinstance(event, ItemFinished):
            if not self._paint_timer.isActive() and not self._progress_timer.isActive():
                self._progress_timer.start()
        elif not self._paint_timer.isActive():
            self._paint_timer.start()

    def _follow_live_items(self, node_id: str) -> None:
        """Show the run's own item list, which says which items are RUNNING now (the board's
        copy learns of an item only once it is final)."""
        live = self.handle.result.nodes.get(node_id) if self.handle is not None else None
        shown = self.board.nodes.get(node_id)
        if live is not None and live.items is not None and shown is not None:
            shown.items = live.items

    def paint(self, *, all_at_once: bool = False) -> None:
        """Repaint what changed since the last paint (everything after a clear), at most
        PAINT_CHUNK nodes per pass so Qt renders in between; the rest follow at once."""
        self._paint_timer.stop()
        self._progress_timer.stop()
        dirty, everything = self.board.take_dirty()
        if everything:
            dirty = set(self.canvas.nodes) | set(self.board.nodes)
        self._backlog |= dirty
        if all_at_once or len(self._backlog) <= PAINT_CHUNK:
            batch, self._backlog = self._backlog, set()
        else:
            batch = set(list(self._backlog)[:PAINT_CHUNK])
            self._backlog -= batch
            QTimer.singleShot(0, self.paint)
        self.canvas.paint_run_states({node_id: self.badge(node_id) for node_id in batch})
        self.canvas.paint_map_progress({node_id: self.map_badge(node_id) for node_id in batch})
        self.board_changed.emit()

    def repaint(self, node_ids: Iterable[str]) -> None:
        """Paint the run on show on nodes the canvas has just (re)created, such as one that
        Ctrl+Z restored: a new node item starts with no run state."""
        shown = [node_id for node_id in node_ids if node_id in self.board.nodes]
        if shown:
            self.canvas.paint_run_states({node_id: self.badge(node_id) for node_id in shown})
            self.canvas.paint_map_progress({node_id: self.map_badge(node_id) for node_id in shown})

    @property
    def painting(self) -> bool:
        """True while some nodes still wait to be restyled (a burst is painted in chunks)."""
        return (
            bool(self._backlog) or self._paint_timer.isActive() or self._progress_timer.isActive()
        )

    def map_badge(self, node_id: str) -> MapBadge | None:
        """A mapped node's progress: its text and the shares of items succeeded and failed."""
        progress = self.board.progress.get(node_id)
        node = self.board.nodes.get(node_id)
        if progress is None or node is None:
            return None
        total = progress.total or 1
        text = progress_text(progress, node.state)
        return text, progress.succeeded / total, progress.failed / total

    def badge(self, node_id: str) -> tuple[NodeState | None, str]:
        node = self.board.nodes.get(node_id)
        if node is None:
            return None, ""
        state = node.state
        if node_id in self.board.retrying:
            return state, f"retry after {node.attempts}"
        if state is NodeState.REUSED:  # where the output came from, in a word or an id
            if node.cached:
                return state, "cached"
            if node.reused_from and node.reused_from != self.board.run_id:
                return state, f"from {node.reused_from[:8]}"
            return state, "this run"  # kept by a resume
        if state is NodeState.SKIPPED and node.error == CONDITION_FALSE:
            return state, CONDITION_FALSE
        if node.attempts > 1:
            return state, f"attempt {node.attempts}"
        return state, ""

    def item_source(self, node_id: str) -> ItemSource | None:
        """Where the inspector reads a mapped node's items: the run's own list while it runs
        here (and after), else the store, a page at a time (a run opened from the history)."""
        board, node = self.board, self.board.nodes.get(node_id)
        if board.run_id is None or node is None:
            return None
        if node.items is not None:
            return LiveItems(
                (board.run_id, node_id, "live"),
                lambda: getattr(board.nodes.get(node_id), "items", None),
            )
        reused = node.state is NodeState.REUSED  # its items were copied when it was recorded
        if not reused and (self.active or node.started_at is None):
            return None
        if self.shown_definition is None:
            return None
        if not any(n.id == node_id and n.map_over for n in self.shown_definition.nodes):
            return None
        return StoredItems(self.service, board.run_id, node_id)

    def snapshot_differs(self, current: WorkflowDefinition) -> bool:
        """True when the run on show ran a definition other than `current`."""
        if self.shown_definition is None:
            return False
        strip = {"include_layout": False}
        return dump_workflow(self.shown_definition, **strip) != dump_workflow(current, **strip)
