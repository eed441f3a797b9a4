"""The structural diff of two JSON outputs, and a run's definition against the current one."""

from __future__ import annotations

from conftest import workflow

from flowdesk.runs.compare import (
    PathChange,
    compare_definitions,
    diff_json,
    ignoring,
    json_path,
)


def test_equal_values_have_no_changes_whatever_the_key_order():
    old = {"a": [1, {"b": None, "c": "x"}], "d": {"e": 1.5}}
    new = {"d": {"e": 1.5}, "a": [1, {"c": "x", "b": None}]}
    assert diff_json(old, new) == []


def test_nested_additions_removals_and_changes_are_named_by_path():
    old = {
        "order": {"id": 7, "lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 2}]},
        "meta": {"source": "web", "legacy": {"flag": True}},
    }
    new = {
        "order": {"id": 7, "lines": [{"sku": "A", "qty": 3}, {"sku": "B", "qty": 2, "gift": True}]},
        "meta": {"source": "app"},
        "total": 12.5,
    }
    assert diff_json(old, new) == [
        PathChange("removed", ("meta", "legacy"), old={"flag": True}),
        PathChange("changed", ("meta", "source"), old="web", new="app"),
        PathChange("changed", ("order", "lines", 0, "qty"), old=1, new=3),
        PathChange("added", ("order", "lines", 1, "gift"), new=True),
        PathChange("added", ("total",), new=12.5),
    ]


def test_a_dict_sharing_few_keys_is_still_diffed_key_by_key():
    """deepdiff by default reports a dict with few common keys as one changed value."""
    changes = diff_json({"x": {"p": 1, "q": 2, "r": 3}}, {"x": {"p": 1, "s": 2, "t": 3}})
    assert [(c.kind, c.location) for c in changes] == [
        ("removed", "$.x.q"),
        ("removed", "$.x.r"),
        ("added", "$.x.s"),
        ("added", "$.x.t"),
    ]


def test_an_insertion_in_a_list_is_one_addition_not_a_shifted_tail():
    changes = diff_json({"items": [10, 20, 30]}, {"items": [5, 10, 20, 30]})
    assert changes == [PathChange("added", ("items", 0), new=5)]


def test_json_types_are_kept_apart():
    assert [c.kind for c in diff_json({"n": 1}, {"n": 1.0})] == ["changed"]
    assert [c.kind for c in diff_json([True], [1])] == ["changed"]
    assert diff_json(None, {"a": 1}) == [PathChange("changed", (), old=None, new={"a": 1})]
    assert diff_json("x", "x") == []


def test_paths_quote_keys_that_are_not_identifiers():
    assert json_path(()) == "$"
    assert json_path(("headers", "content-length")) == '$.headers["content-length"]'
    assert json_path(("a.b", 0, "_ok", "1x")) == '$["a.b"][0]._ok["1x"]'


def test_ignored_paths_cover_what_is_under_them_and_take_wildcards():
    changes = diff_json(
        {"headers": {"date": "Mon", "content-length": "8"}, "items": [{"id": 1, "v": 1}]},
        {"headers": {"date": "Tue", "content-length": "9"}, "items": [{"id": 2, "v": 2}]},
    )
    locations = [c.location for c in changes]
    assert locations == [
        '$.headers["content-length"]',
        "$.headers.date",
        "$.items[0].id",
        "$.items[0].v",
    ]
    assert [c.location for c in ignoring(changes, ["$.headers.date"])] == locations[
        0:1
    ] + locations[2:]
    assert [c.location for c in ignoring(changes, ["$.headers"])] == locations[2:]
    assert [c.location for c in ignoring(changes, ["$.items[*].id"])] == locations[:2] + locations[
        3:
    ]
    assert [c.location for c in ignoring(changes, ["$.items[0]", "$.headers"])] == []
    assert ignoring(changes, ["$.head"]) == changes  # a pattern matches whole steps only
    assert ignoring(changes, []) == changes


def _nodes(*specs: tuple[str, list[str], object]) -> list[dict]:
    return [
        {"id": node_id, "handler": "transform", "dependencies": deps, "config": {"value": value}}
        for node_id, deps, value in specs
    ]


def test_a_definition_compared_with_itself_is_unchanged():
    ran = workflow(*_nodes(("a", [], 1), ("b", ["a"], 2)))
    assert compare_definitions(ran, ran.model_copy(deep=True)).unchanged


def test_added_removed_changed_and_downstream_nodes_since_a_run():
    ran = workflow(
        *_nodes(("a", [], 1), ("b", ["a"], 2), ("c", ["b"], 3), ("gone", [], 4), ("d", [], 5))
    )
    current = workflow(
        *_nodes(("a", [], 1), ("b", ["a"], 20), ("c", ["b"], 3), ("d", [], 5), ("new", ["d"], 6))
    )
    changes = compare_definitions(ran, current)
    assert changes.added == ["new"]
    assert changes.removed == ["gone"]
    assert changes.changed == ["b"]
    assert changes.downstream == ["c"]  # its own config is the same; its input may not be
    assert not changes.unchanged


def test_a_new_dependency_changes_the_node_and_the_order_of_dependencies_does_not():
    ran = workflow(*_nodes(("a", [], 1), ("b", [], 2), ("c", ["a"], 3)))
    rewired = workflow(*_nodes(("a", [], 1), ("b", [], 2), ("c", ["a", "b"], 3)))
    assert compare_definitions(ran, rewired).changed == ["c"]
    both = workflow(*_nodes(("a", [], 1), ("b", [], 2), ("c", ["b", "a"], 3)))
    assert compare_definitions(rewired, both).unchanged


def test_a_current_definition_with_a_cycle_still_names_its_changed_nodes():
    ran = workflow(*_nodes(("a", [], 1), ("b", ["a"], 2)))
    cyclic = workflow(*_nodes(("a", ["b"], 1), ("b", ["a"], 2)))
    changes = compare_definitions(ran, cyclic)
    assert changes.changed == ["a"]
    assert changes.downstream == []


def test_a_type_change_inside_a_list_is_found_beside_an_insertion():
    """deepdiff aligns list items by hash, where true == 1 == 1.0, and so reports nothing for
    `[true]` against `[1]`; FlowDesk then compares the lists index by index."""
    assert diff_json([True], [1]) == [PathChange("changed", (0,), old=True, new=1)]
    assert diff_json({"v": [1, 2]}, {"v": [1.0, 2]}) == [
        PathChange("changed", ("v", 0), old=1, new=1.0)
    ]
    assert diff_json([True, 2], [1, 2, 3]) == [
        PathChange("changed", (0,), old=True, new=1),
        PathChange("added", (2,), new=3),
    ]
