"""The open workflow: the pydantic definition plus the Qt signals views listen to.

Views never change the definition directly; undo commands call `apply()` with
a whole new definition, and the document announces what changed as a Diff.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import shiboken6
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from flowdesk.model import WorkflowDefinition
from flowdesk.model.edits import copy_of


@dataclass
class Diff:
    """What one `apply()` changed, by workflow node id (after renames)."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    renamed: dict[str, str] = field(default_factory=dict)
    reset: bool = False


def diff_definitions(
    before: WorkflowDefinition, after: WorkflowDefinition, renamed: dict[str, str]
) -> Diff:
    old = {renamed.get(node.id, node.id): node for node in before.nodes}
    new = {node.id: node for node in after.nodes}
    old_layout = {renamed.get(key, key): pos for key, pos in (before.layout or {}).items()}
    new_layout = after.layout or {}
    diff = Diff(renamed={a: b for a, b in renamed.items() if a != b})
    diff.added = [node_id for node_id in new if node_id not in old]
    diff.removed = [node_id for node_id in old if node_id not in new]
    for node_id, spec in new.items():
        before_spec = old.get(node_id)
        if before_spec is None:
            continue
        if node_id in diff.renamed.values():
            # Compare as if the old node already had its new id.
            before_spec = before_spec.model_copy(update={"id": node_id})
        if before_spec != spec:
            diff.changed.append(node_id)
        if old_layout.get(node_id) != new_layout.get(node_id):
            diff.moved.append(node_id)
    return diff


class WorkflowDocument(QObject):
    """The single source of truth the editor edits; undo commands are its only writers."""

    changed = Signal(object)  # Diff
    file_changed = Signal()  # path, name or clean state: the window title follows

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._definition = WorkflowDefinition(name="Untitled workflow")
        self.path: Path | None = None
        self.store_name: str | None = None  # set when the document came from the local store
        self.undo_stack = QUndoStack(self)
        # A bound method, not a lambda: Qt drops it with the document. The stack turns clean
        # while the window is torn down (Discard on close), after the document is gone.
        self.undo_stack.cleanChanged.connect(self._clean_changed)

    def _clean_changed(self, _clean: bool) -> None:
        if shiboken6.isValid(self):
            self.file_changed.emit()

    @property
    def definition(self) -> WorkflowDefinition:
        """The current document. Treat it as read-only; edit through commands."""
        return self._definition

    @property
    def modified(self) -> bool:
        return not self.undo_stack.isClean()

    def node_ids(self) -> list[str]:
        return [node.id for node in self._definition.nodes]

    def has_node(self, node_id: str) -> bool:
        return any(node.id == node_id for node in self._definition.nodes)

    def apply(self, definition: WorkflowDefinition, renamed: dict[str, str] | None = None) -> Diff:
        """Replace the document (called by undo commands) and announce the difference."""
        diff = diff_definitions(self._definition, definition, renamed or {})
        name_changed = definition.name != self._definition.name
        self._definition = copy_of(definition)
        self.changed.emit(diff)
        if name_changed:
            self.file_changed.emit()
        return diff

    def reset(
        self,
        definition: WorkflowDefinition,
        path: Path | None,
        *,
        clean: bool = True,
        store_name: str | None = None,
    ) -> None:
        """Start over with a new document (New, Open, Import): no undo history."""
        self._definition = copy_of(definition)
        self.path = path
        self.store_name = store_name
        self.undo_stack.clear()
        if not clean:
            # An opened file that had to be repaired (renamed duplicates) is unsaved.
            self.undo_stack.resetClean()
        self.changed.emit(Diff(added=self.node_ids(), reset=True))
        self.file_changed.emit()

    def mark_saved(self, path: Path | None, *, store_name: str | None = None) -> None:
        if path is not None:
            self.path = path
        if store_name is not None:
            self.store_name = store_name
        self.undo_stack.setClean()
        self.file_changed.emit()
