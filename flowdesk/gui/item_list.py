"""The inspector's list of a mapped node's items: one page at a time, and one item in full.

A page (PAGE_SIZE items) shows each item's index, state, attempts, duration, error and the
start of its output; clicking an item shows its whole error and output below. Items come
from an ItemSource: the live list of a run in this window (`LiveItems`, read again on every
refresh, cheaply) or the store, one page per query (`StoredItems`, through the run service),
so a 10,000-item node never builds 10,000 rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from flowdesk.engine import NodeState
from flowdesk.gui import theme
from flowdesk.gui.json_tree import JsonTree
from flowdesk.store import StoreError

if TYPE_CHECKING:
    from flowdesk.engine.results import ItemResult, NodeResult

PAGE_SIZE = 100
OUTPUT_SHOWN = 120  # characters of an item's output in its row; the detail has it whole
ERROR_SHOWN = 160
COLUMNS = ["#", "State", "Attempts", "Duration", "Error", "Output"]
ERROR_COLUMN, OUTPUT_COLUMN = 4, 5
DETAIL_MIN_HEIGHT = 60
TABLE_MIN_ROWS = 4  # rows the table always has room for, also while an item is shown whole
ModelIndex = QModelIndex | QPersistentModelIndex


class ItemSource(Protocol):
    """Where a mapped node's items come from. `key` names the node of a run and its origin,
    so the list keeps its page while the same items are shown again."""

    key: tuple[str, ...]

    def total(self) -> int: ...
    def page(self, offset: int, limit: int) -> Sequence[ItemResult]: ...


class LiveItems:
    """Items held in memory: a node of a run in this window (`NodeResult.items`), live."""

    def __init__(self, key: tuple[str, ...], items: Callable[[], Sequence[ItemResult] | None]):
        self.key = key
        self._items = items

    def total(self) -> int:
        return len(self._items() or ())

    def page(self, offset: int, limit: int) -> Sequence[ItemResult]:
        return list((self._items() or ())[offset : offset + limit])


class ItemStore(Protocol):
    """The two reads the run service offers for a stored node's items."""

    def load_items(
        self, run_id: str, node_id: str, offset: int = 0, limit: int = 100
    ) -> list[ItemResult]: ...
    def item_counts(self, run_id: str, node_id: str) -> dict[str, int]: ...


class StoredItems:
    """Items of a run opened from the history: counted once, then read a page at a time."""

    def __init__(self, service: ItemStore, run_id: str, node_id: str) -> None:
        self.key = (run_id, node_id, "stored")
        self._service, self._run_id, self._node_id = service, run_id, node_id
        self._total: int | None = None

    def total(self) -> int:
        if self._total is None:
            self._total = sum(self._service.item_counts(self._run_id, self._node_id).values())
        return self._total

    def page(self, offset: int, limit: int) -> Sequence[ItemResult]:
        return self._service.load_items(self._run_id, self._node_id, offset=offset, limit=limit)


def no_items_text(node: NodeResult | None) -> str:
    """What an empty item list says: "yet" only while the node may still map; a node that
    ended without items says why (a map_over that was not a list, or too long, is its error)."""
    if node is None or not node.state.is_final:
        return "no items yet"
    if node.state.succeeded:
        return "no items: map_over gave an empty list"
    if node.error:
        return f"no items: {node.error}"
    return f"no items: the node ended {node.state.value} before its list was known"


def short_json(value: Any, limit: int) -> str:
    """`value` as one line of JSON, cut to `limit` characters."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = " ".join(text.split()) if "\n" in text else text
    return text if len(text) <= limit else text[: limit - 1] + "…"


def duration_text(seconds: float | None) -> str:
    return f"{seconds:.3f} s" if seconds is not None else ""


class ItemPageModel(QAbstractTableModel):
    """One page of items; refreshing with the same rows only repaints them (a live run's
    items change in place: RUNNING, then final)."""

    def __init__(self) -> None:
        super().__init__()
        self.offset = 0
        self.items: list[ItemResult] = []
        self._short: dict[tuple[int, NodeState, int], str] = {}  # (id, state, column) -> text

    def set_page(self, offset: int, items: Sequence[ItemResult]) -> None:
        items = list(items)
        same_rows = offset == self.offset and len(items) == len(self.items)
        keep = {id(item) for item in items}
        self._short = {key: text for key, text in self._short.items() if key[0] in keep}
        if same_rows:
            self.items = items
            if items:
                last = self.index(len(items) - 1, len(COLUMNS) - 1)
                self.dataChanged.emit(self.index(0, 0), last)
            return
        self.beginResetModel()
        self.offset, self.items = offset, items
        self.endResetModel()

    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.items):
            return None
        item = self.items[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(item, column)
        if role == Qt.ItemDataRole.ForegroundRole and column == 1:
            return QColor(*theme.STATE_COLORS[item.state.value])
        if role == Qt.ItemDataRole.ToolTipRole and column in (4, 5):
            return self._text(item, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (0, 2, 3):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _text(self, item: ItemResult, column: int) -> str:
        if column == 0:
            return str(item.index)
        if column == 1:
            return item.state.value
        if column == 2:
            return str(item.attempts) if item.attempts else ""
        if column == 3:
            return duration_text(item.duration_s)
        key = (id(item), item.state, column)
        if key not in self._short:
            self._short[key] = (
                short_json(item.error, ERROR_SHOWN)
                if column == 4
                else short_json(item.output, OUTPUT_SHOWN)
            )
        return self._short[key]


class ItemList(QWidget):
    """Pages of a mapped node's items, with Previous/Next, and the clicked item in full."""

    def __init__(self) -> None:
        super().__init__()
        self.source: ItemSource | None = None
        self.offset = 0
        self.total = 0
        self.selected_index: int | None = None  # the item index shown in full
        self.empty_text = "no items yet"  # what an empty list says (see no_items_text)
        self._detail_item: ItemResult | None = None
        self.range_label = QLabel()
        self.range_label.setObjectName("item_range")
        self.range_label.setWordWrap(True)  # "no items: <the node's error>" may be long
        self.prev_button = QPushButton("◀ Previous")
        self.next_button = QPushButton("Next ▶")
        self.prev_button.setObjectName("items_prev")
        self.next_button.setObjectName("items_next")
        self.prev_button.clicked.connect(lambda: self.go_to(self.offset - PAGE_SIZE))
        self.next_button.clicked.connect(lambda: self.go_to(self.offset + PAGE_SIZE))
        self.model = ItemPageModel()
        self.table = QTableView()
        self.table.setObjectName("item_table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        metrics = self.table.fontMetrics()
        for column, sample in enumerate(["9999", "SUCCEEDED", "Attempts", "99.999 s"]):
            header.resizeSection(column, metrics.horizontalAdvance(sample) + 12)
        # Error and output share what is left and are elided (the tooltip and the item's
        # detail have them whole): they made the table scroll sideways in a narrow inspector.
        for column in (ERROR_COLUMN, OUTPUT_COLUMN):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        rows = self.table.verticalHeader().defaultSectionSize()
        self.table.setMinimumHeight(header.sizeHint().height() + TABLE_MIN_ROWS * rows + 4)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)
        self.detail_title = QLabel()
        self.detail_title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail_error = QLabel()
        self.detail_error.setObjectName("item_error")
        self.detail_error.setWordWrap(True)
        self.detail_error.setStyleSheet(theme.ERROR_TEXT_STYLE)
        self.detail_error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail_error.hide()
        self.detail_output = JsonTree()
        self.detail_output.setObjectName("item_output")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.hide()

        pager = QHBoxLayout()
        pager.addWidget(self.prev_button)
        pager.addWidget(self.next_button)
        pager.addWidget(self.range_label, 1)
        self.range_label.setToolTip("Click an item to see its whole output and error")
        self.detail = detail = QWidget()
        detail.hide()  # until an item is clicked: the page gets the room
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(0, 0, 0, 0)
        detail_layout.addWidget(self.detail_title)
        detail_layout.addWidget(self.detail_error)
        detail_layout.addWidget(self.detail_output, 1)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(detail)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([260, 140])
        # The detail's trees ask for more height than the Runs dock has: the dock grew (and
        # the canvas moved) at every click on an item. It takes the room there is instead.
        detail.setMinimumHeight(DETAIL_MIN_HEIGHT)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(pager)
        layout.addWidget(self.message)
        layout.addWidget(splitter, 1)
        self._update_pager()

    def show_source(self, source: ItemSource | None, empty_text: str = "no items yet") -> None:
        """Show `source`'s items; the same items again (same key) keep their page and the
        item shown in full, and are only read again. `empty_text` is shown when it has none."""
        self.empty_text = empty_text
        if source is not None and self.source is not None and source.key == self.source.key:
            self.source = source
            self.refresh()
            return
        self.source = source
        self.offset = 0
        self._show_detail(None)
        self.refresh()

    def refresh(self) -> None:
        """Read the current page again (a live run's items change as they finish)."""
        if self.source is None:
            self.total = 0
            self.model.set_page(0, [])
            self._update_pager()
            return
        try:
            self.total = self.source.total()
            self.offset = max(0, min(self.offset, self._last_page_offset()))
            page = self.source.page(self.offset, PAGE_SIZE)
        except StoreError as exc:  # a store that cannot be read: say so, keep the window
            self.message.setText(f"Items cannot be read: {exc}")
            self.message.show()
            return
        self.message.hide()
        self.model.set_page(self.offset, page)
        # No error on the page: the output gets the error column's room.
        self.table.setColumnHidden(ERROR_COLUMN, not any(item.error for item in page))
        self._update_pager()
        if self.selected_index is not None:
            row = self.selected_index - self.offset
            if 0 <= row < len(page):
                self._show_detail(page[row])

    def go_to(self, offset: int) -> None:
        """Show the page starting at `offset` (clamped to the list)."""
        self.offset = max(0, min(offset, self._last_page_offset()))
        self.table.clearSelection()
        self.refresh()

    def _last_page_offset(self) -> int:
        return max(0, (self.total - 1) // PAGE_SIZE * PAGE_SIZE)

    def _update_pager(self) -> None:
        shown = len(self.model.items)
        if self.total == 0:
            text = self.empty_text if self.source is not None else ""
        else:
            first, last = self.offset + 1, self.offset + shown
            # How to see an item whole is in the label's tooltip: said here, it wrapped to a
            # second line and took a row of the table's height.
            text = f"items {first:,}–{last:,} of {self.total:,}"  # noqa: RUF001 (a range)
        self.range_label.setText(text)
        self.prev_button.setEnabled(self.offset > 0)
        self.next_button.setEnabled(self.offset + PAGE_SIZE < self.total)
        self.prev_button.setVisible(self.total > PAGE_SIZE)
        self.next_button.setVisible(self.total > PAGE_SIZE)

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        row = current.row()
        if 0 <= row < len(self.model.items):
            self._show_detail(self.model.items[row])

    def select_item(self, index: int) -> None:
        """Show item `index` in full, turning to its page (as a click on its row does)."""
        self.go_to(index // PAGE_SIZE * PAGE_SIZE)
        row = index - self.offset
        if 0 <= row < len(self.model.items):
            self.table.selectRow(row)
            self._show_detail(self.model.items[row])

    def _show_detail(self, item: ItemResult | None) -> None:
        if item is None:
            self.selected_index, self._detail_item = None, None
            self.detail_title.setText("")
            self.detail_error.hide()
            self.detail_output.show_value(None)
            self.detail.hide()
            self._update_pager()
            return
        same = self.selected_index == item.index and self._detail_item is item
        self.selected_index = item.index
        if same:
            return
        self._detail_item = item
        self.detail.show()
        self._update_pager()
        parts = [f"<b>item {item.index}</b>", item.state.value]
        if item.attempts:
            parts.append(f"{item.attempts} attempt{'s' if item.attempts != 1 else ''}")
        if item.duration_s is not None:
            parts.append(duration_text(item.duration_s))
        self.detail_title.setText(" · ".join(parts))
        failed = bool(item.error) and item.state is not NodeState.SUCCEEDED
        self.detail_error.setText((item.error or "") if failed else "")
        self.detail_error.setVisible(failed)
        self.detail_output.show_value(item.output)
