"""The editor's compare mode: *Compare* two runs picked in the history, or *Compare with
current workflow* for one, painted on the canvas and detailed in the compare view, until *Close
compare* (Esc), a run starts, or another single run is picked.

Runs are loaded through the run service and compared by `flowdesk.runs.compare` (through
`compare_state`), exactly as `flowdesk runs diff` compares them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from flowdesk.gui import theme
from flowdesk.gui.canvas import CanvasView, CompareMark
from flowdesk.gui.compare_state import (
    MARK_LABELS,
    QUIET_MARKS,
    Compared,
    DefinitionCompared,
    RunsCompared,
)
from flowdesk.gui.compare_view import CompareView
from flowdesk.gui.document import WorkflowDocument
from flowdesk.gui.run_controller import RunController
from flowdesk.gui.run_panel import RunPanel
from flowdesk.runs import RunService
from flowdesk.store import StoredRun, StoreError

log = logging.getLogger(__name__)
CURRENT_SUMMARY = "Compared with the current workflow: {}"


class CompareCommands(QObject):
    """Owns compare mode: at most one comparison on show per window."""

    def __init__(
        self,
        parent: QWidget,
        *,
        panel: RunPanel,
        canvas: CanvasView,
        controller: RunController,
        service: RunService,
        document: WorkflowDocument,
        message: Callable[[str], None],
        shown_message: Callable[[], str] = lambda: "",
    ) -> None:
        """`shown_message` is what the status bar shows now: a compare summary still there
        follows the comparison, and goes when compare mode ends."""
        super().__init__(parent)
        self.panel = panel
        self.canvas = canvas
        self.controller = controller
        self.service = service
        self.document = document
        self.message = message
        self.shown_message = shown_message
        self._said = ""  # the last summary this put in the status bar
        self.compare_view = CompareView()
        self.compared: Compared | None = None
        self.ignore: tuple[str, ...] = ()
        self.pending: asyncio.Task[RunsCompared | None] | None = None
        self._ticket = 0  # which comparison of runs may still show when it is done
        self.act_compare = QAction("Compare runs", parent)
        self.act_compare.setStatusTip("Compare the two runs selected in the history")
        self.act_compare_current = QAction("Compare with current workflow", parent)
        self.act_compare_current.setStatusTip(
            "Show the nodes added, removed or changed since the selected run"
        )
        self.act_close = QAction("Close compare", parent)
        # Esc also cancels a run; the two are never enabled together (no compare during a run).
        self.act_close.setShortcut(QKeySequence("Esc"))
        self.act_close.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        parent.addAction(self.act_close)
        for action in (self.act_compare, self.act_compare_current):
            panel.history.addAction(action)  # the history's right-click menu
        self._wire_signals()
        self._sync_actions()

    def _wire_signals(self) -> None:
        self.act_compare.triggered.connect(lambda _checked=False: self.compare_selected())
        self.act_compare_current.triggered.connect(
            lambda _checked=False: self.compare_with_current()
        )
        self.act_close.triggered.connect(lambda _checked=False: self.close())
        self.panel.compare_button.clicked.connect(lambda _checked=False: self.compare_selected())
        self.panel.compare_current_button.clicked.connect(
            lambda _checked=False: self.compare_with_current()
        )
        self.panel.history.itemSelectionChanged.connect(self._sync_actions)
        self.panel.history_selected.connect(lambda _run_id: self.close())
        self.controller.started.connect(self._run_started)
        self.controller.finished.connect(lambda _result: self._sync_actions())
        self.compare_view.close_requested.connect(self.close)
        self.compare_view.ignore_changed.connect(self.set_ignore)
        self.compare_view.node_chosen.connect(self.choose_node)
        self.canvas.selection_changed.connect(self._on_canvas_selection)
        self.document.changed.connect(self._on_document_changed)

    @property
    def comparing(self) -> bool:
        return self.compared is not None

    # -- commands ----------------------------------------------------------------------------

    def compare_selected(self) -> asyncio.Task[RunsCompared | None] | None:
        """Compare the two runs selected in the history: A the older, B the newer.

        The comparing runs off the GUI thread (deepdiff takes seconds over two outputs of
        10,000 items) and shows when done; the task gives the comparison, or None when it
        was superseded (closed, a run started, compared again) before it was done.
        """
        run_ids = self.panel.selected_run_ids()
        if len(run_ids) != 2:
            self.message("Select two runs in the history to compare (Ctrl+click the second)")
            return None
        if not self._allowed():
            return None
        try:
            first, second = (self.service.load(run_id) for run_id in run_ids)
        except StoreError as exc:
            self.message(f"Cannot compare: {exc}")
            return None
        return self._compare_runs(first, second)

    def _compare_runs(
        self, first: StoredRun, second: StoredRun
    ) -> asyncio.Task[RunsCompared | None]:
        self._ticket += 1
        self._say("Comparing runs…")
        self.pending = asyncio.ensure_future(
            self._compare_off_thread(self._ticket, first, second, self.ignore)
        )
        return self.pending

    async def _compare_off_thread(
        self, ticket: int, first: StoredRun, second: StoredRun, ignore: tuple[str, ...]
    ) -> RunsCompared | None:
        try:
            compared = await asyncio.to_thread(RunsCompared.of, first, second, ignore)
        except Exception as exc:  # a bug in comparing must not take the editor down
            log.exception("comparing runs %s and %s failed", first.run_id, second.run_id)
            self.message(f"Cannot compare: {type(exc).__name__}: {exc}")
            return None
        if ticket != self._ticket:
            return None
        self._show(compared)
        self._say(f"Comparing runs: {compared.summary()}")
        return compared

    def compare_with_current(self) -> DefinitionCompared | None:
        """Compare the selected run's workflow with the document as it is now."""
        run_id = self.panel.selected_run_id()
        if run_id is None:
            self.message("Select one run in the history to compare with the current workflow")
            return None
        if not self._allowed():
            return None
        try:
            stored = self.service.load(run_id)
        except StoreError as exc:
            self.message(f"Cannot compare: {exc}")
            return None
        compared = DefinitionCompared.of(stored, self.document.definition)
        self._ticket += 1  # a comparison of runs still being made is dropped
        self._show(compared)
        self._say(CURRENT_SUMMARY.format(compared.summary()))
        return compared

    def set_ignore(self, patterns: Sequence[str]) -> asyncio.Task[RunsCompared | None] | None:
        """Output paths whose differences do not count (kept for later comparisons too)."""
        self.ignore = tuple(patterns)
        if isinstance(self.compared, RunsCompared):
            return self._compare_runs(self.compared.a, self.compared.b)
        return None

    def close(self) -> None:
        """Back to the run on show (its node states) and the node inspector."""
        self._ticket += 1  # a comparison still being made is dropped
        self._take_back_summary()
        if self.compared is None:
            return
        self.compared = None
        self.canvas.paint_compare({})
        self.panel.show_compare(None)
        self._sync_actions()

    def choose_node(self, node_id: str) -> None:
        """A node picked in the compare list: selected on the canvas when it is there (which
        shows it here), else shown here only."""
        if node_id in self.canvas.nodes:
            self.canvas.select([node_id])
            self.canvas.center_on(node_id)
        else:
            self.compare_view.show_node(node_id)

    # -- showing -----------------------------------------------------------------------------

    def _run_started(self, _run_id: str) -> None:
        self.close()
        self._sync_actions()

    def _allowed(self) -> bool:
        if self.controller.active:
            self.message("A run is active: compare once it has ended")
            return False
        return True

    def _say(self, summary: str) -> None:
        self._said = summary
        self.message(summary)

    def _take_back_summary(self, replacement: str = "") -> None:
        """Replace (or clear) the compare summary when the status bar still shows it; a later
        message, such as "Run … started", stays."""
        if self._said and self.shown_message() == self._said:
            self.message(replacement)
            self._said = replacement
        else:
            self._said = ""

    def _show(self, compared: Compared) -> None:
        opening = self.compared is None
        self.compared = compared
        selected = self.canvas.selected_ids()
        if len(selected) == 1 and (opening or self.compare_view.node_id is None):
            # The node selected on the canvas, not the one shown by an earlier comparison.
            self.compare_view.node_id = selected[0]
        self.compare_view.show_comparison(compared)
        self._paint()
        self.panel.show_compare(self.compare_view)
        self._sync_actions()

    def _paint(self) -> None:
        assert self.compared is not None
        marks: dict[str, CompareMark] = {
            node_id: (MARK_LABELS[mark], theme.COMPARE_COLORS[mark], mark in QUIET_MARKS)
            for node_id, mark in self.compared.marks(self.canvas.nodes).items()
        }
        self.canvas.paint_compare(marks)

    def _on_canvas_selection(self, node_ids: list[str]) -> None:
        if self.compared is not None and len(node_ids) == 1:
            self.compare_view.show_node(node_ids[0])

    def _on_document_changed(self, diff: object) -> None:
        """An edit: compared with the current workflow, the comparison follows it; compared
        runs, new nodes are painted as in neither run. A new document ends compare mode."""
        if self.compared is None:
            return
        if getattr(diff, "reset", False):
            self.close()
            return
        if isinstance(self.compared, DefinitionCompared):
            self.compared = self.compared.again(self.document.definition)
            self.compare_view.show_comparison(self.compared)
            self._take_back_summary(CURRENT_SUMMARY.format(self.compared.summary()))
        self._paint()

    def _sync_actions(self) -> None:
        idle = not self.controller.active
        chosen = len(self.panel.selected_run_ids())
        self.act_compare.setEnabled(idle and chosen == 2)
        self.act_compare_current.setEnabled(idle and chosen == 1)
        self.act_close.setEnabled(self.compared is not None)
