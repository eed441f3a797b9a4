"""The config panel: generated fields, inline errors that never reach the document, undo."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QComboBox, QLineEdit, QPlainTextEdit

from flowdesk.gui.schema_fields import field_schemas
from flowdesk.model import RetryPolicy

from .helpers import select, type_into


def open_seed_and_select(seed, window, node_id: str) -> None:
    assert window.open_file(seed)
    select(window, node_id)
    assert window.config_form.node_id == node_id


def test_fields_follow_the_handler_schema(seed, window):
    open_seed_and_select(seed, window, "get_user")
    fields = window.config_form.fields
    assert set(fields) == {
        "url", "method", "headers", "query", "json", "body", "timeout_s", "max_response_mb"
    }  # fmt: skip
    assert isinstance(fields["url"].widget, QPlainTextEdit)  # may hold templates: multi-line
    assert isinstance(fields["method"].widget, QComboBox)
    assert fields["method"].widget.findText("POST") >= 0
    assert isinstance(fields["headers"].widget, QPlainTextEdit)  # JSON
    assert isinstance(fields["timeout_s"].widget, QLineEdit)
    assert isinstance(fields["max_response_mb"].widget, QLineEdit)
    assert fields["max_response_mb"].widget.placeholderText() == "(default: 50)"
    assert "MB" in fields["max_response_mb"].widget.toolTip()
    assert fields["url"].widget.toPlainText() == "http://localhost:8911/document/policy/list"


def test_schema_kinds_cover_booleans_integers_and_optionals():
    schema = {
        "properties": {
            "flag": {"type": "boolean"},
            "count": {"type": "integer"},
            "maybe": {"anyOf": [{"type": "number"}, {"type": "null"}], "default": None},
            "mode": {"enum": ["a", "b"], "type": "string"},
            "anything": {},
            "name": {"type": "string"},
        },
        "required": ["count"],
    }
    kinds = {f.name: (f.kind, f.required) for f in field_schemas(schema)}
    assert kinds == {
        "flag": ("boolean", False),
        "count": ("integer", True),
        "maybe": ("number", False),
        "mode": ("enum", False),
        "anything": ("json", False),
        "name": ("text", False),
    }


def test_boolean_field_is_a_checkbox():
    from flowdesk.gui.schema_fields import FieldEditor, FieldSchema

    editor = FieldEditor(FieldSchema("flag", "boolean", False))
    assert isinstance(editor.widget, QCheckBox)
    editor.set_value(True)
    assert editor.value() == (True, None)


def test_valid_edit_is_written_and_undoable(seed, window):
    open_seed_and_select(seed, window, "get_user")
    form = window.config_form
    type_into(form.fields["timeout_s"].widget, "12.5")
    type_into(form.fields["headers"].widget, '{"Accept": "application/json"}')
    combo = form.fields["method"].widget
    combo.setCurrentIndex(combo.findText("POST"))
    combo.activated.emit(combo.currentIndex())
    config = window.document.definition.node("get_user").config
    assert config["timeout_s"] == 12.5
    assert config["headers"] == {"Accept": "application/json"}
    assert config["method"] == "POST"
    window.act_undo.trigger()
    assert "method" not in window.document.definition.node("get_user").config
    assert form.fields["method"].widget.currentText() == "(default: GET)"  # the form follows undo


def test_invalid_values_are_shown_inline_and_never_written(seed, window):
    open_seed_and_select(seed, window, "get_user")
    form = window.config_form
    before = window.document.definition
    type_into(form.fields["timeout_s"].widget, "soon")
    assert "not a number" in form.fields["timeout_s"].message_label.text()
    assert "235, 64, 52" in form.fields["timeout_s"].widget.styleSheet()
    type_into(form.fields["timeout_s"].widget, "-3")
    assert "greater than 0" in form.fields["timeout_s"].message_label.text()
    type_into(form.fields["headers"].widget, '{"Accept": ')
    assert "invalid JSON" in form.fields["headers"].message_label.text()
    type_into(form.fields["url"].widget, "ftp://nope")
    assert "not an http" in form.fields["url"].message_label.text()
    type_into(form.fields["url"].widget, "")
    assert form.fields["url"].message_label.text() == "required"
    assert window.document.definition == before
    assert window.document.undo_stack.count() == 0
    # A good value clears the error.
    type_into(form.fields["timeout_s"].widget, "5")
    assert form.fields["timeout_s"].message_label.isHidden()
    assert window.document.definition.node("get_user").config["timeout_s"] == 5


def test_template_in_number_field_is_accepted(seed, window):
    open_seed_and_select(seed, window, "get_user")
    type_into(window.config_form.fields["timeout_s"].widget, "{{ params.t }}")
    assert window.document.definition.node("get_user").config["timeout_s"] == "{{ params.t }}"


def test_retry_and_timeout(seed, window):
    open_seed_and_select(seed, window, "get_posts")
    form = window.config_form
    type_into(form.max_attempts.widget, "3")
    assert window.document.definition.node("get_posts").retry == RetryPolicy(max_attempts=3)
    type_into(form.backoff_s.widget, "2")
    assert window.document.definition.node("get_posts").retry == RetryPolicy(
        max_attempts=3, backoff_s=2
    )
    type_into(form.max_attempts.widget, "0")
    assert form.max_attempts.message_label.isVisible() or form.max_attempts.error
    assert window.document.definition.node("get_posts").retry.max_attempts == 3
    type_into(form.timeout_s.widget, "30")
    assert window.document.definition.node("get_posts").timeout_s == 30
    type_into(form.timeout_s.widget, "0")
    assert form.timeout_s.error
    type_into(form.timeout_s.widget, "")
    assert window.document.definition.node("get_posts").timeout_s is None


def test_json_field_for_any_value(seed, window):
    window.controller.add_node("transform", (0, 0))
    select(window, "transform")
    type_into(window.config_form.fields["value"].widget, '{"ids": [1, 2], "who": "{{ params.x }}"}')
    assert window.document.definition.node("transform").config["value"] == {
        "ids": [1, 2],
        "who": "{{ params.x }}",
    }


def test_selecting_another_node_commits_the_field_being_typed(seed, window, qtbot):
    open_seed_and_select(seed, window, "get_user")
    url = window.config_form.fields["url"].widget
    window.activateWindow()
    url.setFocus()
    qtbot.waitUntil(url.hasFocus, timeout=1000)
    url.setPlainText("http://example.com/typed")
    assert window.document.definition.node("get_user").config["url"] != "http://example.com/typed"
    window.canvas.select(["get_posts"])
    assert window.config_form.node_id == "get_posts"
    assert window.document.definition.node("get_user").config["url"] == "http://example.com/typed"
    assert window.document.definition.node("get_posts").config["url"].endswith("/policy/list")


def test_deleting_the_shown_node_empties_the_panel(seed, window):
    open_seed_and_select(seed, window, "get_user")
    window.act_delete.trigger()
    assert window.config_form.node_id is None
    window.act_undo.trigger()
    select(window, "get_user")
    assert window.config_form.fields["url"].widget.toPlainText().endswith("/policy/list")
