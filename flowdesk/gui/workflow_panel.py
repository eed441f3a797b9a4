"""The Workflow panel: the workflow's description, where examples keep their instructions.

The text is the document's `description`; an edit is applied when the field
loses focus (or when the window commits pending edits before a run or save),
as one undoable step.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from flowdesk.gui.document import WorkflowDocument


class WorkflowPanel(QWidget):
    """Shows and edits the description; `edit_description` turns an edit into an undo step."""

    def __init__(self, document: WorkflowDocument, edit_description: Callable[[str], None]) -> None:
        super().__init__()
        self.document = document
        self.edit_description = edit_description
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        label = QLabel("Description")
        label.setStyleSheet("color: gray;")
        layout.addWidget(label)
        self.description = QPlainTextEdit()
        self.description.setObjectName("workflow_description")
        self.description.setPlaceholderText(
            "What this workflow does and how to run it: params, services it needs."
        )
        self.description.setTabChangesFocus(True)
        self.description.installEventFilter(self)
        layout.addWidget(self.description)
        document.changed.connect(lambda _diff: self._reload())
        self._reload()

    def text(self) -> str:
        return self.description.toPlainText()

    def _reload(self) -> None:
        """Follow the document (open, undo), but never overwrite what the user is typing."""
        if self.description.hasFocus():
            return
        wanted = self.document.definition.description or ""
        if self.description.toPlainText() != wanted:
            self.description.setPlainText(wanted)

    def is_pending(self) -> bool:
        return (self.text().rstrip() or None) != self.document.definition.description

    def commit_pending(self) -> None:
        """Apply the text if it differs from the document (a description is never invalid)."""
        if self.is_pending():
            self.edit_description(self.text())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.description and event.type() == QEvent.Type.FocusOut:
            self.commit_pending()
        return False
