"""Edits still being typed are applied before a run, save, export or close (issue 11, defect 1).

F5 and Ctrl+S leave the focus in the field, so the field never loses focus:
these tests type with real key events and trigger the command while the
field still has focus.
"""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt

from flowdesk.engine.states import RunState

from .helpers import select
from .test_runs import finish

SHAPE = {
    "id": "shape",
    "handler": "transform",
    "dependencies": ["input"],
    "config": {"value": {"v": 1}},
}
NODES = [
    {"id": "input", "handler": "input", "dependencies": []},
    SHAPE,
    {"id": "output", "handler": "output", "dependencies": ["shape"]},
]


@pytest.fixture
def workflow(tmp_path):
    path = tmp_path / "pending.json"
    path.write_text(json.dumps({"name": "pending edits", "dag": {"nodes": NODES}}))
    return path


def focus_and_type(qtbot, window, widget, text: str) -> None:
    """Focus a field, replace its text with real key presses, and leave the focus there."""
    window.activateWindow()
    widget.setFocus()
    qtbot.waitUntil(widget.hasFocus, timeout=2000)
    qtbot.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(widget, Qt.Key.Key_Delete)
    qtbot.keyClicks(widget, text)
    assert widget.hasFocus()


def value_field(window, qtbot, workflow):
    assert window.open_file(workflow, ask=False)
    select(window, "shape")
    return window.config_form.fields["value"].widget


def status(window) -> str:
    return window.statusBar().currentMessage()


@pytest.mark.parametrize("how", ["F5 key", "Run action"])
def test_run_uses_the_value_typed_without_leaving_the_field(how, window, loop, qtbot, workflow):
    field = value_field(window, qtbot, workflow)
    focus_and_type(qtbot, window, field, '{"v": 2}')
    if how == "F5 key":
        qtbot.keyClick(field, Qt.Key.Key_F5)
    else:
        window.runs.act_run.trigger()
    assert window.dialogs.params_asked, "the run did not start"
    result = finish(window, loop)
    assert result.state is RunState.COMPLETED
    assert result.nodes["shape"].output == {"v": 2}
    assert result.nodes["shape"].resolved_config == {"value": {"v": 2}}
    assert window.document.definition.node("shape").config == {"value": {"v": 2}}
    assert not window.runs.panel.note.text()  # not "used an earlier version"


def test_an_id_typed_without_leaving_the_field_is_applied_before_the_run(
    window, loop, qtbot, workflow
):
    value_field(window, qtbot, workflow)
    focus_and_type(qtbot, window, window.config_form.id_edit, "reshaped")
    qtbot.keyClick(window.config_form.id_edit, Qt.Key.Key_F5)
    result = finish(window, loop)
    assert result.nodes["reshaped"].output == {"v": 1}
    assert window.document.has_node("reshaped")


def test_a_refused_edit_stops_the_run_and_says_why(window, loop, qtbot, workflow):
    field = value_field(window, qtbot, workflow)
    focus_and_type(qtbot, window, field, '{"v": ')
    qtbot.keyClick(field, Qt.Key.Key_F5)
    assert window.dialogs.params_asked == []  # never got as far as asking for params
    assert not window.runs.controller.active
    assert "Cannot run" in status(window)
    assert "node 'shape', value: invalid JSON" in status(window)
    editor = window.config_form.fields["value"]
    assert editor.error and editor.message_label.isVisibleTo(window)
    assert window.document.definition.node("shape").config == {"value": {"v": 1}}


def test_save_writes_the_value_typed_without_leaving_the_field(window, qtbot, workflow):
    field = value_field(window, qtbot, workflow)
    focus_and_type(qtbot, window, field, '{"v": 3}')
    qtbot.keyClick(field, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    saved = json.loads(workflow.read_text())
    assert saved["dag"]["nodes"][1]["config"] == {"value": {"v": 3}}
    assert not window.document.modified


def test_save_export_and_store_refuse_an_edit_that_cannot_be_applied(
    window, qtbot, workflow, tmp_path
):
    field = value_field(window, qtbot, workflow)
    before = workflow.read_text()
    focus_and_type(qtbot, window, field, "[1, 2")
    window.dialogs.save_paths.extend([str(tmp_path / "as.json"), str(tmp_path / "x.seed.json")])
    assert not window.save()
    assert "Cannot save: node 'shape', value: invalid JSON" in status(window)
    assert not window.save_as()
    assert not window.export_dialog()
    assert "Cannot export" in status(window)
    assert not window.save_to_store()
    assert workflow.read_text() == before
    assert not (tmp_path / "as.json").exists() and not (tmp_path / "x.seed.json").exists()
    assert window.dialogs.save_paths  # no file dialog was even opened


def test_export_and_store_save_use_the_value_typed(window, qtbot, workflow, tmp_path):
    field = value_field(window, qtbot, workflow)
    focus_and_type(qtbot, window, field, '{"v": 4}')
    window.dialogs.save_paths.append(str(tmp_path / "out.seed.json"))
    window.act_export.trigger()
    exported = json.loads((tmp_path / "out.seed.json").read_text())
    assert exported["dag"]["nodes"][1]["config"] == {"value": {"v": 4}}
    focus_and_type(qtbot, window, field, '{"v": 5}')
    assert window.save_to_store()
    stored = window.library.load("pending edits")
    assert stored.node("shape").config == {"value": {"v": 5}}


def test_closing_commits_the_typed_value_and_asks_to_save_it(window, qtbot, workflow):
    field = value_field(window, qtbot, workflow)
    assert not window.document.modified
    focus_and_type(qtbot, window, field, '{"v": 6}')
    window.dialogs.unsaved_answers.append("cancel")
    assert not window.close()
    assert window.dialogs.asked_unsaved == 1  # the typed edit made the document unsaved
    assert window.document.definition.node("shape").config == {"value": {"v": 6}}


def test_closing_with_an_edit_that_cannot_be_applied_keeps_the_window(window, qtbot, workflow):
    field = value_field(window, qtbot, workflow)
    focus_and_type(qtbot, window, field, "{oops")
    assert not window.close()
    assert window.isVisible()
    assert "Cannot close the window: node 'shape', value" in status(window)
    assert window.dialogs.asked_unsaved == 0


def test_a_refused_edit_stays_red_when_another_field_is_applied(window, qtbot, workflow):
    """A refused value is still pending: reloading the form must not hide it by putting the
    document's value back."""
    value_field(window, qtbot, workflow)
    form = window.config_form
    focus_and_type(qtbot, window, form.fields["value"].widget, "{oops")
    focus_and_type(qtbot, window, form.timeout_s.widget, "7")
    qtbot.keyClick(form.timeout_s.widget, Qt.Key.Key_Return)
    assert window.document.definition.node("shape").timeout_s == 7
    assert form.fields["value"].widget.toPlainText() == "{oops"
    assert form.commit_pending() is False


def test_the_workflow_name_typed_without_leaving_the_field_is_saved(window, qtbot, workflow):
    assert window.open_file(workflow, ask=False)
    focus_and_type(qtbot, window, window.name_edit, "Renamed by typing")
    qtbot.keyClick(window.name_edit, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert json.loads(workflow.read_text())["name"] == "Renamed by typing"


def test_an_empty_workflow_name_is_not_applied_and_the_name_comes_back(window, qtbot, workflow):
    assert window.open_file(workflow, ask=False)
    focus_and_type(qtbot, window, window.name_edit, "   ")
    assert window.commit_pending_edits("save")
    assert window.name_edit.text() == "pending edits"
    assert window.document.definition.name == "pending edits"
    assert "needs a name" in status(window)


def test_taking_back_the_typing_clears_the_refusal(window, qtbot, workflow):
    field = value_field(window, qtbot, workflow)
    shown = field.toPlainText()
    focus_and_type(qtbot, window, field, "{oops")
    assert not window.commit_pending_edits("save")
    editor = window.config_form.fields["value"]
    assert editor.error
    for _ in range(len("{oops") + 1):  # Ctrl+Z in the field, back to the document's text
        qtbot.keyClick(field, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert field.toPlainText() == shown
    assert editor.error is None and "235, 64, 52" not in field.styleSheet()
    assert window.commit_pending_edits("close the window")
    assert window.document.undo_stack.count() == 0
