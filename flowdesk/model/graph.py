"""Graph questions about a DAG given as `node id -> dependencies`, answered with graphlib."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from graphlib import TopologicalSorter


def find_cycles(dependencies: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """One cycle `[a, b, ..., a]` (each node a dependency of the next) per group of nodes that
    depend on each other; see `cycle_groups`."""
    return [cycle for cycle, _group in cycle_groups(dependencies)]


def cycle_groups(dependencies: Mapping[str, Iterable[str]]) -> list[tuple[list[str], set[str]]]:
    """Each group of nodes that depend on each other (a strongly connected component with a
    cycle), with one cycle through it, in time linear in the graph.

    Every node on any cycle is in exactly one group. Enumerating every distinct cycle instead
    is exponential: a 200-node clique took a minute.
    """
    children: dict[str, list[str]] = {node: [] for node in dependencies}
    for node, deps in dependencies.items():
        for dep in dict.fromkeys(deps):
            if dep in children:
                children[dep].append(node)
    found = []
    for group in _strongly_connected(children):
        start = min(group)
        if len(group) > 1 or start in children[start]:
            found.append((_cycle_through(start, group, children), group))
    return sorted(found, key=lambda item: item[0][0])


def _strongly_connected(children: Mapping[str, list[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iterative (a 5,000-node chain must not hit the recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[set[str]] = []
    for root in children:
        if root in index:
            continue
        work = [(root, iter(children[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            for child in successors:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(children[child])))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node:
                            break
                    groups.append(group)
    return groups


def _cycle_through(start: str, group: set[str], children: Mapping[str, list[str]]) -> list[str]:
    """The shortest way from `start` back to itself inside its group (breadth first)."""
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(children[node]):
                if child not in group:
                    continue
                if child == start:
                    path = [start, node]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    if node == start:  # a node that depends on itself
                        return [start, start]
                    return path[::-1]
                if child not in came_from:
                    came_from[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"{start} is in a cycle group but no cycle was found")


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
