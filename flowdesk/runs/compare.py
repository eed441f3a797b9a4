"""Compare two stored runs node by node, and a run's definition with the current one.

What `flowdesk runs diff` prints and what the editor's compare view paints. The structural diff
of two JSON outputs is deepdiff's; this module names its findings in FlowDesk's terms (added,
removed, changed paths) and decides, per node, which of five changes it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any, Literal

from flowdesk.engine import NodeState
from flowdesk.runs.reuse import node_fingerprints

if TYPE_CHECKING:
    from flowdesk.model import NodeSpec, WorkflowDefinition
    from flowdesk.store import StoredRun

NodeChange = Literal["same", "output", "state", "only_a", "only_b"]
PathKind = Literal["added", "removed", "changed"]
JsonPath = tuple[str | int, ...]

_KINDS: dict[str, PathKind] = {
    "dictionary_item_added": "added",
    "iterable_item_added": "added",
    "dictionary_item_removed": "removed",
    "iterable_item_removed": "removed",
    "values_changed": "changed",
    "type_changes": "changed",
}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class PathChange:
    """One difference between two JSON values, at `path` (keys and list indexes from the root).

    `old` is absent (None) for an added path, `new` for a removed one.
    """

    kind: PathKind
    path: JsonPath
    old: Any = None
    new: Any = None

    @property
    def location(self) -> str:
        return json_path(self.path)


def json_path(path: JsonPath) -> str:
    """`$.items[2].price`; keys that are not identifiers are quoted: `$["a.b"]`."""
    parts = ["$"]
    for step in path:
        if isinstance(step, int):
            parts.append(f"[{step}]")
        elif _IDENTIFIER.match(step):
            parts.append(f".{step}")
        else:
            parts.append(f"[{json.dumps(step, ensure_ascii=False)}]")
    return "".join(parts)


def diff_json(old: Any, new: Any) -> list[PathChange]:
    """Every added, removed and changed path between two JSON values, in path order.

    JSON's types are kept apart: `1` and `1.0`, `true` and `1` differ. Lists are compared
    position by position, with insertions and removals found as such (not as a shifted tail).
    """
    wanted = _canonical(new)
    if _canonical(old) == wanted:  # the common case, and far cheaper than deepdiff
        return []
    from deepdiff import DeepDiff, Delta  # ~0.1 s to import: only when two outputs differ

    # threshold_to_diff_deeper=0: descend into every dict, however few keys two dicts share,
    # so a changed key is reported as that key and not as its whole parent.
    tree = DeepDiff(old, new, view="tree", threshold_to_diff_deeper=0)
    try:
        complete = _canonical(Delta(tree) + old) == wanted
    except Exception:  # deepdiff could not replay its own diff: take the plain comparison
        complete = False
    if not complete:
        # Aligning lists, deepdiff matches items by hash, where true == 1 == 1.0: such a change
        # inside a list goes unreported. Index by index, every type change is found.
        tree = DeepDiff(
            old, new, view="tree", threshold_to_diff_deeper=0, zip_ordered_iterables=True
        )
    changes = []
    for report, items in tree.items():
        kind = _KINDS.get(report)
        if kind is None:  # kinds JSON values cannot produce (sets, attributes, repetitions)
            continue
        for item in items:
            path = tuple(item.path(output_format="list"))
            changes.append(
                PathChange(
                    kind=kind,
                    path=path,
                    old=None if kind == "added" else item.t1,
                    new=None if kind == "removed" else item.t2,
                )
            )
    changes.sort(key=lambda change: _path_order(change.path))
    return changes


def ignore_pattern_problem(pattern: str) -> str | None:
    """Why `pattern` can never match a path `json_path` writes, or None: a typo there would
    otherwise ignore nothing without a word."""
    if not pattern.startswith("$"):
        return "a path starts with $, e.g. $.headers.date or $.items[*].id"
    return None


def ignoring(changes: Sequence[PathChange], patterns: Sequence[str]) -> list[PathChange]:
    """The changes at none of `patterns` (shell-style, on `json_path` text: `$.headers.date`,
    `$.items[*].id`) nor under them: `$.headers` covers `$.headers.date` too."""
    if not patterns:
        return list(changes)
    # Brackets are JSON path syntax here, not fnmatch's character classes: "[" matches itself.
    patterns = [pattern.replace("[", "[[]") for pattern in patterns]
    return [
        change
        for change in changes
        if not any(
            fnmatchcase(json_path(change.path[:depth]), pattern)
            for depth in range(len(change.path) + 1)
            for pattern in patterns
        )
    ]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, allow_nan=True)


def _path_order(path: JsonPath) -> tuple[tuple[int, int | str], ...]:
    return tuple((0, step) if isinstance(step, int) else (1, step) for step in path)


@dataclass(frozen=True)
class NodeSide:
    """One run's view of a node. `error` is for people reading the text form; the JSON form is
    status and output only."""

    status: NodeState
    output: Any
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status.value, "output": self.output}


@dataclass(frozen=True)
class NodeComparison:
    """A node in two runs. `a` or `b` is None when the node is only in the other run.

    `change` is "state" when the statuses differ (whatever the outputs; SUCCEEDED and REUSED
    count as one), "output" when only the outputs do; `paths` lists the output differences in
    either case.
    """

    node_id: str
    change: NodeChange
    a: NodeSide | None
    b: NodeSide | None
    paths: tuple[PathChange, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "change": self.change,
            "a": self.a.to_json() if self.a else None,
            "b": self.b.to_json() if self.b else None,
        }


@dataclass(frozen=True)
class RunComparison:
    """Two runs side by side: every node of either, in run A's order then run B's new ones."""

    run_a: str
    run_b: str
    workflow_a: str
    workflow_b: str
    nodes: dict[str, NodeComparison] = field(repr=False)

    @property
    def identical(self) -> bool:
        return all(node.change == "same" for node in self.nodes.values())

    @property
    def differing(self) -> list[NodeComparison]:
        return [node for node in self.nodes.values() if node.change != "same"]

    def count(self, change: NodeChange) -> int:
        return sum(1 for node in self.nodes.values() if node.change == change)

    def to_json(self) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "nodes": {node_id: node.to_json() for node_id, node in self.nodes.items()},
        }


def compare_runs(a: StoredRun, b: StoredRun, *, ignore: Sequence[str] = ()) -> RunComparison:
    """Per node: the same, a different output, a different state, or only in one run.

    `ignore`: output paths whose differences do not count, in every node (see `ignoring`): a
    response's `date` header differs between any two runs that call the same service.
    """
    a_nodes, b_nodes = a.result.nodes, b.result.nodes
    nodes: dict[str, NodeComparison] = {}
    for node_id in [*a_nodes, *(n for n in b_nodes if n not in a_nodes)]:
        in_a, in_b = a_nodes.get(node_id), b_nodes.get(node_id)
        side_a = NodeSide(in_a.state, in_a.output, in_a.error) if in_a is not None else None
        side_b = NodeSide(in_b.state, in_b.output, in_b.error) if in_b is not None else None
        if side_a is None or side_b is None:
            change: NodeChange = "only_b" if side_a is None else "only_a"
            nodes[node_id] = NodeComparison(node_id, change, side_a, side_b)
            continue
        paths = tuple(ignoring(diff_json(side_a.output, side_b.output), ignore))
        if not _same_outcome(side_a.status, side_b.status):
            change = "state"
        elif paths:
            change = "output"
        else:
            change = "same"
        nodes[node_id] = NodeComparison(node_id, change, side_a, side_b, paths)
    return RunComparison(a.run_id, b.run_id, a.result.workflow, b.result.workflow, nodes)


def _same_outcome(a: NodeState, b: NodeState) -> bool:
    """Equal states, or SUCCEEDED and REUSED: a reused output is a success like a computed one,
    so a run from here that reused a node is "same" there when the outputs are (the JSON form
    still shows each side's status)."""
    return a is b or (a.succeeded and b.succeeded)


@dataclass(frozen=True)
class DefinitionChanges:
    """What changed in a workflow since a run of it.

    `changed`: the node's own definition differs (handler, config, dependencies, retry, ...).
    `downstream`: unchanged itself, but something upstream was added, removed or changed, so a
    new run may give it other inputs (its stored output could not be reused).
    """

    added: list[str]
    removed: list[str]
    changed: list[str]
    downstream: list[str]

    @property
    def unchanged(self) -> bool:
        return not (self.added or self.removed or self.changed or self.downstream)


def compare_definitions(ran: WorkflowDefinition, current: WorkflowDefinition) -> DefinitionChanges:
    """Nodes added, removed or changed in `current` since `ran` (a run's stored snapshot).

    `downstream` needs both definitions acyclic; when either has a cycle it is left empty.
    """
    before = {node.id: node for node in ran.nodes}
    now = {node.id: node for node in current.nodes}
    added = [node_id for node_id in now if node_id not in before]
    removed = [node_id for node_id in before if node_id not in now]
    kept = [node_id for node_id in now if node_id in before]
    changed = [n for n in kept if _own_definition(before[n]) != _own_definition(now[n])]
    downstream: list[str] = []
    try:
        old_prints, new_prints = node_fingerprints(ran), node_fingerprints(current)
    except (ValueError, KeyError):  # a cycle, or a dependency on a missing node
        pass
    else:
        changed_set = set(changed)
        downstream = [
            n for n in kept if n not in changed_set and old_prints.get(n) != new_prints.get(n)
        ]
    return DefinitionChanges(added, removed, changed, downstream)


def _own_definition(node: NodeSpec) -> str:
    data = node.model_dump(mode="json", exclude={"id", "dependencies"})
    return json.dumps([data, sorted(set(node.dependencies))], sort_keys=True)
