"""The compare view: in the Runs panel while two runs (or a run and the current workflow) are
compared. A legend, every node with how it differs, and the chosen node's two outputs and two
resolved configs (or its two definitions) as side-by-side JSON diffs."""

from __future__ import annotations

import html
import json

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from flowdesk.gui import theme
from flowdesk.gui.compare_state import (
    DEFINITION_MARKS,
    MARK_HELP,
    MARK_LABELS,
    RUN_MARKS,
    Compared,
    DefinitionCompared,
    RunsCompared,
    run_label,
)
from flowdesk.gui.json_diff_tree import JsonDiffTree
from flowdesk.gui.json_tree import JsonTree
from flowdesk.gui.text_fit import elide_middle

NODE_COLUMNS = ["Node", "Change"]
PARAMS_SHOWN = 60  # characters of a run's params in the header; its tooltip has them whole
NODE_ID_SHOWN = 40
MIN_HEIGHT = 320
DEFINITION_SIDES = ("in the run", "now")


def mark_chip(mark: str) -> QLabel:
    """A legend chip: the mark's label on its colour, its meaning as the tooltip."""
    chip = QLabel(MARK_LABELS[mark])
    r, g, b = theme.COMPARE_COLORS[mark]
    chip.setStyleSheet(
        f"background: rgb({r},{g},{b}); color: white; border-radius: 6px; padding: 1px 6px;"
    )
    chip.setToolTip(MARK_HELP[mark])
    chip.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
    chip.setObjectName(f"compare_legend_{mark}")
    return chip


class CompareView(QWidget):
    """Shows one comparison; says which node the user picked and when they are done."""

    close_requested = Signal()
    ignore_changed = Signal(list)  # output paths whose differences do not count
    node_chosen = Signal(str)  # a node id picked in the list

    def __init__(self) -> None:
        super().__init__()
        self.compared: Compared | None = None
        self.node_id: str | None = None
        self.header = QLabel()
        self.header.setWordWrap(True)
        self.header.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.summary = QLabel()
        self.summary.setObjectName("compare_summary")
        self.summary.setWordWrap(True)
        self.ignore = QLineEdit()
        self.ignore.setObjectName("compare_ignore")
        # Short enough to show whole (the long one was cut to "Ignore output pat..."); the
        # tooltip says the rest.
        self.ignore.setPlaceholderText("Ignore paths, e.g. $.headers.date")
        self.ignore.setToolTip(
            "Ignore output paths, separated by commas, e.g. $.headers.date, $.items[*].id:"
            " differences at these paths (and under them) do not count, in every node;"
            " * matches any text. As `flowdesk runs diff --ignore`."
        )
        metrics = self.ignore.fontMetrics()
        self.ignore.setMinimumWidth(metrics.horizontalAdvance(self.ignore.placeholderText()) + 24)
        self.ignore.setMaximumWidth(300)
        self.close_button = QPushButton("Close compare (Esc)")
        self.close_button.setToolTip("Back to the run on show, painted by its node states")
        self.legend = QWidget()
        self._legend_row = QHBoxLayout(self.legend)
        self._legend_row.setContentsMargins(0, 0, 0, 0)
        self.nodes = QTableWidget(0, len(NODE_COLUMNS))
        self.nodes.setObjectName("compare_nodes")
        self.nodes.setHorizontalHeaderLabels(NODE_COLUMNS)
        self.nodes.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.nodes.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.nodes.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.nodes.verticalHeader().hide()
        self.nodes.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.nodes.setWordWrap(False)
        self.node_title = QLabel("Select a node to see how it differs.")
        self.node_title.setWordWrap(True)
        self.node_title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.errors = QLabel()
        self.errors.setWordWrap(True)
        self.errors.setStyleSheet(theme.ERROR_TEXT_STYLE)
        self.errors.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.errors.hide()
        self.output_diff = JsonDiffTree()
        self.output_diff.setObjectName("compare_output")
        self.config_diff = JsonDiffTree()
        self.config_diff.setObjectName("compare_config")
        self.definition_diff = JsonDiffTree()
        self.definition_diff.setObjectName("compare_definition")
        self.definition_diff.setHeaderLabels(["key", *DEFINITION_SIDES])
        self.run_output = JsonTree()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.output_diff, "Output")
        self.tabs.addTab(self.config_diff, "Resolved config")
        self.tabs.addTab(self.definition_diff, "Definition")
        self.tabs.addTab(self.run_output, "Output in the run")

        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.close_button)
        legend_row = QHBoxLayout()
        legend_row.addWidget(self.legend)
        legend_row.addStretch(1)
        # The ignore field applies to the outputs: it sits above them.
        title_row = QHBoxLayout()
        title_row.addWidget(self.node_title, 1)
        title_row.addWidget(self.ignore)
        detail = QWidget()
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        detail_layout.addLayout(title_row)
        detail_layout.addWidget(self.errors)
        detail_layout.addWidget(self.tabs, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.nodes)
        splitter.addWidget(detail)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([200, 600])
        # Room for a few rows of the diff: the Runs dock grows to it while comparing.
        self.setMinimumHeight(MIN_HEIGHT)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.header)
        layout.addLayout(legend_row)
        layout.addWidget(splitter, 1)

        self.close_button.clicked.connect(self.close_requested)
        self.ignore.editingFinished.connect(self._emit_ignore)
        self.nodes.itemSelectionChanged.connect(self._emit_chosen)

    # -- the comparison ----------------------------------------------------------------------

    def show_comparison(self, compared: Compared) -> None:
        """Show a (new or recomputed) comparison, keeping the node on show if it still exists."""
        self.compared = compared
        runs = isinstance(compared, RunsCompared)
        self.ignore.setVisible(runs)
        if runs:
            self.ignore.setText(", ".join(compared.ignore))
            a, b = compared.a, compared.b
            self.header.setText(
                f"<b>A</b>: run {html.escape(run_label(a))}{_params(a.result.params)}<br>"
                f"<b>B</b>: run {html.escape(run_label(b))}{_params(b.result.params)}"
            )
            self.header.setToolTip(
                "\n".join(
                    f"{side}: run {run.run_id}, params {json.dumps(run.result.params)}"
                    for side, run in (("A", a), ("B", b))
                )
            )
        else:
            run = compared.run
            self.header.setText(
                f"The workflow of run {html.escape(run_label(run))} beside the workflow as it"
                " is now"
            )
            self.header.setToolTip(f"Run {run.run_id}")
        self.summary.setText(f"<b>{html.escape(compared.summary())}</b>")
        self._show_legend(RUN_MARKS if runs else DEFINITION_MARKS)
        for index, wanted in enumerate((runs, runs, not runs, not runs)):
            self.tabs.setTabVisible(index, wanted)
        self._fill_nodes()
        self.show_node(self.node_id)

    def _show_legend(self, marks: tuple[str, ...]) -> None:
        while self._legend_row.count():
            widget = self._legend_row.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        for mark in marks:
            self._legend_row.addWidget(mark_chip(mark))

    def _fill_nodes(self) -> None:
        assert self.compared is not None
        rows = self.compared.rows()
        self.nodes.blockSignals(True)
        self.nodes.clearSelection()
        self.nodes.setRowCount(len(rows))
        for index, row in enumerate(rows):
            cells = [row.node_id, MARK_LABELS[row.mark]]
            tip = "\n".join(filter(None, [f"{row.node_id}: {MARK_HELP[row.mark]}", row.detail]))
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, row.node_id)
                item.setToolTip(tip)
                if column == 1:
                    item.setForeground(QColor(*theme.COMPARE_COLORS[row.mark]))
                self.nodes.setItem(index, column, item)
        self.nodes.blockSignals(False)

    def mark_in_list(self, node_id: str) -> str | None:
        """The change the list shows for a node (for tests)."""
        for row in range(self.nodes.rowCount()):
            if self.nodes.item(row, 0).text() == node_id:
                return self.nodes.item(row, 1).text()
        return None

    # -- one node ------------------------------------------------------------------------------

    def show_node(self, node_id: str | None) -> None:
        """The node's two outputs and resolved configs (or definitions) side by side."""
        self.node_id = node_id
        self._select_in_list(node_id)
        compared = self.compared
        if compared is None or node_id is None:
            self.node_title.setText("Select a node to see how it differs.")
            self.errors.hide()
            for tree in (self.output_diff, self.config_diff, self.definition_diff):
                tree.show_nothing()
            self.run_output.show_value(None)
            return
        mark = compared.mark(node_id)
        name = html.escape(elide_middle(node_id, NODE_ID_SHOWN))
        self.node_title.setToolTip(node_id if len(node_id) > NODE_ID_SHOWN else "")
        if isinstance(compared, RunsCompared):
            self._show_run_node(compared, node_id, name, mark)
        else:
            self._show_definition_node(compared, node_id, name, mark)

    def _show_run_node(self, compared: RunsCompared, node_id: str, name: str, mark: str) -> None:
        node = compared.node(node_id)
        if node is None:
            self.node_title.setText(f"<b>{name}</b>: {MARK_HELP['neither']}")
        else:
            states = " → ".join(side.status.value if side else "—" for side in (node.a, node.b))
            self.node_title.setText(f"<b>{name}</b> · {MARK_LABELS[mark]} · {states}")
        errors = [
            f"error in {label}: {side.error}"
            for label, side in (("A", node and node.a), ("B", node and node.b))
            if side and side.error and not side.status.succeeded
        ]
        self.errors.setText("\n".join(errors))
        self.errors.setVisible(bool(errors))
        labels = ("A", "B")
        self.output_diff.show_diff(
            node.a.output if node and node.a else None,
            node.b.output if node and node.b else None,
            labels=labels,
            changes=compared.output_changes(node_id) if node and node.a and node.b else None,
            ignore=compared.ignore,
        )
        config_a, config_b = compared.resolved_configs(node_id)
        self.config_diff.show_diff(config_a, config_b, labels=labels)

    def _show_definition_node(
        self, compared: DefinitionCompared, node_id: str, name: str, mark: str
    ) -> None:
        self.node_title.setText(f"<b>{name}</b> · {MARK_LABELS[mark]}: {MARK_HELP[mark]}")
        self.errors.hide()
        then, now = compared.definitions(node_id)
        self.definition_diff.show_diff(then, now, labels=DEFINITION_SIDES)
        self.run_output.show_value(compared.output(node_id))

    def _select_in_list(self, node_id: str | None) -> None:
        self.nodes.blockSignals(True)
        self.nodes.clearSelection()
        for row in range(self.nodes.rowCount()):
            if self.nodes.item(row, 0).data(Qt.ItemDataRole.UserRole) == node_id:
                self.nodes.selectRow(row)
                self.nodes.scrollToItem(self.nodes.item(row, 0))
        self.nodes.blockSignals(False)

    # -- signals -------------------------------------------------------------------------------

    def _emit_ignore(self) -> None:
        patterns = [part.strip() for part in self.ignore.text().split(",") if part.strip()]
        if isinstance(self.compared, RunsCompared) and tuple(patterns) != self.compared.ignore:
            self.ignore_changed.emit(patterns)

    def _emit_chosen(self) -> None:
        rows = self.nodes.selectionModel().selectedRows()
        if rows:
            self.node_chosen.emit(self.nodes.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole))


def _params(params: dict | None) -> str:
    if not params:
        return ""
    text = json.dumps(params)
    return f" · params {html.escape(elide_middle(text, PARAMS_SHOWN))}"
