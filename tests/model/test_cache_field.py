"""The node `cache` field: what it accepts, how validation names a bad value, and that files
without it are written as before."""

from __future__ import annotations

import json

import pytest

from flowdesk.model import Rule, dump_workflow, parse_workflow, validate_workflow
from flowdesk.model.node_cache import CachePolicy, InvalidCacheValue, cache_policy
from tests.conftest import workflow


@pytest.mark.parametrize(
    ("value", "policy"),
    [
        (None, None),
        (False, None),
        (True, CachePolicy()),
        ({}, CachePolicy()),
        ({"ttl_s": 3600}, CachePolicy(3600.0)),
        ({"ttl_s": 0.5}, CachePolicy(0.5)),
        ({"ttl_s": None}, CachePolicy()),
    ],
)
def test_accepted_values(value, policy) -> None:
    assert cache_policy(value) == policy


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("yes", "cache must be true, false or"),
        (1, "cache must be true, false or"),
        ([True], "cache must be true, false or"),
        ({"ttl": 5}, "unknown key(s) in cache: ttl"),
        ({"ttl_s": "1h"}, "cache.ttl_s must be a number of seconds, not '1h'"),
        ({"ttl_s": True}, "cache.ttl_s must be a number of seconds"),
        ({"ttl_s": 0}, "cache.ttl_s must be more than 0"),
        ({"ttl_s": -1}, "cache.ttl_s must be more than 0"),
        ({"ttl_s": float("nan")}, "cache.ttl_s must be more than 0"),
        ({"ttl_s": 1e12}, "at most 315,360,000 seconds"),
    ],
)
def test_refused_values_say_why(value, message: str) -> None:
    with pytest.raises(InvalidCacheValue) as caught:
        cache_policy(value)
    assert message in str(caught.value)


def test_validation_names_each_bad_value_with_every_other_problem(config_models) -> None:
    definition = workflow(
        {"id": "a", "handler": "transform", "config": {"value": 1}, "cache": "always"},
        {"id": "b", "handler": "missing", "cache": {"ttl_s": -1}},
        {"id": "c", "handler": "transform", "config": {"value": 1}, "cache": {"ttl_s": 60}},
    )
    problems = validate_workflow(definition, config_models)
    cache = [(p.node_id, p.location) for p in problems if p.rule is Rule.INVALID_CACHE]
    assert cache == [("a", "cache"), ("b", "cache")]
    assert any(p.rule is Rule.UNKNOWN_HANDLER for p in problems)


def test_the_field_is_written_only_when_set() -> None:
    text = json.dumps(
        {
            "name": "w",
            "dag": {
                "nodes": [
                    {"id": "a", "handler": "transform", "config": {"value": 1}},
                    {"id": "b", "handler": "transform", "config": {"value": 2},
                     "cache": {"ttl_s": 60}},
                ]
            },
        }
    )  # fmt: skip
    written = json.loads(dump_workflow(parse_workflow(text)))
    a, b = written["dag"]["nodes"]
    assert "cache" not in a
    assert b["cache"] == {"ttl_s": 60}
    assert parse_workflow(json.dumps(written)).nodes[1].cache == {"ttl_s": 60}
