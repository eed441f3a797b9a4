"""The one JSON reader's limits (issue 12, point 8): nesting, integer length and lone surrogates
are refused with a location, and nothing but the documented errors ever comes out of it."""

from __future__ import annotations

import json
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowdesk.model import WorkflowLoadError, parse_workflow
from flowdesk.model.loading import MAX_JSON_DEPTH, UnsupportedJsonError, parse_json, read_json


def nested(depth: int, inner: str = "0") -> str:
    return "[" * depth + inner + "]" * depth


def test_nesting_up_to_the_limit_reads_and_one_more_level_is_refused() -> None:
    assert read_json(nested(MAX_JSON_DEPTH)) is not None
    with pytest.raises(UnsupportedJsonError) as refused:
        read_json(nested(MAX_JSON_DEPTH + 1))
    assert refused.value.message == f"JSON nested more than {MAX_JSON_DEPTH} levels deep"
    assert refused.value.location == f"line 1, column {MAX_JSON_DEPTH + 1}"


def test_nesting_past_pythons_recursion_limit_is_the_same_clear_error() -> None:
    text = '{\n  "a":\n' + nested(100_000) + "}"
    with pytest.raises(UnsupportedJsonError) as refused:
        read_json(text)
    assert refused.value.location == f"line 3, column {MAX_JSON_DEPTH}"


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = json.dumps({"text": "[" * 1000, "escaped": '\\"[[[' * 300})
    assert read_json(text)["text"] == "[" * 1000


def test_an_integer_longer_than_python_converts_is_refused_where_it_is() -> None:
    limit = sys.get_int_max_str_digits()
    digits = "7" * (limit + 1)
    text = '{"fine": 1.' + digits + ', "n": -' + digits + "}"  # a float's digits are fine
    with pytest.raises(UnsupportedJsonError) as refused:
        read_json(text)
    assert refused.value.message == f"number too long: {limit + 1:,} digits (at most {limit:,})"
    assert refused.value.location == f"line 1, column {text.index('-') + 1}"
    assert read_json('{"n": ' + "7" * limit + "}")["n"] > 0


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ('"\\ud800"', None),
        ('{"name": "a\\udfff"}', "name"),
        ('{"dag": {"nodes": [{"id": "ok"}, {"id": "x\\uDBFF"}]}}', "dag.nodes[1].id"),
        ('{"k\\ud800": 1}', None),
        ('{"outer": {"k\\ud800": 1}}', "outer"),
        ('["\\ud83d"]', "[0]"),  # the first half of a pair, alone
        ('["\\ude00\\ud83d"]', "[0]"),  # both halves, in the wrong order
    ],
)
def test_a_lone_surrogate_is_refused_with_its_path(text, path) -> None:
    with pytest.raises(UnsupportedJsonError) as refused:
        read_json(text)
    assert refused.value.location == path
    assert "lone surrogate" in refused.value.message
    assert refused.value.message.encode("utf-8")  # printable on any terminal


def test_surrogate_pairs_and_other_text_read_as_ever() -> None:
    assert read_json('["\\ud83d\\ude00", "caf\\u00e9", "\\\\ud800"]') == ["😀", "café", "\\ud800"]


def test_a_raw_lone_surrogate_in_pasted_text_is_refused_too() -> None:
    with pytest.raises(WorkflowLoadError) as refused:
        parse_json('{"name": "\ud800"}')
    [problem] = refused.value.problems
    assert problem.location == "name"
    assert "lone surrogate" in str(problem)


# -- properties: only documented errors, whatever the input -----------------------------------

ANY_TEXT = st.text(st.characters() | st.integers(0xD800, 0xDFFF).map(chr), max_size=40)
"""Any code point, lone surrogates included (hypothesis leaves them out by default)."""
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(ANY_TEXT, children, max_size=4)
    ),
    max_leaves=30,
)


def embed(value, depth: int) -> dict:
    """A workflow that carries `value`, `depth` lists deep, in a node's config and its name."""
    for _ in range(depth):
        value = [value]
    name = value if isinstance(value, str) else "w"
    node = {"id": "a", "handler": "transform", "config": {"value": value}}
    return {"name": name, "dag": {"nodes": [node]}}


@settings(max_examples=200, deadline=None)
@given(JSON_VALUES, st.integers(0, 400), st.booleans())
def test_any_json_loads_or_fails_with_a_workflow_load_error(value, depth, ascii_only) -> None:
    text = json.dumps(embed(value, depth), ensure_ascii=ascii_only)
    try:
        definition = parse_workflow(text)
    except WorkflowLoadError as exc:
        assert exc.problems
        assert all("\n" not in str(problem) for problem in exc.problems)
    else:
        # What loads can be written back and stored: UTF-8, not too deep.
        assert json.dumps(definition.to_json_dict()).encode("utf-8")


JSON_SOUP = st.lists(
    st.sampled_from([*'[]{}",:0123456789-.eE truefalsn\\u', "\ud800", "d83d", "9" * 2200]),
    max_size=300,
).map("".join)
"""JSON-ish token soup: brackets, escapes, raw surrogates, and runs of digits that add up to
integers too long to convert."""


@settings(max_examples=300, deadline=None)
@given(JSON_SOUP)
def test_any_text_reads_or_fails_with_a_documented_error(text) -> None:
    try:
        read_json(text)
    except (json.JSONDecodeError, UnsupportedJsonError):
        with pytest.raises(WorkflowLoadError):
            parse_json(text)
