"""The handler palette: one entry per registered handler, grouped by category, draggable."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QMimeData, QPoint, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from flowdesk.engine import HandlerRegistry
from flowdesk.gui import theme
from flowdesk.gui.canvas import HANDLER_MIME, handler_mime

HANDLER_ROLE = Qt.ItemDataRole.UserRole + 1


class HandlerTree(QTreeWidget):
    """Tree of categories and handlers whose drag payload NodeGraphQt's viewer accepts."""

    def mimeData(self, items: list[QTreeWidgetItem]) -> QMimeData:
        handlers = [item.data(0, HANDLER_ROLE) for item in items if item.data(0, HANDLER_ROLE)]
        return handler_mime(handlers[0]) if handlers else QMimeData()

    def mimeTypes(self) -> list[str]:
        return [HANDLER_MIME]


class PaletteWidget(QWidget):
    """Built from the registry, so plugin handlers appear next to the built-ins."""

    def __init__(
        self,
        registry: HandlerRegistry,
        on_activate: Callable[[str], None],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._on_activate = on_activate
        self.filter = QLineEdit(placeholderText="Filter handlers…")
        self.tree = HandlerTree()
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QTreeWidget.DragDropMode.DragOnly)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree)
        categories: dict[str, QTreeWidgetItem] = {}
        for spec in sorted(registry, key=lambda s: (s.category, s.name)):
            parent_item = categories.get(spec.category)
            if parent_item is None:
                parent_item = QTreeWidgetItem(self.tree, [spec.category])
                parent_item.setFlags(Qt.ItemFlag.ItemIsEnabled)
                categories[spec.category] = parent_item
            item = QTreeWidgetItem(parent_item, [spec.name])
            item.setData(0, HANDLER_ROLE, spec.name)
            item.setIcon(
                0, theme.handler_icon(spec.name, theme.accent_for(spec.name, spec.category))
            )
            item.setToolTip(0, spec.description or spec.name)
        self.tree.expandAll()
        self.tree.itemActivated.connect(self._activated)
        self.filter.textChanged.connect(self._apply_filter)

    def handler_items(self) -> dict[str, QTreeWidgetItem]:
        found: dict[str, QTreeWidgetItem] = {}
        for top in range(self.tree.topLevelItemCount()):
            category = self.tree.topLevelItem(top)
            for index in range(category.childCount()):
                item = category.child(index)
                found[item.data(0, HANDLER_ROLE)] = item
        return found

    def _activated(self, item: QTreeWidgetItem, _column: int) -> None:
        handler = item.data(0, HANDLER_ROLE)
        if handler:
            self._on_activate(handler)

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for handler, item in self.handler_items().items():
            item.setHidden(bool(needle) and needle not in handler.lower())


class HandlerSearch(QWidget):
    """The Tab search: type part of a handler name, Enter adds that node where the cursor is."""

    def __init__(
        self, registry: HandlerRegistry, on_choose: Callable[[str], None], parent: QWidget
    ) -> None:
        super().__init__(parent, Qt.WindowType.Popup)
        self._on_choose = on_choose
        self.edit = QLineEdit(placeholderText="Add node: type a handler name")
        self.list = QListWidget()
        for spec in sorted(registry, key=lambda s: s.name):
            item = QListWidgetItem(
                theme.handler_icon(spec.name, theme.accent_for(spec.name, spec.category)), spec.name
            )
            item.setToolTip(spec.description)
            self.list.addItem(item)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.edit)
        layout.addWidget(self.list)
        self.resize(240, 220)
        self.edit.textChanged.connect(self._filter)
        self.edit.returnPressed.connect(self.choose_current)
        self.list.itemActivated.connect(lambda _item: self.choose_current())

    def popup(self, global_pos: QPoint) -> None:
        self.edit.clear()
        self._filter("")
        self.move(global_pos)
        self.show()
        self.edit.setFocus()

    def _filter(self, text: str) -> None:
        needle = text.strip().lower()
        first = None
        for row in range(self.list.count()):
            item = self.list.item(row)
            hidden = bool(needle) and needle not in item.text().lower()
            item.setHidden(hidden)
            if not hidden and first is None:
                first = item
        self.list.setCurrentItem(first)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up):
            self.list.keyPressEvent(event)
            return
        super().keyPressEvent(event)

    def choose_current(self) -> None:
        item = self.list.currentItem()
        self.hide()
        if item is not None and not item.isHidden():
            self._on_choose(item.text())
