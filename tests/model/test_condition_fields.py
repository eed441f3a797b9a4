"""The `when` and `trigger_rule` fields: they load and dump only when set, and validation
reports their problems together with every other problem of the workflow."""

from __future__ import annotations

import json

from conftest import workflow

from flowdesk.model import Rule, dump_workflow, validate_workflow, workflow_from_data

SEED_NODE = {"id": "a", "handler": "transform", "dependencies": [], "config": {"value": 1}}


def test_a_seed_node_dumps_without_the_new_fields() -> None:
    data = {"name": "seed", "dag": {"nodes": [SEED_NODE]}}
    assert json.loads(dump_workflow(workflow_from_data(data))) == data


def test_the_fields_round_trip_when_set() -> None:
    node = {**SEED_NODE, "when": "{{ params.go }}", "trigger_rule": "all_done"}
    data = {"name": "w", "dag": {"nodes": [node]}}
    assert json.loads(dump_workflow(workflow_from_data(data))) == data


def test_an_unknown_trigger_rule_is_reported_with_every_other_problem(config_models) -> None:
    definition = workflow(
        {**SEED_NODE, "trigger_rule": "any_success"},
        {"id": "b", "handler": "nope", "dependencies": ["ghost"]},
    )
    problems = validate_workflow(definition, config_models)
    rules = {problem.rule for problem in problems}
    assert {Rule.UNKNOWN_TRIGGER_RULE, Rule.UNKNOWN_HANDLER, Rule.MISSING_DEPENDENCY} <= rules
    bad = next(p for p in problems if p.rule is Rule.UNKNOWN_TRIGGER_RULE)
    assert bad.node_id == "a"
    assert "'any_success'" in bad.message
    assert "none_failed_min_one_success" in bad.message
    assert bad.location == "trigger_rule"


def test_when_is_checked_like_a_config_template(config_models) -> None:
    definition = workflow(
        {"id": "up", "handler": "transform", "config": {"value": 1}},
        {"id": "other", "handler": "transform", "config": {"value": 1}},
        {**SEED_NODE, "id": "syntax", "dependencies": ["up"], "when": "{{ up.x ) }}"},
        {**SEED_NODE, "id": "not_up", "dependencies": ["up"], "when": "{{ other.x }}"},
        {**SEED_NODE, "id": "fine", "dependencies": ["up"], "when": "{{ up.x and params.y }}"},
        {**SEED_NODE, "id": "plain", "when": "true"},
    )
    problems = {
        (p.node_id, p.rule, p.location) for p in validate_workflow(definition, config_models)
    }
    assert problems == {
        ("syntax", Rule.TEMPLATE_SYNTAX, "when"),
        ("not_up", Rule.TEMPLATE_NAME, "when"),
        ("plain", Rule.INVALID_CONDITION, "when"),
    }
