"""What the editor's compare mode shows (Qt-free): two runs node by node, or a run's definition
beside the current one, as one mark per node for the canvas and rows for the compare view.

The comparing itself is `flowdesk.runs.compare` (the same as `flowdesk runs diff`); this module
names its findings for people and decides which run is A (the older) and which is B.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flowdesk.model import NodeSpec, WorkflowDefinition
from flowdesk.runs.compare import (
    DefinitionChanges,
    NodeComparison,
    PathChange,
    RunComparison,
    compare_definitions,
    compare_runs,
    diff_json,
)
from flowdesk.store import StoredRun

MARK_LABELS: dict[str, str] = {
    "same": "same",
    "output": "output differs",
    "state": "state differs",
    "only_a": "only in A",
    "only_b": "only in B",
    "neither": "in neither run",
    "unchanged": "unchanged",
    "added": "added since",
    "changed": "changed since",
    "downstream": "upstream changed",
    "removed": "removed since",
}
MARK_HELP: dict[str, str] = {
    "same": "the same state and output in both runs",
    "output": "the same state, another output",
    "state": "the states differ (whatever the outputs)",
    "only_a": "in run A only",
    "only_b": "in run B only",
    "neither": "on the canvas, in neither run",
    "unchanged": "the same definition as in the run, and nothing upstream changed",
    "added": "not in the run's workflow",
    "changed": "its own definition changed (handler, config, dependencies, retry, …)",
    "downstream": "unchanged itself, but something upstream changed: its output may change",
    "removed": "in the run's workflow, not on the canvas now",
}
QUIET_MARKS = frozenset({"same", "neither", "unchanged"})
"""Marks of nodes that did not differ: the canvas dims them, so the others stand out."""
RUN_MARKS = ("same", "output", "state", "only_a", "only_b")
DEFINITION_MARKS = ("unchanged", "added", "changed", "downstream", "removed")


@dataclass(frozen=True)
class CompareRow:
    """One node in the compare view's list: its mark, and what each side says of it."""

    node_id: str
    mark: str
    detail: str = ""


def run_label(run: StoredRun) -> str:
    """`1a2b3c4d · 14:03:12 · COMPLETED`: enough to tell two runs of one workflow apart (the
    date too when the run is not from today)."""
    moment = (run.result.started_at or run.created_at).astimezone()
    today = datetime.now().astimezone().date()
    when = moment.strftime("%H:%M:%S" if moment.date() == today else "%Y-%m-%d %H:%M:%S")
    return f"{run.run_id[:8]} · {when} · {run.state.value}"


@dataclass(frozen=True)
class RunsCompared:
    """Run A (the older) beside run B, as `flowdesk runs diff A B --ignore …` sees them."""

    a: StoredRun
    b: StoredRun
    comparison: RunComparison
    ignore: tuple[str, ...] = ()
    _all_changes: dict[str, list[PathChange]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def of(cls, first: StoredRun, second: StoredRun, ignore: Sequence[str] = ()) -> RunsCompared:
        a, b = sorted((first, second), key=_start)
        return cls(a, b, compare_runs(a, b, ignore=ignore), tuple(ignore))

    def mark(self, node_id: str) -> str:
        node = self.comparison.nodes.get(node_id)
        return node.change if node is not None else "neither"

    def marks(self, node_ids: Iterable[str]) -> dict[str, str]:
        return {node_id: self.mark(node_id) for node_id in node_ids}

    def node(self, node_id: str) -> NodeComparison | None:
        return self.comparison.nodes.get(node_id)

    def output_changes(self, node_id: str) -> list[PathChange]:
        """Every difference between the node's two outputs, the ignored ones too (the view shows
        them greyed). The comparison has them already unless paths are ignored."""
        node = self.comparison.nodes.get(node_id)
        if node is None or node.a is None or node.b is None:
            return []
        if not self.ignore:
            return list(node.paths)
        if node_id not in self._all_changes:
            self._all_changes[node_id] = diff_json(node.a.output, node.b.output)
        return self._all_changes[node_id]

    def resolved_configs(self, node_id: str) -> tuple[Any, Any]:
        return (_resolved(self.a, node_id), _resolved(self.b, node_id))

    def rows(self) -> list[CompareRow]:
        """Every node of either run, those that differ first."""
        rows = [
            CompareRow(
                node.node_id,
                node.change,
                f"A: {node.a.status.value if node.a else '—'}, "
                f"B: {node.b.status.value if node.b else '—'}",
            )
            for node in self.comparison.nodes.values()
        ]
        return sorted(rows, key=lambda row: row.mark == "same")

    def summary(self) -> str:
        total = len(self.comparison.nodes)
        if self.comparison.identical:
            return f"identical: all {total} nodes have the same state and output"
        counts = [
            f"{n} {MARK_LABELS[mark]}"
            for mark in RUN_MARKS[1:]
            if (n := self.comparison.count(mark))  # type: ignore[arg-type]
        ]
        return f"{len(self.comparison.differing)} of {total} nodes differ: {', '.join(counts)}"


def _start(run: StoredRun) -> datetime:
    return run.result.started_at or run.created_at


def _resolved(run: StoredRun, node_id: str) -> Any:
    node = run.result.nodes.get(node_id)
    return node.resolved_config if node is not None else None


@dataclass(frozen=True)
class DefinitionCompared:
    """A run's workflow (its stored snapshot) beside the workflow as it is now."""

    run: StoredRun
    current: WorkflowDefinition
    changes: DefinitionChanges

    @classmethod
    def of(cls, run: StoredRun, current: WorkflowDefinition) -> DefinitionCompared:
        return cls(run, current, compare_definitions(run.definition, current))

    def again(self, current: WorkflowDefinition) -> DefinitionCompared:
        return DefinitionCompared.of(self.run, current)

    def mark(self, node_id: str) -> str:
        for mark in ("added", "changed", "downstream", "removed"):
            if node_id in getattr(self.changes, mark):
                return mark
        return "unchanged"

    def marks(self, node_ids: Iterable[str]) -> dict[str, str]:
        return {node_id: self.mark(node_id) for node_id in node_ids}

    def definitions(self, node_id: str) -> tuple[Any, Any]:
        """The node as the run defined it and as it is now (None where it does not exist)."""
        return (_spec(self.run.definition, node_id), _spec(self.current, node_id))

    def output(self, node_id: str) -> Any:
        node = self.run.result.nodes.get(node_id)
        return node.output if node is not None else None

    def rows(self) -> list[CompareRow]:
        """The current nodes, then the removed ones; those that changed first."""
        ids = [node.id for node in self.current.nodes] + self.changes.removed
        rows = [CompareRow(node_id, self.mark(node_id), "") for node_id in ids]
        return sorted(rows, key=lambda row: row.mark == "unchanged")

    def summary(self) -> str:
        if self.changes.unchanged:
            return "the workflow is as this run defined it"
        counts = [
            f"{len(ids)} {words}"
            for ids, words in (
                (self.changes.added, "added"),
                (self.changes.removed, "removed"),
                (self.changes.changed, "changed"),
                (self.changes.downstream, "with a change upstream"),
            )
            if ids
        ]
        return f"nodes since this run: {', '.join(counts)}"


def _spec(definition: WorkflowDefinition, node_id: str) -> dict[str, Any] | None:
    spec: NodeSpec | None = next((n for n in definition.nodes if n.id == node_id), None)
    if spec is None:
        return None
    return spec.model_dump(mode="json", exclude={"id"}, exclude_defaults=True)


Compared = RunsCompared | DefinitionCompared
