"""The params dialog: a JSON object for the run, checked as you type."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtGui import QFontDatabase, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from flowdesk.gui import theme
from flowdesk.model.loading import UnsupportedJsonError, read_json


def parse_params(text: str) -> tuple[dict[str, Any] | None, str]:
    """(params, "") when `text` is a JSON object (blank means {}), else (None, why not)."""
    if not text.strip():
        return {}, ""
    try:
        value = read_json(text)
    except json.JSONDecodeError as exc:
        return None, f"line {exc.lineno}, column {exc.colno}: {exc.msg}"
    except UnsupportedJsonError as exc:  # too deep, a number too long, a lone surrogate
        return None, str(exc)
    if not isinstance(value, dict):
        return None, f"params must be a JSON object, not {type(value).__name__}"
    return value, ""


class ParamsDialog(QDialog):
    def __init__(self, parent: QWidget | None, workflow: str, text: str) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Run “{workflow}”")
        self.editor = QPlainTextEdit(text)
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.error = QLabel()
        self.error.setStyleSheet(theme.ERROR_TEXT_STYLE)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Run")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        # Enter makes a new line in the editor; Ctrl+Enter runs, as in other JSON editors.
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, activated=self._accept_if_valid)
        layout = QVBoxLayout(self)
        layout.addWidget(
            QLabel("Params: a JSON object, available as {{ params.… }}. Ctrl+Enter runs.")
        )
        layout.addWidget(self.editor)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.editor.textChanged.connect(self._check)
        self.resize(460, 300)
        self._check()

    def _accept_if_valid(self) -> None:
        if self.buttons.button(QDialogButtonBox.StandardButton.Ok).isEnabled():
            self.accept()

    def _check(self) -> None:
        _, why = parse_params(self.editor.toPlainText())
        self.error.setText(why)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not why)
