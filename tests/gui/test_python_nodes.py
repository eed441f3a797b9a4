"""`python` nodes in the editor: asked once per content before their code first runs, the
code edited in a monospaced editor, and the node's log in the inspector."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QApplication, QMessageBox, QPlainTextEdit

from flowdesk.engine.states import NodeState, RunState
from flowdesk.gui.files import Dialogs

from .helpers import select
from .test_runs import INPUT, finish

CODE = "def main(inputs, params):\n    print('hello from', params['who'])\n    return 7\n"


def write(tmp_path, code: str, name: str = "py.json") -> str:
    node = {"id": "py", "handler": "python", "dependencies": ["input"], "config": {"code": code}}
    path = tmp_path / name
    path.write_text(json.dumps({"name": "python wf", "dag": {"nodes": [INPUT, node]}}))
    return str(path)


def test_first_run_asks_once_per_content_and_the_log_shows_in_the_inspector(
    window, loop, tmp_path
) -> None:
    dialogs = window.dialogs
    assert window.open_file(write(tmp_path, CODE), ask=False)
    dialogs.params_answers.append('{"who": "py"}')
    dialogs.confirm_answers.append(False)
    assert window.runs.run() is None  # refused: nothing runs
    assert len(dialogs.confirmations) == 1
    assert "This workflow runs Python code on your computer" in dialogs.confirmations[0]
    assert dialogs.risky_confirmations == [True]  # No is the default answer
    assert dialogs.params_asked == []

    dialogs.confirm_answers.append(True)
    assert window.runs.run() is not None
    assert len(dialogs.confirmations) == 2
    result = finish(window, loop)
    assert result.state is RunState.COMPLETED
    assert result.nodes["py"].output == 7
    select(window, "py")
    inspector = window.runs.panel.inspector
    assert "SUCCEEDED" in inspector.title.text()
    assert inspector.node_log.toPlainText() == "hello from py\n"

    # The same content again, even reopened: not asked (confirm_answers is empty).
    assert window.open_file(write(tmp_path, CODE, "copy.json"), ask=False)
    assert window.runs.run() is not None
    finish(window, loop)
    assert len(dialogs.confirmations) == 2

    # Other code: asked again.
    assert window.open_file(write(tmp_path, CODE.replace("7", "8"), "other.json"), ask=False)
    dialogs.confirm_answers.append(True)
    assert window.runs.run() is not None
    assert finish(window, loop).nodes["py"].output == 8
    assert len(dialogs.confirmations) == 3


def test_a_failing_node_shows_its_last_line_and_its_traceback_in_the_log(
    window, loop, tmp_path
) -> None:
    code = "def main(inputs, params):\n    raise KeyError('nope')\n"
    assert window.open_file(write(tmp_path, code), ask=False)
    window.dialogs.confirm_answers.append(True)
    window.runs.run()
    result = finish(window, loop)
    assert result.nodes["py"].state is NodeState.FAILED
    select(window, "py")
    inspector = window.runs.panel.inspector
    assert inspector.error.text() == "KeyError: 'nope'"
    log = inspector.node_log.toPlainText()
    assert log.startswith("Traceback (most recent call last):")
    assert "raise KeyError('nope')" in log


def test_the_code_is_edited_in_a_monospaced_editor(window, tmp_path) -> None:
    assert window.open_file(write(tmp_path, CODE), ask=False)
    select(window, "py")
    editors = [w for w in window.findChildren(QPlainTextEdit, "field_code") if w.isVisible()]
    assert len(editors) == 1
    editor = editors[0]
    assert editor.toPlainText() == CODE
    fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    assert editor.font().family() == fixed.family() != window.font().family()
    assert editor.lineWrapMode() is QPlainTextEdit.LineWrapMode.NoWrap
    assert not editor.tabChangesFocus()  # Tab indents


@pytest.mark.parametrize("key", [Qt.Key.Key_Return, Qt.Key.Key_Escape], ids=["Enter", "Esc"])
def test_enter_or_esc_on_the_python_question_does_not_run(
    window, loop, tmp_path, qtbot, key
) -> None:
    """The real question box: No is its default button and its Esc answer."""
    window.dialogs.confirm = Dialogs.confirm.__get__(window.dialogs)  # the real dialog
    assert window.open_file(write(tmp_path, CODE), ask=False)
    boxes: list[QMessageBox] = []

    def answer() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        boxes.append(box)
        qtbot.keyClick(box, key)

    QTimer.singleShot(0, answer)
    run_id = window.runs.run()
    if window.runs.active:  # it ran after all: end it, so the failure is reported, not a hang
        window.runs.cancel()
        finish(window, loop)
    assert run_id is None
    assert len(boxes) == 1 and window.dialogs.params_asked == []
    assert not window.runs.active
    assert window.statusBar().currentMessage().startswith("Not run: the workflow's Python code")
