"""Cycles, levels and ancestry from graphlib."""

from __future__ import annotations

from graphlib import CycleError
from itertools import pairwise

import pytest

from flowdesk.model.graph import (
    descendants,
    find_cycles,
    is_ancestor,
    topological_levels,
    topological_order,
)

DIAMOND = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}


def test_levels_of_a_diamond() -> None:
    assert topological_levels(DIAMOND) == [["a"], ["b", "c"], ["d"]]
    assert topological_order(DIAMOND) == ["a", "b", "c", "d"]


def test_levels_refuse_a_cycle() -> None:
    with pytest.raises(CycleError):
        topological_levels({"a": ["b"], "b": ["a"]})


def test_every_distinct_cycle_is_found() -> None:
    graph = {"a": ["c"], "b": ["a"], "c": ["b"], "d": ["d"], "e": [], "f": ["g"], "g": ["f"]}
    cycles = find_cycles(graph)
    assert sorted(frozenset(c) for c in cycles) == sorted(
        [frozenset("abc"), frozenset("d"), frozenset("fg")]
    )
    for cycle in cycles:
        assert cycle[0] == cycle[-1]
        for upstream, downstream in pairwise(cycle):
            assert upstream in graph[downstream]


def test_no_cycles_in_a_dag() -> None:
    assert find_cycles(DIAMOND) == []


def test_ancestry_and_descendants() -> None:
    assert is_ancestor(DIAMOND, "a", "d")
    assert not is_ancestor(DIAMOND, "b", "c")
    assert not is_ancestor(DIAMOND, "d", "a")
    assert descendants(DIAMOND, "a") == {"b", "c", "d"}
    assert descendants(DIAMOND, "d") == set()


def test_deep_chain_has_no_recursion_limit() -> None:
    chain = {f"n{i}": [f"n{i - 1}"] if i else [] for i in range(5000)}
    assert is_ancestor(chain, "n0", "n4999")
    assert len(topological_levels(chain)) == 5000


def test_a_clique_is_one_group_found_in_linear_time() -> None:
    """Enumerating cycles re-sorted the graph per cycle: a 200-node clique took a minute.
    Each group of nodes that depend on each other is reported once, with a real cycle."""
    clique = {f"n{i}": [f"n{j}" for j in range(200) if j != i] for i in range(200)}
    [cycle] = find_cycles(clique)
    assert cycle[0] == cycle[-1] == "n0"
    for upstream, downstream in pairwise(cycle):
        assert upstream in clique[downstream]


def test_a_self_dependency_is_a_cycle_of_one() -> None:
    assert find_cycles({"a": ["a"], "b": ["a"]}) == [["a", "a"]]


def test_two_loops_sharing_a_node_are_one_group() -> None:
    graph = {"a": ["b", "c"], "b": ["a"], "c": ["a"], "d": []}
    [cycle] = find_cycles(graph)
    assert set(cycle) <= {"a", "b", "c"} and cycle[0] == cycle[-1] == "a"
