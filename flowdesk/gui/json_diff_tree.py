"""Two JSON values side by side in one collapsible tree: key, A's value, B's value, with added,
removed and changed keys highlighted (the compare view's output and config diffs)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QHeaderView, QTreeWidget, QTreeWidgetItem

from flowdesk.gui import theme
from flowdesk.gui.diff_rows import DiffRow, RowKind, diff_rows
from flowdesk.runs.compare import PathChange, json_path

KIND_ROLE = Qt.ItemDataRole.UserRole
ABSENT_TEXT = "—"  # the side a key is missing from
KEY_COLUMN_MAX = 220  # pixels; a longer key is elided (its tooltip has the path)
KIND_NOTES: dict[RowKind, str] = {
    "same": "the same in both",
    "added": "only in B (added)",
    "removed": "only in A (removed)",
    "changed": "changed",
    "inside": "something under it differs",
    "ignored": "differs, at a path you ignore",
}


class JsonDiffTree(QTreeWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setColumnCount(3)
        self.setHeaderLabels(["key", "A", "B"])
        self.setUniformRowHeights(True)
        # A and B share the width equally, so both sides are always in view.
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.root: DiffRow | None = None

    def show_diff(
        self,
        old: Any,
        new: Any,
        *,
        labels: tuple[str, str] = ("A", "B"),
        changes: Sequence[PathChange] | None = None,
        ignore: Sequence[str] = (),
    ) -> DiffRow:
        """Show `old` (A) beside `new` (B); rows that differ start expanded."""
        self.clear()
        self.setHeaderLabels(["key", *labels])
        self.root = diff_rows(old, new, changes=changes, ignore=ignore)
        top = self._item(self, self.root)
        top.setText(0, "$")
        self._fill(top, self.root)
        top.setExpanded(True)
        self.resizeColumnToContents(0)
        self.setColumnWidth(0, min(self.columnWidth(0), KEY_COLUMN_MAX))
        return self.root

    def show_nothing(self, text: str = "") -> None:
        self.clear()
        self.root = None
        if text:
            item = QTreeWidgetItem(self, ["", text, ""])
            item.setFirstColumnSpanned(True)

    def item_at(self, *keys: str) -> QTreeWidgetItem:
        """The row at a key path ("name", "[2]"); KeyError when there is none."""
        item = self.topLevelItem(0)
        for key in keys:
            item = next(
                (item.child(i) for i in range(item.childCount()) if item.child(i).text(0) == key),
                None,
            )
            if item is None:
                raise KeyError("/".join(keys))
        return item

    def kind_at(self, *keys: str) -> RowKind:
        return self.item_at(*keys).data(0, KIND_ROLE)

    def _fill(self, parent: QTreeWidgetItem, row: DiffRow) -> None:
        for child in row.children:
            item = self._item(parent, child)
            self._fill(item, child)
            if child.kind == "inside":
                item.setExpanded(True)
        if row.hidden:
            more = QTreeWidgetItem(parent, ["…", f"{row.hidden} more not shown", ""])
            more.setFlags(Qt.ItemFlag.ItemIsEnabled)

    def _item(self, parent: QTreeWidget | QTreeWidgetItem, row: DiffRow) -> QTreeWidgetItem:
        texts = [row.key, _side(row.a), _side(row.b)]
        item = QTreeWidgetItem(parent, texts)
        item.setData(0, KIND_ROLE, row.kind)
        where = json_path(row.path)
        for column, text in enumerate(texts):
            item.setToolTip(column, f"{where}: {KIND_NOTES[row.kind]}\n{text}")
        colour = theme.DIFF_COLORS.get(row.kind)
        if colour is not None:
            brush = QBrush(QColor(*colour, theme.DIFF_ALPHA))
            for column in range(3):
                item.setBackground(column, brush)
        if row.kind == "inside":
            font = QFont(item.font(0))
            font.setBold(True)
            item.setFont(0, font)
            item.setForeground(0, QBrush(QColor(*theme.DIFF_COLORS["changed"])))
        elif row.kind == "ignored":
            font = QFont(item.font(0))
            font.setItalic(True)
            for column in range(3):
                item.setFont(column, font)
                item.setForeground(column, QBrush(QColor(140, 140, 140)))
        return item


def _side(text: str | None) -> str:
    return ABSENT_TEXT if text is None else text
