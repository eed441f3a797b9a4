"""Template resolution: typed single expressions, text rendering, strictness, sandboxing."""

from __future__ import annotations

import json
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowdesk.model.templates import (
    TemplateError,
    compile_template,
    is_template,
    iter_templates,
    referenced_names,
    resolve_templates,
)

CONTEXT = {
    "params": {"user_id": 7, "name": "Ada", "code": "007", "tags": ["a", "b"]},
    "get_user": {"status_code": 200, "body": {"id": 7, "path": {"to": [{"value": "deep"}]}}},
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ params.user_id }}", 7),
        ("{{ params.code }}", "007"),
        ("{{ get_user.body }}", {"id": 7, "path": {"to": [{"value": "deep"}]}}),
        ("{{ get_user.body.path.to[0].value }}", "deep"),
        ("{{ get_user['body']['id'] + 1 }}", 8),
        ("{{ params.tags }}", ["a", "b"]),
        ("{{ params.tags | length }}", 2),
        ("{{ params.missing | default('x') }}", "x"),
        ("{{ params.user_id is number }}", True),
    ],
)
def test_single_expression_keeps_its_type(template, expected) -> None:
    assert resolve_templates(template, CONTEXT) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("http://127.0.0.1:8911/users/{{ params.user_id }}", "http://127.0.0.1:8911/users/7"),
        ("{{ params.user_id }}{{ params.user_id }}", "77"),
        (" {{ params.user_id }}", " 7"),
        ("tags={{ params.tags }}", 'tags=["a", "b"]'),
        ("{% if params.user_id > 5 %}big{% else %}small{% endif %}", "big"),
        ("{{ params.tags | tojson }}!", '["a", "b"]!'),
    ],
)
def test_embedded_expressions_render_as_text(template, expected) -> None:
    assert resolve_templates(template, CONTEXT) == expected


def test_only_template_strings_are_touched() -> None:
    value = {"n": 7, "s": "007", "f": 1.5, "none": None, "list": [True, "plain {text}"]}
    assert resolve_templates(value, CONTEXT) == value


def test_missing_key_fails_naming_the_expression() -> None:
    with pytest.raises(TemplateError) as info:
        resolve_templates({"url": "{{ get_user.body.missing }}"}, CONTEXT)
    message = str(info.value)
    assert "{{ get_user.body.missing }}" in message
    assert "config.url" in message
    assert "missing" in info.value.reason


def test_missing_key_in_text_fails_too() -> None:
    with pytest.raises(TemplateError, match="undefined"):
        resolve_templates("id={{ params.nope }}", CONTEXT)


def test_missing_key_inside_a_built_structure_fails() -> None:
    with pytest.raises(TemplateError):
        resolve_templates("{{ [params.nope] }}", CONTEXT)


@pytest.mark.parametrize(
    "template",
    [
        "{{ params.__class__.__mro__ }}",
        "{{ get_user.body.update({'id': 1}) }}",
        "{{ range(10) }}",
        "{{ lipsum() }}",
    ],
)
def test_templates_cannot_escape_the_sandbox(template) -> None:
    before = json.dumps(CONTEXT)
    with pytest.raises(TemplateError):
        resolve_templates(template, CONTEXT)
    assert json.dumps(CONTEXT) == before


def test_syntax_error_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match="syntax error"):
        compile_template("{{ params.user_id ")


def test_static_references() -> None:
    config = {
        "url": "http://h/{{ get_user.body.id }}/{{ params.x }}",
        "json": {"a": ["{{ other | length }}", "{% for t in third %}{{ t }}{% endfor %}"]},
        "plain": "no templates",
    }
    assert referenced_names(config) == {"get_user", "params", "other", "third"}
    assert [loc for loc, _ in iter_templates(config)] == [
        "config.url",
        "config.json.a[0]",
        "config.json.a[1]",
    ]


# Property-based: resolution preserves structure and maps every template leaf as expected.

json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=string.ascii_letters + string.digits + " {}%#-_"),
)
json_values = st.recursive(
    json_leaves,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.text(string.ascii_letters, min_size=1, max_size=5), children, max_size=4
        ),
    ),
    max_leaves=20,
)


@given(json_values)
def test_values_without_templates_pass_through_unchanged(value) -> None:
    if any(True for _ in iter_templates(value)):
        return
    assert resolve_templates(value, {"params": {}}) == value


@given(json_values, json_values)
def test_single_expression_returns_the_param_itself(structure, param) -> None:
    """Replace every leaf of a structure with `{{ params.v }}`: each becomes `param`, typed."""

    def templated(value):
        if isinstance(value, dict):
            return {k: templated(v) for k, v in value.items()}
        if isinstance(value, list):
            return [templated(v) for v in value]
        return "{{ params.v }}"

    def expected(value):
        if isinstance(value, dict):
            return {k: expected(v) for k, v in value.items()}
        if isinstance(value, list):
            return [expected(v) for v in value]
        return param

    assert resolve_templates(templated(structure), {"params": {"v": param}}) == expected(structure)


@given(
    st.text(alphabet=string.ascii_letters + string.digits + " .,:/-", min_size=1, max_size=30),
    st.integers(),
)
def test_embedded_expression_renders_as_text(prefix, number) -> None:
    template = prefix + "{{ params.n }}"
    assert is_template(template)
    assert resolve_templates(template, {"params": {"n": number}}) == prefix + str(number)
