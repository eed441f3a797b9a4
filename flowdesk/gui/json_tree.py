"""JSON values as a collapsible tree (the inspector's output and config views)."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItem

from flowdesk.gui.diff_rows import summary

MAX_CHILDREN = 500  # a 100,000-item response must not freeze the window


class JsonTree(QTreeWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setColumnCount(2)
        self.setHeaderLabels(["key", "value"])
        self.setUniformRowHeights(True)
        self.setAlternatingRowColors(True)

    def show_value(self, value: Any, *, expand_depth: int = 2) -> None:
        self.clear()
        if value is None:
            return
        root = QTreeWidgetItem(self, ["", summary(value)])
        _fill(root, value)
        self.expandToDepth(expand_depth - 1)
        self.resizeColumnToContents(0)

    def text_of(self, *path: str) -> str:
        """The value column at a key path (for tests and copy)."""
        item = self.topLevelItem(0)
        for key in path:
            item = next(
                (item.child(i) for i in range(item.childCount()) if item.child(i).text(0) == key),
                None,
            )
            if item is None:
                raise KeyError("/".join(path))
        return item.text(1)


def _fill(parent: QTreeWidgetItem, value: Any) -> None:
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = [(f"[{i}]", v) for i, v in enumerate(value)]
    else:
        return
    for key, child in items[:MAX_CHILDREN]:
        item = QTreeWidgetItem(parent, [str(key), summary(child)])
        _fill(item, child)
    if len(items) > MAX_CHILDREN:
        QTreeWidgetItem(parent, ["…", f"{len(items) - MAX_CHILDREN} more not shown"])
