"""Undo commands: every editor change is a before/after pair of workflow definitions."""

from __future__ import annotations

from PySide6.QtGui import QUndoCommand

from flowdesk.gui.document import WorkflowDocument
from flowdesk.model import WorkflowDefinition
from flowdesk.model.edits import copy_of


class DocumentEdit(QUndoCommand):
    """Swap the document between two states; renames let views keep their items.

    Whole-definition snapshots keep every command trivially correct (undo is
    "put the old document back"); a 300-node workflow copies in milliseconds.
    """

    def __init__(
        self,
        document: WorkflowDocument,
        text: str,
        after: WorkflowDefinition,
        *,
        renamed: dict[str, str] | None = None,
    ) -> None:
        super().__init__(text)
        self._document = document
        self._before = copy_of(document.definition)
        self._after = copy_of(after)
        self._renamed = dict(renamed or {})

    def redo(self) -> None:
        self._document.apply(self._after, self._renamed)

    def undo(self) -> None:
        self._document.apply(self._before, {new: old for old, new in self._renamed.items()})


def push_edit(
    document: WorkflowDocument,
    text: str,
    after: WorkflowDefinition,
    *,
    renamed: dict[str, str] | None = None,
) -> None:
    """Push an edit unless it changes nothing (so no empty undo steps and no false `*`)."""
    if after == document.definition and not renamed:
        return
    document.undo_stack.push(DocumentEdit(document, text, after, renamed=renamed))
