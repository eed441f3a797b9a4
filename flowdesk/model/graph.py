"""Graph questions about a DAG given as `node id -> dependencies`, answered with graphlib."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from graphlib import CycleError, TopologicalSorter


def find_cycles(dependencies: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Each distinct cycle as `[a, b, ..., a]`, where each node is a dependency of the next.

    graphlib reports one cycle at a time, so break one edge of each cycle found
    and ask again until the graph sorts.
    """
    graph = {node: set(deps) for node, deps in dependencies.items()}
    cycles: list[list[str]] = []
    seen: set[frozenset[str]] = set()
    while True:
        try:
            TopologicalSorter(graph).prepare()
        except CycleError as exc:
            cycle = list(exc.args[1])
            graph[cycle[1]].discard(cycle[0])
            key = frozenset(cycle)
            if key not in seen:
                seen.add(key)
                cycles.append(cycle)
        else:
            return cycles


def topological_levels(dependencies: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Nodes grouped by depth: level 0 has no dependencies, level k depends on level < k only.

    Raises graphlib.CycleError when the graph has a cycle.
    """
    sorter = TopologicalSorter(dependencies)
    sorter.prepare()
    levels: list[list[str]] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        levels.append(ready)
        sorter.done(*ready)
    return levels


def topological_order(dependencies: Mapping[str, Iterable[str]]) -> list[str]:
    return [node for level in topological_levels(dependencies) for node in level]


def is_ancestor(dependencies: Mapping[str, Iterable[str]], candidate: str, node: str) -> bool:
    """True when `node` depends on `candidate`, directly or through other nodes."""
    stack = list(dependencies.get(node, ()))
    visited: set[str] = set()
    while stack:
        current = stack.pop()
        if current == candidate:
            return True
        if current not in visited:
            visited.add(current)
            stack.extend(dependencies.get(current, ()))
    return False


def descendants(dependencies: Mapping[str, Iterable[str]], node: str) -> set[str]:
    """Every node that depends on `node`, directly or not."""
    dependents: dict[str, list[str]] = {}
    for child, deps in dependencies.items():
        for dep in deps:
            dependents.setdefault(dep, []).append(child)
    found: set[str] = set()
    stack = list(dependents.get(node, ()))
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(dependents.get(current, ()))
    return found
