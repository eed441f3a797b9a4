"""The params dialog: JSON checked as you type, Ctrl+Enter runs, Enter makes a new line."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QDialogButtonBox

from flowdesk.gui.params_dialog import ParamsDialog, parse_params


def test_parse_params() -> None:
    assert parse_params("") == ({}, "")
    assert parse_params('{"a": 1}') == ({"a": 1}, "")
    assert parse_params("[1]") == (None, "params must be a JSON object, not list")
    assert parse_params("{oops")[1].startswith("line 1, column 2")


def test_params_beyond_flowdesks_json_limits_are_refused_with_the_reason() -> None:
    assert (
        "nested more than 200 levels" in parse_params('{"a": ' + "[" * 5000 + "]" * 5000 + "}")[1]
    )
    assert "number too long" in parse_params('{"a": ' + "9" * 5000 + "}")[1]
    assert "surrogate" in parse_params('{"a": "\\ud800"}')[1]


def test_invalid_json_disables_run_and_ctrl_enter_runs(qtbot) -> None:
    dialog = ParamsDialog(None, "wf", "{}")
    qtbot.addWidget(dialog)
    run = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    (ctrl_enter,) = [
        s for s in dialog.findChildren(QShortcut) if s.key() == QKeySequence("Ctrl+Return")
    ]
    dialog.editor.setPlainText("{oops")
    assert not run.isEnabled() and "line 1" in dialog.error.text()
    ctrl_enter.activated.emit()
    assert dialog.result() != QDialog.DialogCode.Accepted
    dialog.editor.setPlainText('{"user_id": 2}')
    assert run.isEnabled() and dialog.error.text() == ""
    ctrl_enter.activated.emit()
    assert dialog.result() == QDialog.DialogCode.Accepted
