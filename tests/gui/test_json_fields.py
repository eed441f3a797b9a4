"""JSON config fields: broken JSON holding a template is invalid, not text (issue 11, defect 2)."""

from __future__ import annotations

import json

import pytest

from flowdesk.gui.schema_fields import field_schemas, parse_json_field

from .conftest import REPO
from .helpers import select, type_into

TEMPLATE_CHAIN = REPO / "resources" / "examples" / "template_chain.json"


@pytest.fixture
def chain(tmp_path):
    copy = tmp_path / "template_chain.json"
    copy.write_text(TEMPLATE_CHAIN.read_text(encoding="utf-8"), encoding="utf-8")
    return copy


@pytest.mark.parametrize(
    ("text", "text_allowed", "value"),
    [
        ('{"who": "{{ params.name }}"}', False, {"who": "{{ params.name }}"}),
        ("[1, 2]", False, [1, 2]),
        ("{{ params.headers }}", False, "{{ params.headers }}"),  # one template: the whole value
        ("  {{ summary }}\n", True, "{{ summary }}"),
        ("Hello {{ params.name }}!", True, "Hello {{ params.name }}!"),
        ('"quoted {{ x }}"', True, "quoted {{ x }}"),
        ("{% if params.a %}yes{% endif %}", True, "{% if params.a %}yes{% endif %}"),
    ],
)
def test_accepted_json_field_text(text, text_allowed, value):
    assert parse_json_field(text, text_allowed=text_allowed) == (value, None)


@pytest.mark.parametrize(
    ("text", "text_allowed"),
    [
        ('"author": "{{ x }}",\n  "n": "{{ y }}"\n}', True),  # an object that lost its {
        ('{"author": "{{ x }}"', True),  # ... or its }
        ("[{{ a }}, {{ b }}]", True),  # a list of bare templates is not JSON
        ('"{{ x }}" and more', True),
        ("Bearer {{ params.token }}", False),  # text in a dict-only field
        ("{{ a }} {{ b }}", False),
        ("hello", True),
    ],
)
def test_refused_json_field_text(text, text_allowed):
    value, error = parse_json_field(text, text_allowed=text_allowed)
    assert value is None
    assert error is not None and error.startswith("invalid JSON") and "line" in error


def test_plain_text_is_told_to_use_quotes():
    _value, error = parse_json_field("hello", text_allowed=True)
    assert "double quotes" in error


def test_text_is_allowed_only_where_the_schema_takes_a_string(config_models):
    allowed = {
        (handler, f.name): f.text_allowed
        for handler, model in config_models.items()
        for f in field_schemas(model.model_json_schema())
        if f.kind == "json"
    }
    assert allowed[("transform", "value")] is True  # Any
    assert allowed[("output", "value")] is True
    assert allowed[("call_external_service", "json")] is True
    assert allowed[("call_external_service", "headers")] is False  # dict[str, str]
    assert allowed[("call_external_service", "query")] is False


def test_deleting_the_opening_brace_of_template_chain_summary_is_refused(
    chain, window, qtbot, tmp_path
):
    assert window.open_file(chain)
    select(window, "summary")
    editor = window.config_form.fields["value"]
    before = window.document.definition
    text = editor.widget.toPlainText()
    assert text.startswith("{")
    type_into(editor.widget, text[1:])
    assert editor.error and "invalid JSON" in editor.error
    assert "235, 64, 52" in editor.widget.styleSheet()  # the red field
    assert editor.message_label.isVisibleTo(window)
    assert window.document.definition == before
    assert window.document.undo_stack.count() == 0
    # The file is never written with the blob.
    file_before = chain.read_text()
    assert not window.save()
    assert chain.read_text() == file_before
    # Putting the brace back applies nothing new and clears the error.
    type_into(editor.widget, text)
    assert editor.error is None
    assert window.document.definition.node("summary").config == before.node("summary").config


def test_untouched_template_fields_round_trip_without_errors(chain, window):
    """Every json field of the example, committed as shown, gives back the same config."""
    assert window.open_file(chain)
    for node_id in window.document.node_ids():
        select(window, node_id)
        for editor in window.config_form.fields.values():
            editor.committed.emit(editor.field.name)
            assert editor.error is None, (node_id, editor.field.name, editor.error)
    assert window.document.undo_stack.count() == 0
    select(window, "output")
    assert window.config_form.fields["value"].widget.toPlainText() == "{{ summary }}"


def test_a_string_that_would_read_back_as_json_is_shown_quoted(window):
    window.controller.add_node("transform", (0, 0))
    select(window, "transform")
    type_into(window.config_form.fields["value"].widget, json.dumps("rows: [{{ params.n }}]"))
    assert window.document.definition.node("transform").config["value"] == "rows: [{{ params.n }}]"
    shown = window.config_form.fields["value"].widget.toPlainText()
    assert shown == '"rows: [{{ params.n }}]"'
    assert window.config_form.commit_pending()


def test_a_field_beyond_flowdesks_json_limits_is_refused_with_the_reason() -> None:
    value, error = parse_json_field("[" * 5000 + "]" * 5000, text_allowed=False)
    assert value is None and "nested more than 200 levels" in (error or "")
