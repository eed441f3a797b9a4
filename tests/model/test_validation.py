"""One invalid file per rule, each problem naming its node; all problems reported at once."""

from __future__ import annotations

import pytest
from conftest import DATA, EXAMPLES

from flowdesk.model import errors_only, load_workflow, parse_workflow, validate_workflow
from flowdesk.model.problems import Rule

INVALID = DATA / "invalid"

CASES = [
    ("duplicate-id", Rule.DUPLICATE_ID, ("a",), "nodes #1 and #2"),
    ("invalid-id", Rule.INVALID_ID, ("get-user",), "'get-user' is not a valid id"),
    ("reserved-id", Rule.RESERVED_ID, ("params",), "reserved"),
    ("unknown-handler", Rule.UNKNOWN_HANDLER, ("fetch",), "unknown handler 'call_service'"),
    ("missing-dependency", Rule.MISSING_DEPENDENCY, ("out",), "missing node 'ghost'"),
    ("self-dependency", Rule.SELF_DEPENDENCY, ("loop",), "depends on itself"),
    ("cycle", Rule.CYCLE, ("a", "b", "c"), "a -> b -> c -> a"),
    ("invalid-config", Rule.INVALID_CONFIG, ("wait",), "greater than or equal to 0"),
    ("template-syntax", Rule.TEMPLATE_SYNTAX, ("fetch",), "syntax error"),
    ("template-name", Rule.TEMPLATE_NAME, ("a",), "not upstream of 'a'"),
]


@pytest.mark.parametrize(("name", "rule", "nodes", "text"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_has_an_invalid_file(config_models, name, rule, nodes, text) -> None:
    problems = errors_only(
        validate_workflow(load_workflow(INVALID / f"{name}.json"), config_models)
    )
    assert [p.rule for p in problems] == [rule], problems
    (problem,) = problems
    assert set(problem.nodes) == set(nodes)
    assert text in str(problem)
    assert f"node '{problem.nodes[0]}'" in str(problem)


def test_every_rule_file_is_covered() -> None:
    covered = {name for name, *_ in CASES} | {"malformed-json", "structure"}
    assert {p.stem for p in INVALID.glob("*.json")} == covered


def test_examples_are_valid(config_models) -> None:
    examples = sorted(EXAMPLES.glob("*.json"))
    assert examples
    for path in examples:
        assert errors_only(validate_workflow(load_workflow(path), config_models)) == [], path


def test_all_problems_are_reported_at_once(config_models) -> None:
    definition = parse_workflow(
        """{"name": "many", "dag": {"nodes": [
          {"id": "input", "handler": "input"},
          {"id": "input", "handler": "input"},
          {"id": "2fast", "handler": "transform", "config": {"value": 1}},
          {"id": "x", "handler": "nope", "dependencies": ["ghost"]},
          {"id": "p", "handler": "transform", "dependencies": ["q"], "config": {"value": 1}},
          {"id": "q", "handler": "transform", "dependencies": ["p"], "config": {"value": 1}},
          {"id": "w", "handler": "delay", "dependencies": ["input"], "config": {"seconds": "soon"}},
          {"id": "t", "handler": "transform", "dependencies": ["input"],
           "config": {"value": ["{{ params.a }}", "{{ w.x }}", "{{ oops(", "{{ nothing }}"]}}
        ]}}"""
    )
    problems = errors_only(validate_workflow(definition, config_models))
    found = {(p.rule, p.node_id) for p in problems}
    assert found == {
        (Rule.DUPLICATE_ID, "input"),
        (Rule.INVALID_ID, "2fast"),
        (Rule.UNKNOWN_HANDLER, "x"),
        (Rule.MISSING_DEPENDENCY, "x"),
        (Rule.CYCLE, "p"),
        (Rule.INVALID_CONFIG, "w"),
        (Rule.TEMPLATE_NAME, "t"),
        (Rule.TEMPLATE_SYNTAX, "t"),
    }
    template_problems = [p for p in problems if p.node_id == "t"]
    assert {p.location for p in template_problems} == {
        "config.value[1]",
        "config.value[2]",
        "config.value[3]",
    }
    assert any("unknown name 'nothing'" in p.message for p in template_problems)


def test_templates_may_use_any_ancestor_not_just_direct_dependencies(config_models) -> None:
    definition = parse_workflow(
        """{"name": "hops", "dag": {"nodes": [
          {"id": "input", "handler": "input"},
          {"id": "a", "handler": "transform", "dependencies": ["input"], "config": {"value": 1}},
          {"id": "b", "handler": "transform", "dependencies": ["a"], "config": {"value": 2}},
          {"id": "c", "handler": "transform", "dependencies": ["b"],
           "config": {"value": "{{ a }} {{ input.k | default(3) }} {{ params | length }}"}}
        ]}}"""
    )
    assert validate_workflow(definition, config_models) == []


def test_templated_config_values_are_checked_only_after_resolution(config_models) -> None:
    definition = parse_workflow(
        """{"name": "typed later", "dag": {"nodes": [
          {"id": "input", "handler": "input"},
          {"id": "wait", "handler": "delay", "dependencies": ["input"],
           "config": {"seconds": "{{ params.seconds }}"}},
          {"id": "call", "handler": "call_external_service", "dependencies": ["input"],
           "config": {"url": "{{ params.base }}/users", "timeout_s": "{{ params.t }}",
                      "headers": "{{ params.headers }}"}}
        ]}}"""
    )
    assert validate_workflow(definition, config_models) == []


def test_http_config_rules(config_models) -> None:
    definition = parse_workflow(
        """{"name": "http", "dag": {"nodes": [
          {"id": "a", "handler": "call_external_service", "config": {"url": "ftp://127.0.0.1/"}},
          {"id": "b", "handler": "call_external_service", "config": {}},
          {"id": "c", "handler": "call_external_service",
           "config": {"url": "http://127.0.0.1/", "json": {}, "body": "x", "method": "post"}},
          {"id": "d", "handler": "call_external_service",
           "config": {"url": "http://127.0.0.1/", "method": "FETCH", "ulr": 1}}
        ]}}"""
    )
    messages = {
        (p.node_id, p.location, p.message) for p in validate_workflow(definition, config_models)
    }
    assert ("a", "config.url", "'ftp://127.0.0.1/' is not an http:// or https:// URL") in messages
    assert ("b", "config.url", "Field required") in messages
    assert ("c", "config", "give either 'json' or 'body', not both") in messages
    assert ("d", "config.ulr", "unknown config key") in messages
    assert any(node == "d" and loc == "config.method" for node, loc, _ in messages)


def test_unknown_fields_are_warnings_not_errors(config_models) -> None:
    definition = parse_workflow(
        """{"name": "typo", "nodes": [], "dag": {"nodes": [
          {"id": "input", "handler": "input", "dependancies": ["x"]}]}}"""
    )
    problems = validate_workflow(definition, config_models)
    assert errors_only(problems) == []
    assert {str(p) for p in problems} == {
        "warning: node 'input': unknown field 'dependancies' is ignored [unknown-field]",
        "warning: unknown top-level field 'nodes' [unknown-field]",
    }


def test_validation_of_a_large_workflow_is_fast_enough_to_run_as_you_type(config_models) -> None:
    nodes = [{"id": "n0", "handler": "input"}]
    nodes += [
        {
            "id": f"n{i}",
            "handler": "transform",
            "dependencies": [f"n{i - 1}"],
            "config": {"value": f"{{{{ n{i - 1} }}}}"},
        }
        for i in range(1, 3000)
    ]
    from flowdesk.model import workflow_from_data

    definition = workflow_from_data({"name": "chain", "dag": {"nodes": nodes}})
    assert validate_workflow(definition, config_models) == []
