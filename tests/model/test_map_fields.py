"""The `map_over`, `max_items` and `on_item_failure` fields: they load and dump only when set,
`map_over` is checked like config templates, `item` and `item_index` belong to a mapped
node's config only, and every problem is reported together with the others."""

from __future__ import annotations

import json

import pytest
from conftest import workflow

from flowdesk.model import (
    Rule,
    WorkflowLoadError,
    dump_workflow,
    errors_only,
    validate_workflow,
    workflow_from_data,
)

SOURCE = {"id": "users", "handler": "transform", "config": {"value": [1, 2]}}


def each(**fields) -> dict:
    node = {"id": "each", "handler": "transform", "dependencies": ["users"]}
    node.setdefault("config", {"value": "{{ item }}"})
    node.update(fields)
    return node


def problems_of(config_models, *nodes):
    return validate_workflow(workflow(*nodes), config_models)


def test_a_seed_node_dumps_without_the_map_fields() -> None:
    data = {"name": "seed", "dag": {"nodes": [{**SOURCE, "dependencies": []}]}}
    assert json.loads(dump_workflow(workflow_from_data(data))) == data


def test_the_fields_round_trip_when_set_and_max_items_only_when_not_default() -> None:
    node = {**each(map_over="{{ users }}", max_items=5, on_item_failure="skip")}
    data = {"name": "w", "dag": {"nodes": [{**SOURCE, "dependencies": []}, node]}}
    assert json.loads(dump_workflow(workflow_from_data(data))) == data
    default = {**node, "max_items": 10_000}
    dumped = json.loads(dump_workflow(workflow_from_data({**data, "dag": {"nodes": [default]}})))
    assert "max_items" not in dumped["dag"]["nodes"][0]


def test_a_negative_max_items_does_not_load() -> None:
    with pytest.raises(WorkflowLoadError, match="max_items"):
        workflow_from_data({"name": "w", "dag": {"nodes": [each(max_items=-1)]}})


def test_a_valid_mapped_node_has_no_problem(config_models) -> None:
    problems = problems_of(
        config_models,
        SOURCE,
        each(map_over="{{ users }}", config={"value": "{{ item_index }}: {{ item }}"}),
    )
    assert problems == []


def test_item_outside_a_mapped_node_names_the_node_and_field(config_models) -> None:
    problems = problems_of(config_models, SOURCE, each(config={"value": "{{ item.id }}"}))
    assert [(p.rule, p.node_id, p.location) for p in problems] == [
        (Rule.TEMPLATE_NAME, "each", "config.value")
    ]
    assert "'item'" in problems[0].message
    assert "map_over" in problems[0].message


def test_item_is_not_available_in_map_over_or_when(config_models) -> None:
    problems = problems_of(
        config_models,
        SOURCE,
        each(map_over="{{ users[item_index] }}", when="{{ item }}"),
    )
    found = {(p.location, p.rule) for p in errors_only(problems)}
    assert found == {("map_over", Rule.TEMPLATE_NAME), ("when", Rule.TEMPLATE_NAME)}
    assert all("only in the config" in p.message for p in problems)


def test_map_over_is_checked_like_a_config_template(config_models) -> None:
    other = {"id": "other", "handler": "transform", "config": {"value": 1}}
    problems = problems_of(config_models, SOURCE, other, each(map_over="{{ other }}"))
    assert [(p.rule, p.location) for p in problems] == [(Rule.TEMPLATE_NAME, "map_over")]
    assert "not upstream" in problems[0].message
    syntax = problems_of(config_models, SOURCE, each(map_over="{{ users ]] }}"))
    assert [(p.rule, p.location) for p in syntax] == [(Rule.TEMPLATE_SYNTAX, "map_over")]
    plain = problems_of(config_models, SOURCE, each(map_over="users"))
    assert [(p.rule, p.location) for p in plain] == [(Rule.INVALID_MAP, "map_over")]


def test_an_unknown_on_item_failure_is_reported_with_every_other_problem(config_models) -> None:
    problems = problems_of(
        config_models,
        SOURCE,
        each(map_over="{{ users }}", on_item_failure="retry"),
        {"id": "b", "handler": "nope", "dependencies": ["ghost"]},
    )
    rules = {problem.rule for problem in problems}
    assert {Rule.UNKNOWN_ITEM_FAILURE, Rule.UNKNOWN_HANDLER, Rule.MISSING_DEPENDENCY} <= rules
    bad = next(p for p in problems if p.rule is Rule.UNKNOWN_ITEM_FAILURE)
    assert (bad.node_id, bad.location) == ("each", "on_item_failure")
    assert "'retry'" in bad.message and "fail, skip" in bad.message


def test_map_settings_without_map_over_are_a_warning(config_models) -> None:
    problems = problems_of(
        config_models,
        SOURCE,
        each(config={"value": 1}, max_items=3, on_item_failure="skip"),
    )
    assert errors_only(problems) == []
    assert sorted(p.location for p in problems) == ["max_items", "on_item_failure"]


def test_a_node_named_item_stays_usable_outside_mapped_nodes(config_models) -> None:
    item = {"id": "item", "handler": "transform", "config": {"value": 1}}
    user = {"id": "user", "handler": "transform", "dependencies": ["item"],
            "config": {"value": "{{ item }}"}}  # fmt: skip
    assert problems_of(config_models, item, user) == []
