"""The Runs dock: Run/Cancel/Resume/Re-run, a legend, the run history of this workflow,
the node inspector and the run log."""

from __future__ import annotations

import html
import json
from datetime import datetime

from PySide6.QtCore import (
    QAbstractItemModel,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QColor, QFontDatabase, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from flowdesk.engine import NodeResult, NodeState, RunState
from flowdesk.engine.trigger_rules import CONDITION_FALSE
from flowdesk.gui import theme
from flowdesk.gui.item_list import ItemList, ItemSource, no_items_text
from flowdesk.gui.json_tree import JsonTree
from flowdesk.gui.run_controller import RunController
from flowdesk.gui.run_state import reused_text
from flowdesk.gui.text_fit import elide_middle
from flowdesk.store import RunSummary

HISTORY_COLUMNS = ["Status", "Started", "Resumed", "Duration", "Params", "Run"]
"""Started is the first start; Resumed the latest resume, if any (Duration is that execution's)."""
RUN_COLUMN = HISTORY_COLUMNS.index("Run")
# The widest text each column must show whole, whatever its rows hold now.
HISTORY_SAMPLES = [
    "INTERRUPTED",
    "2000-12-31 23:59:59",
    "2000-12-31 23:59:59",
    "9999.99 s",
    '{"n": 10}',
    "0" * 12,
]
HISTORY_MAX_WIDTH = 240  # long params are cut here; the cell's tooltip has them whole
HISTORY_PANE_MAX = 640  # the history pane asks for room to show every column, up to this
PANE_MIN_HEIGHT = 240  # the history, inspector, log and compare view: fixed, whatever they hold
LARGE_TREE = 200  # entries of an output or config built only once its tab is shown
NODE_ID_SHOWN = 40  # characters of a node id the inspector's title shows; the tooltip has all


def condition_skipped(node: NodeResult) -> bool:
    """SKIPPED because its own `when` was falsy (not because something upstream failed)."""
    return node.state is NodeState.SKIPPED and node.error == CONDITION_FALSE


def legend() -> QWidget:
    """One chip per state, in the colours the canvas paints, and the dashed condition skip."""
    box = QWidget()
    row = QHBoxLayout(box)
    row.setContentsMargins(0, 0, 0, 0)
    for state in NodeState:
        chip = QLabel(state.value.lower())
        r, g, b = theme.STATE_COLORS[state.value]
        text = "#1e1e1e" if state is NodeState.PENDING else "white"
        chip.setStyleSheet(
            f"background: rgb({r},{g},{b}); color: {text}; border-radius: 6px; padding: 1px 6px;"
        )
        chip.setObjectName(f"legend_{state.value}")
        row.addWidget(chip)
    r, g, b = theme.STATE_COLORS[NodeState.SKIPPED.value]
    chip = QLabel("skipped: condition false")
    chip.setToolTip("Dashed outline: the node's Run when was falsy, so it did not run")
    chip.setStyleSheet(
        f"background: rgb({r},{g},{b}); color: white; border: 2px dashed rgb(200,200,200);"
        " border-radius: 6px; padding: 0 5px;"
    )
    chip.setObjectName("legend_condition_false")
    row.addWidget(chip)
    return box


def _large(value: object) -> bool:
    """A value whose tree takes a while to build (tens of ms for thousands of entries)."""
    return isinstance(value, list | dict) and len(value) > LARGE_TREE


class NodeInspector(QWidget):
    """State, attempts, duration, error, output and resolved config of one node of a run; a
    mapped node's items too, a page at a time (its Items tab)."""

    def __init__(self) -> None:
        super().__init__()
        self.title = QLabel("Select a node to inspect it.")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(theme.ERROR_TEXT_STYLE)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.output = JsonTree()
        self.config = JsonTree()
        self.node_log = QPlainTextEdit()  # what its handler wrote: a python node's prints
        self.node_log.setObjectName("node_log")
        self.node_log.setReadOnly(True)
        self.node_log.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.node_log.setPlaceholderText("Nothing was written to this node's log.")
        self.items = ItemList()
        # The node whose output, config and log the trees show, and what of it they show.
        self._trees_of: tuple[NodeResult | None, tuple[object, ...]] | None = None
        self._unbuilt: dict[QWidget, object] = {}  # large values of tabs not looked at yet
        self.tabs = QTabWidget()
        self.tabs.addTab(self.items, "Items")
        self.tabs.setTabVisible(0, False)
        self.tabs.addTab(self.output, "Output")
        self.tabs.addTab(self.config, "Config")
        self.tabs.setTabToolTip(
            self.tabs.indexOf(self.config), "The config as resolved for the run"
        )
        self.tabs.addTab(self.node_log, "Log")
        # Tabs too wide for the pane are elided, never scrolled: the arrows hid Log.
        self.tabs.setUsesScrollButtons(False)
        self.tabs.setElideMode(Qt.TextElideMode.ElideRight)
        # Long titles and errors are cut, not allowed to widen the pane from node to node.
        for label in (self.title, self.error):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        # Hiding Items while it was the only tab left it current: a blank area, no tab
        # selected, until a tab was clicked.
        self.tabs.setCurrentWidget(self.output)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.error)
        layout.addWidget(self.tabs)
        self.tabs.currentChanged.connect(lambda _index: self._build_current_tree())

    def show_node(
        self,
        node_id: str | None,
        node: NodeResult | None,
        *,
        run_on_show: bool = True,
        items: ItemSource | None = None,
        items_text: str = "",
        run_id: str | None = None,
    ) -> None:
        """Show a node of the run on show (`run_id`). `items` are a mapped node's (`items_text`
        says how many finished). Showing the same node again rebuilds no tree (a live map
        refreshes ten times a second): only the title and the items are read again."""
        key = (node_id, node.state if node else None, node.attempts if node else 0)
        shown = self._trees_of
        same = shown is not None and shown[0] is node and shown[1] == key
        if not same:
            self._unbuilt = {}  # the last node's trees are no longer wanted
        self._show_items(items, items_text, node)
        self._show_title(
            node_id, node, run_on_show=run_on_show, items_text=items_text, run_id=run_id
        )
        if same:
            return
        self._trees_of = (node, key)
        for tree, value in (
            (self.output, node.output if node else None),
            (self.config, node.resolved_config if node else None),
        ):
            if tree is self.tabs.currentWidget() or not _large(value):
                tree.show_value(value)
            else:  # e.g. a mapped node's 10,000 outputs behind its Items tab: built when shown
                tree.show_value(None)
                self._unbuilt[tree] = value
        self.node_log.setPlainText(node.log or "" if node else "")

    def _build_current_tree(self) -> None:
        tree = self.tabs.currentWidget()
        if tree in self._unbuilt and isinstance(tree, JsonTree):
            tree.show_value(self._unbuilt.pop(tree))

    def _show_items(self, items: ItemSource | None, text: str, node: NodeResult | None) -> None:
        index = self.tabs.indexOf(self.items)
        was_visible = self.tabs.isTabVisible(index)
        self.items.show_source(items, no_items_text(node))
        self.tabs.setTabVisible(index, items is not None)
        self.tabs.setTabText(index, f"Items ({text})" if text else "Items")
        if items is not None and not was_visible:
            self.tabs.setCurrentIndex(index)
        elif items is None and self.tabs.currentIndex() == index:
            self.tabs.setCurrentWidget(self.output)  # never a hidden tab on show

    def _show_title(
        self,
        node_id: str | None,
        node: NodeResult | None,
        *,
        run_on_show: bool,
        items_text: str,
        run_id: str | None = None,
    ) -> None:
        name = html.escape(elide_middle(node_id or "", NODE_ID_SHOWN))
        self.title.setToolTip(node_id if node_id and len(node_id) > NODE_ID_SHOWN else "")
        if node_id is None:
            self.title.setText("Select a node to inspect it.")
        elif node is None and not run_on_show:
            self.title.setText(f"<b>{name}</b>: no run on show (F5 runs the workflow)")
        elif node is None:
            self.title.setText(f"<b>{name}</b>: not part of the run on show")
        else:
            parts = [f"<b>{name}</b>", node.state.value]
            if node.attempts:
                parts.append(f"{node.attempts} attempt{'s' if node.attempts != 1 else ''}")
            if node.duration_s is not None:
                parts.append(f"{node.duration_s:.3f} s")
            if node.state is NodeState.REUSED:
                parts.append(html.escape(reused_text(node, run_id)))
            if condition_skipped(node):
                parts.append("condition false: its Run when was falsy, so it did not run")
            if items_text:
                parts.append(html.escape(items_text))
            self.title.setText(" · ".join(parts))
        failed = (
            node is not None
            and node.error
            and not node.state.succeeded
            and not condition_skipped(node)
        )
        self.error.setText(node.error if failed else "")  # type: ignore[union-attr]
        self.error.setVisible(bool(failed))


class RunIdDelegate(QStyledItemDelegate):
    """Double-click (or F2) a run id: a read-only field with the whole id, selected to copy."""

    def createEditor(
        self, parent: QWidget, option: QStyleOptionViewItem, index: QModelIndex
    ) -> QWidget:
        editor = QLineEdit(parent)
        editor.setReadOnly(True)
        return editor

    def setEditorData(self, editor: QWidget, index: QModelIndex) -> None:
        assert isinstance(editor, QLineEdit)
        editor.setText(str(index.data(Qt.ItemDataRole.UserRole) or ""))
        editor.selectAll()

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: QModelIndex) -> None:
        """Read-only: the short id stays what the cell shows."""


class RunPanel(QWidget):
    """The bottom area of the editor for everything about runs."""

    history_selected = Signal(str)  # run id

    def __init__(self, controller: RunController) -> None:
        super().__init__()
        self.controller = controller
        self.run_button = QPushButton("▶ Run (F5)")
        self.cancel_button = QPushButton("■ Cancel (Esc)")
        self.resume_button = QPushButton("Resume")
        self.resume_current_button = QPushButton("Resume with current")
        self.rerun_button = QPushButton("Re-run")
        self.resume_button.setToolTip(
            "Run again only the nodes of the selected run that did not succeed"
        )
        self.rerun_button.setToolTip("Start a new run with the selected run's params")
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip(
            "Select two runs in the history (Ctrl+click): paint each node by how it differs"
        )
        self.compare_current_button = QPushButton("Compare with current")
        self.compare_current_button.setToolTip(
            "Paint the nodes added, removed or changed since the selected run"
        )
        self.status = QLabel("No run yet.")
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.setWordWrap(True)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color: rgb{theme.WARNING_COLOR};")
        self.note.hide()
        self.history = QTableWidget(0, len(HISTORY_COLUMNS))
        self.history.setHorizontalHeaderLabels(HISTORY_COLUMNS)
        self.history.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        # Two runs (Ctrl+click) can be compared; commands on one run need exactly one.
        self.history.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        # Only run id cells are editable, by RunIdDelegate, which never writes.
        self.history.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.history.setItemDelegateForColumn(RUN_COLUMN, RunIdDelegate(self.history))
        self.history.verticalHeader().hide()
        header = self.history.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.history.setWordWrap(False)
        self.copy_run_id = QAction("Copy run id", self.history)
        self.copy_run_id.setShortcut(QKeySequence.StandardKey.Copy)
        self.copy_run_id.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.copy_run_id.triggered.connect(self._copy_run_id)
        self.history.addAction(self.copy_run_id)
        self.history.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.inspector = NodeInspector()
        self.log = QPlainTextEdit()
        self.log.setReadOnly(True)
        self.log.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.log.setMaximumBlockCount(5000)
        self._logged = 0  # entries of the board's log shown so far
        self._log_generation = -1  # the board generation whose log is shown

        buttons = QHBoxLayout()
        for button in (
            self.run_button,
            self.cancel_button,
            self.resume_button,
            self.resume_current_button,
            self.rerun_button,
        ):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(legend())
        self.history_box = history_box = QWidget()
        history_layout = QVBoxLayout(history_box)
        history_layout.setContentsMargins(0, 0, 0, 0)
        # The compare buttons act on the rows selected here, so they sit above them.
        history_header = QHBoxLayout()
        history_header.addWidget(QLabel("History of this workflow"), 1)
        history_header.addWidget(self.compare_button)
        history_header.addWidget(self.compare_current_button)
        history_layout.addLayout(history_header)
        history_layout.addWidget(self.history)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(history_box)
        splitter.addWidget(self.inspector)
        splitter.addWidget(self.log)
        # The history's columns fit in 630 (long params are cut); the inspector gets the most
        # of the rest, for an item page's output; a wider window widens the inspector and log.
        splitter.setSizes([630, 460, 310])
        for pane, stretch in ((history_box, 0), (self.inspector, 3), (self.log, 2)):
            splitter.setStretchFactor(splitter.indexOf(pane), stretch)
        # A fixed height, not what each pane's content asks: selecting an item or opening a
        # comparison made the Runs dock taller and moved the canvas.
        for pane in (history_box, self.inspector, self.log):
            pane.setMinimumHeight(PANE_MIN_HEIGHT)
        self.splitter = splitter
        self.compare_view: QWidget | None = None
        self._sizes_before_compare = splitter.sizes()
        self.comparing = False  # compare_view is on show instead of the inspector and log
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        # On a line of its own: beside the buttons, a long summary widened the whole window.
        layout.addWidget(self.status)
        layout.addWidget(self.note)
        layout.addWidget(splitter, 1)

        self.history.itemSelectionChanged.connect(self._emit_history_selection)
        controller.board_changed.connect(self.refresh)
        self.refresh()

    # -- history ----------------------------------------------------------------------------

    def show_history(self, runs: list[RunSummary], select: str | None = None) -> None:
        """Fill the table; only `select` ends up selected (a row selected before would
        otherwise stay highlighted over another run, with nothing of it on show). Without
        `select`, runs selected together (to compare them) stay selected."""
        kept = self.selected_run_ids() if select is None else []
        self.history.blockSignals(True)
        self.history.clearSelection()
        self.history.setRowCount(len(runs))
        for row, run in enumerate(runs):
            started = run.started_at or run.created_at
            duration = f"{run.duration_s:.2f} s" if run.duration_s is not None else ""
            params = getattr(run, "params", None)
            cells = [
                run.state.value,
                _local(started),
                _local(run.resumed_at) if run.resumed_at else "",
                duration,
                json.dumps(params) if params is not None else "",
                run.run_id[:12],
            ]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, run.run_id)
                if column == 0:
                    item.setForeground(QColor(*_run_colour(run.state)))
                if column == RUN_COLUMN:
                    item.setToolTip(f"Run {run.run_id}\nDouble-click or Ctrl+C to copy it")
                else:
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                    item.setToolTip(text)
                self.history.setItem(row, column, item)
        self.history.blockSignals(False)
        self._fit_history_columns()
        if select is not None:
            self.select_history(select)
        elif len(kept) > 1:
            self._select_rows_of(kept)
        self._update_buttons()

    def _fit_history_columns(self) -> None:
        """Every header and run id whole: each column as wide as its content, at least as wide
        as its sample and its header, params at most HISTORY_MAX_WIDTH; then the pane asks
        for the room (up to HISTORY_PANE_MAX) so no column hides behind the scroll bar."""
        header = self.history.horizontalHeader()
        metrics = self.history.fontMetrics()
        padding = 2 * self.history.style().pixelMetric(
            self.history.style().PixelMetric.PM_FocusFrameHMargin
        )
        needed = 2 * self.history.frameWidth() + self.history.verticalScrollBar().sizeHint().width()
        for column, sample in enumerate(HISTORY_SAMPLES):
            self.history.resizeColumnToContents(column)
            floor = max(
                metrics.horizontalAdvance(sample) + padding + 8,
                header.sectionSizeHint(column),
            )
            width = max(header.sectionSize(column), floor)
            if column != RUN_COLUMN:
                width = min(width, max(floor, HISTORY_MAX_WIDTH))
            header.resizeSection(column, width)
            needed += width
        if needed > HISTORY_PANE_MAX:  # long params pushed the run ids out of the pane
            params = HISTORY_COLUMNS.index("Params")
            floor = metrics.horizontalAdvance(HISTORY_SAMPLES[params]) + padding + 8
            cut = min(needed - HISTORY_PANE_MAX, header.sectionSize(params) - floor)
            header.resizeSection(params, header.sectionSize(params) - max(cut, 0))
            needed -= max(cut, 0)
        self.history_box.setMinimumWidth(min(needed, HISTORY_PANE_MAX))

    def _copy_run_id(self) -> None:
        run_ids = self.selected_run_ids()
        if run_ids:
            QGuiApplication.clipboard().setText("\n".join(run_ids))

    def select_history(self, run_id: str) -> None:
        """Select that run alone. Not `selectRow`: in a multi-row list it honours the keyboard's
        modifiers, so with Ctrl held (or left held by a lost key release) it toggled the row off."""
        self._select_rows_of([run_id])
        self._update_buttons()

    def _select_rows_of(self, run_ids: list[str]) -> None:
        wanted = set(run_ids)
        selection = QItemSelection()
        model = self.history.model()
        last = model.columnCount() - 1
        for row in range(self.history.rowCount()):
            if self.history.item(row, 0).data(Qt.ItemDataRole.UserRole) in wanted:
                selection.select(model.index(row, 0), model.index(row, last))
        self.history.blockSignals(True)
        self.history.selectionModel().select(
            selection, QItemSelectionModel.SelectionFlag.ClearAndSelect
        )
        self.history.blockSignals(False)

    def selected_run_ids(self) -> list[str]:
        """The runs selected in the history, newest first (two of them can be compared)."""
        rows = sorted(index.row() for index in self.history.selectionModel().selectedRows())
        return [self.history.item(row, 0).data(Qt.ItemDataRole.UserRole) for row in rows]

    def selected_run_id(self) -> str | None:
        """The one run selected (None when none, or several are)."""
        run_ids = self.selected_run_ids()
        return run_ids[0] if len(run_ids) == 1 else None

    def selected_run_state(self) -> RunState | None:
        rows = self.history.selectionModel().selectedRows()
        return RunState(self.history.item(rows[0].row(), 0).text()) if len(rows) == 1 else None

    def _emit_history_selection(self) -> None:
        run_id = self.selected_run_id()
        self._update_buttons()
        if run_id:
            self.history_selected.emit(run_id)

    # -- live state -------------------------------------------------------------------------

    def refresh(self) -> None:
        board = self.controller.board
        entries = board.log
        if board.generation != self._log_generation:  # another run on show: start over
            self.log.clear()
            self._logged = 0
            self._log_generation = board.generation
        if len(entries) > self._logged:
            self.log.appendPlainText(
                "\n".join(
                    f"{_local(e.at, seconds=True)}  {e.text}" for e in entries[self._logged :]
                )
            )
            self._logged = len(entries)
        if board.run_id is None:
            self.status.setText("No run on show.")
            self.status.setToolTip("")
        else:
            counts = {state: 0 for state in NodeState}
            for node in board.nodes.values():
                counts[node.state] += 1
            summary = ", ".join(f"{n} {s.value.lower()}" for s, n in counts.items() if n)
            state = board.state.value if board.state else ""
            self.status.setText(f"Run {board.run_id[:12]} {state}: {summary}")
            self.status.setToolTip(f"Run {board.run_id}")
        self._update_buttons()

    def _update_buttons(self) -> None:
        active = self.controller.active
        state = self.selected_run_state()
        self.run_button.setEnabled(not active)
        self.cancel_button.setEnabled(active)
        self.resume_button.setEnabled(not active and state is not None and state.resumable)
        self.resume_current_button.setEnabled(self.resume_button.isEnabled())
        self.rerun_button.setEnabled(not active and state is not None)
        chosen = len(self.selected_run_ids())
        self.compare_button.setEnabled(not active and chosen == 2)
        self.compare_current_button.setEnabled(not active and chosen == 1)

    def show_compare(self, view: QWidget | None) -> None:
        """Put a comparison in place of the node inspector and the log; None: back to them."""
        comparing = view is not None
        if comparing and not self.comparing:
            self._sizes_before_compare = self.splitter.sizes()[:3]
        if view is not None and view is not self.compare_view:
            if self.compare_view is not None:
                self.compare_view.hide()
            view.hide()  # added hidden: it takes no room from the others until it is shown
            view.setMinimumHeight(PANE_MIN_HEIGHT)
            self.compare_view = view
            self.splitter.addWidget(view)
        if comparing == self.comparing:
            return
        self.comparing = comparing
        history, inspector, log = self._sizes_before_compare
        assert self.compare_view is not None
        self.compare_view.setVisible(comparing)
        self.inspector.setVisible(not comparing)
        self.log.setVisible(not comparing)
        if comparing:
            self.splitter.setSizes([history, 0, 0, inspector + log])
        else:
            self.splitter.setSizes([history, inspector, log, 0])

    def show_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(bool(text))


def _local(moment: datetime | None, *, seconds: bool = False) -> str:
    """Local time: `HH:MM:SS.ffffff` in the log, `YYYY-MM-DD HH:MM:SS` in the history."""
    if moment is None:
        return ""
    return moment.astimezone().strftime("%H:%M:%S.%f" if seconds else "%Y-%m-%d %H:%M:%S")


def _run_colour(state: RunState) -> tuple[int, int, int]:
    mapping = {
        RunState.COMPLETED: "SUCCEEDED",
        RunState.FAILED: "FAILED",
        RunState.CANCELLED: "CANCELLED",
        RunState.RUNNING: "RUNNING",
        RunState.INTERRUPTED: "FAILED",
    }
    return theme.STATE_COLORS[mapping.get(state, "PENDING")]
