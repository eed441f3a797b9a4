"""Running the open workflow from the editor: start, cancel and resume through the run service
(recorded in the local store like a CLI run), with engine events painted on the canvas in
coalesced batches.

The engine runs on the qasync loop in this thread; its events land in a RunBoard, and a
short single-shot timer repaints only the nodes that changed since the last paint.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
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
from flowdesk.engine.trigger_rules import CONDITION_FALSE
from flowdesk.gui.canvas import CanvasView
from flowdesk.gui.run_state import RunBoard
from flowdesk.model import WorkflowDefinition, dump_workflow
from flowdesk.runs import RunHandle, RunService
from flowdesk.store import StoredRun, StoreError

log = logging.getLogger(__name__)
PAINT_DELAY_MS = 30  # events within this window share one repaint
PAINT_CHUNK = 150  # nodes restyled per pass: re-rendering 1,000 nodes at once froze ~140 ms


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
        self.paint(all_at_once=True)

    def clear(self) -> None:
        if self.active:
            return
        self.board.clear()
        self.shown_definition = None
        self.paint(all_at_once=True)

    def _on_event(self, event: RunEvent) -> None:
        self.board(event)
        if isinstance(event, RunStarted):
            self.running.emit(event.run_id)
        if isinstance(event, RunFinished):
            self.paint()
        elif not self._paint_timer.isActive():
            self._paint_timer.start()

    def paint(self, *, all_at_once: bool = False) -> None:
        """Repaint what changed since the last paint (everything after a clear), at most
        PAINT_CHUNK nodes per pass so Qt renders in between; the rest follow at once."""
        self._paint_timer.stop()
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
        self.board_changed.emit()

    @property
    def painting(self) -> bool:
        """True while some nodes still wait to be restyled (a burst is painted in chunks)."""
        return bool(self._backlog) or self._paint_timer.isActive()

    def badge(self, node_id: str) -> tuple[NodeState | None, str]:
        node = self.board.nodes.get(node_id)
        if node is None:
            return None, ""
        state = node.state
        if node_id in self.board.retrying:
            return state, f"retry after {node.attempts}"
        if node.reused and state is NodeState.SUCCEEDED:
            return state, "reused"
        if state is NodeState.SKIPPED and node.error == CONDITION_FALSE:
            return state, CONDITION_FALSE
        if node.attempts > 1:
            return state, f"attempt {node.attempts}"
        return state, ""

    def snapshot_differs(self, current: WorkflowDefinition) -> bool:
        """True when the run on show ran a definition other than `current`."""
        if self.shown_definition is None:
            return False
        strip = {"include_layout": False}
        return dump_workflow(self.shown_definition, **strip) != dump_workflow(current, **strip)
