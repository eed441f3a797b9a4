"""A workflow compiled for running: validated once, every node planned, the graph as counts.

Compiling is the expensive part of starting a run (validation walks the graph
and checks every config), so the run service compiles a definition once and
reuses the result for every run of the same content (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flowdesk.engine.execution import NodePlan
from flowdesk.engine.registry import HandlerRegistry
from flowdesk.model import (
    Problem,
    WorkflowDefinition,
    dump_snapshot,
    errors_only,
    validate_workflow,
)


class InvalidWorkflowError(ValueError):
    """The definition has validation errors; nothing ran."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class CompiledWorkflow:
    """Everything about a definition that no run changes. Shared by runs; never mutated."""

    definition: WorkflowDefinition
    plans: Mapping[str, NodePlan]
    dependencies: Mapping[str, tuple[str, ...]]
    children: Mapping[str, tuple[str, ...]]
    """Node id -> the nodes that depend on it directly."""
    waiting_on: Mapping[str, int]
    """Node id -> how many distinct dependencies it waits for (a run copies and counts down)."""
    output_node_ids: tuple[str, ...]
    needs_http: bool
    snapshot_json: str
    """The definition as the store keeps it with each run (compact, without layout)."""
    secret_names: frozenset[str] = frozenset()
    """Every secret its templates read: the values a run of it looks up when it starts."""

    @property
    def name(self) -> str:
        return self.definition.name

    def descendants(self, node_id: str) -> list[str]:
        """Every node downstream of `node_id`, in a stable order."""
        found: dict[str, None] = {}
        stack = list(self.children[node_id])
        while stack:
            current = stack.pop()
            if current not in found:
                found[current] = None
                stack.extend(self.children[current])
        return sorted(found)


def compile_workflow(definition: WorkflowDefinition, registry: HandlerRegistry) -> CompiledWorkflow:
    """Validate and plan `definition`; raises InvalidWorkflowError with every problem."""
    problems = errors_only(validate_workflow(definition, registry.config_models()))
    if problems:
        raise InvalidWorkflowError(problems)
    plans = {node.id: NodePlan.build(node, registry.get(node.handler)) for node in definition.nodes}
    dependencies = {node.id: tuple(dict.fromkeys(node.dependencies)) for node in definition.nodes}
    children: dict[str, list[str]] = {node_id: [] for node_id in dependencies}
    for node_id, deps in dependencies.items():
        for dep in deps:
            children[dep].append(node_id)
    return CompiledWorkflow(
        definition=definition,
        plans=plans,
        dependencies=dependencies,
        children={node_id: tuple(kids) for node_id, kids in children.items()},
        waiting_on={node_id: len(deps) for node_id, deps in dependencies.items()},
        output_node_ids=tuple(n.id for n in definition.nodes if n.handler == "output"),
        needs_http=any(plan.handler.needs_http for plan in plans.values()),
        snapshot_json=dump_snapshot(definition),
        secret_names=frozenset().union(*(plan.secret_refs for plan in plans.values())),
    )
