"""Property-based tests of what a hostile file can reach: the loader, the validator and the
template resolver. Whatever goes in, only the documented errors come out (WorkflowLoadError,
validation problems, TemplateError), a template's value is JSON within the limit, and nothing
runs past its deadline."""

from __future__ import annotations

import json
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowdesk.engine import HandlerRegistry
from flowdesk.model import WorkflowLoadError, validate_workflow
from flowdesk.model.loading import parse_workflow, workflow_from_data
from flowdesk.model.template_limits import TemplateBudget
from flowdesk.model.templates import TemplateError, compile_template

LIMIT = 256 * 1024
CONTEXT = {"params": {"n": 10, "s": "ab", "lst": [3, -1, 2], "d": {"a": 1}, "big": 10**9}}
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

operands = st.sampled_from(
    [
        "params.n",
        "params.s",
        "params.lst",
        "params.d",
        "params.big",
        "params.nope",
        "1",
        "7",
        "1000000",
        "10**9",
        "-3",
        "2.5",
        "'ab'",
        "''",
        "[1, 2]",
        "{'k': 1}",
        "none",
        "true",
    ]
)
binary = st.sampled_from(["*", "**", "+", "-", "~", "%", "//", "/", " and ", " or ", "==", " in "])
suffixes = st.sampled_from(
    [
        "| center(10**9)",
        "| join('-')",
        "| map('abs')",
        "| list",
        "| replace('', 'xy')",
        "| format(1)",
        "| indent(1000000)",
        "| tojson",
        "| batch(3)",
        "| length",
        "| first",
        "| string",
        "| int",
        ".ljust(10**9)",
        ".items()",
        ".upper()",
        "[0]",
        "['k']",
        ".__class__",
    ]
)


def _expressions() -> st.SearchStrategy[str]:
    return st.recursive(
        operands,
        lambda inner: st.one_of(
            st.tuples(inner, binary, inner).map(lambda t: f"({t[0]}{t[1]}{t[2]})"),
            st.tuples(inner, suffixes).map(lambda t: f"({t[0]}){t[1]}"),
        ),
        max_leaves=6,
    )


expressions = _expressions()
templates = st.one_of(
    expressions.map(lambda e: "{{ " + e + " }}"),
    st.tuples(expressions, expressions).map(lambda t: "a{{ " + t[0] + " }}b{{ " + t[1] + " }}"),
    st.tuples(expressions, expressions).map(
        lambda t: "{% for x in " + t[0] + " %}{{ x ~ " + t[1] + " }}{% endfor %}"
    ),
    st.text(alphabet=string.printable + "\u00e9\ud800", max_size=40).map(lambda t: "{{" + t),
)


def _is_json_within_limit(value: object) -> bool:
    return len(json.dumps(value)) <= LIMIT + 2 if not isinstance(value, int) else True


@FUZZ
@given(templates)
def test_templates_raise_only_template_errors_and_yield_json_within_the_limit(source) -> None:
    try:
        compiled = compile_template(source)
    except TemplateError:
        return
    try:
        value = compiled.evaluate(CONTEXT, "config.v", TemplateBudget(max_bytes=LIMIT, timeout_s=5))
    except TemplateError as exc:
        assert exc.reason, source
        return
    assert _is_json_within_limit(value), source


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)
node_like = st.fixed_dictionaries(
    {"id": st.sampled_from(["a", "b", "c", "", "a b", 7])},
    optional={
        "handler": st.sampled_from(["transform", "input", "output", "nope", 3]),
        "dependencies": st.lists(st.sampled_from(["a", "b", "c", "zz", None]), max_size=3),
        "config": st.one_of(
            json_values, st.fixed_dictionaries({"value": st.one_of(json_values, templates)})
        ),
        "retry": json_values,
        "timeout_s": st.one_of(st.none(), st.floats(allow_nan=False), st.text(max_size=3)),
    },
)
workflow_like = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"name": st.one_of(st.text(max_size=10), st.integers())},
        optional={
            "dag": st.one_of(
                json_values, st.fixed_dictionaries({"nodes": st.lists(node_like, max_size=4)})
            )
        },
    ),
)


@FUZZ
@given(workflow_like)
def test_the_loader_and_validator_raise_only_documented_errors(data) -> None:
    try:
        definition = workflow_from_data(data)
    except WorkflowLoadError as exc:
        assert exc.problems
        return
    problems = validate_workflow(definition, HandlerRegistry.default().config_models())
    assert all(problem.message for problem in problems)


@FUZZ
@given(st.text(max_size=200))
def test_parsing_any_text_raises_only_a_load_error(text) -> None:
    try:
        parse_workflow(text)
    except WorkflowLoadError as exc:
        assert exc.problems
