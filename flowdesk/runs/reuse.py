"""Which stored node outputs a new execution may reuse: a node is reusable when neither it nor
anything upstream of it changed.

The one mechanism behind resume, "resume with the current workflow" and run from here: each
builds a reuse plan (`flowdesk.engine.ReusePlan`, node id -> the stored result it keeps and the
run it is taken from) and hands it to the engine, which marks those nodes REUSED. The cache
(`"cache": true`) reuses outputs too, but decides per node when its turn comes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

from flowdesk.engine import StoredOutput
from flowdesk.model import WorkflowDefinition, topological_order
from flowdesk.model.graph import descendants

if TYPE_CHECKING:
    from flowdesk.store import StoredRun

NODE_IDENTITY_FIELDS = {"id", "dependencies"}
"""Left out of a node's own digest: its id names it, its dependencies enter through theirs."""


RefusalKind = Literal["missing", "changed", "params"]


class RunFromRefused(Exception):
    """Run from here cannot take what it needs from a stored run; the message says which node
    and why, in one line. `kind`: the run has no stored output for an upstream node
    ("missing"), has one but the node changed since ("changed"), or ran with other params."""

    def __init__(self, message: str, *, kind: RefusalKind = "missing") -> None:
        super().__init__(message)
        self.kind = kind


def node_fingerprints(definition: WorkflowDefinition) -> dict[str, str]:
    """Node id -> a digest of everything that decides its output: handler, config, retry,
    timeout and any other field, plus the digests of its dependencies (so of every ancestor).

    The definition must be acyclic (validated).
    """
    nodes = {node.id: node for node in definition.nodes}
    digests: dict[str, str] = {}
    for node_id in topological_order(definition.dependency_map()):
        node = nodes[node_id]
        own = node.model_dump(mode="json", exclude=NODE_IDENTITY_FIELDS)
        upstream = sorted((dep, digests[dep]) for dep in set(node.dependencies))
        text = json.dumps([own, upstream], sort_keys=True, separators=(",", ":"))
        digests[node_id] = hashlib.sha256(text.encode()).hexdigest()
    return digests


def reusable_results(
    ran: WorkflowDefinition,
    current: WorkflowDefinition,
    plan: Mapping[str, StoredOutput],
) -> dict[str, StoredOutput]:
    """The part of a reuse plan made for `ran` that a run of `current` may keep as it is."""
    before, now = node_fingerprints(ran), node_fingerprints(current)
    return {
        node_id: kept
        for node_id, kept in plan.items()
        if kept.result.state.succeeded and node_id in now and before.get(node_id) == now[node_id]
    }


def ancestors(dependencies: Mapping[str, Iterable[str]], node_id: str) -> set[str]:
    """Every node `node_id` depends on, directly or not."""
    found: set[str] = set()
    stack = list(dependencies.get(node_id, ()))
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(dependencies.get(current, ()))
    return found


def run_from_plan(
    current: WorkflowDefinition,
    node_id: str,
    source: StoredRun,
    params: Mapping[str, Any] | None = None,
) -> dict[str, StoredOutput]:
    """The reuse plan of a run of `current` from `node_id`, taking outputs from `source`.

    Every node upstream of `node_id` must have a succeeded (or reused) output in `source` and be
    unchanged since (its fingerprint); otherwise RunFromRefused names the first one that is not.
    Nodes beside it (neither upstream nor downstream) are reused when they can be, and run
    otherwise; `node_id` and everything downstream always run. `params`, when given (as the
    store keeps them: secrets masked), must be the ones `source` ran with: any node may read
    them, so an output of other params is not one of these.
    """
    dependencies = current.dependency_map()
    if node_id not in dependencies:
        raise RunFromRefused(f"no node '{node_id}' in workflow '{current.name}'")
    if params is not None and dict(params) != source.result.params:
        raise RunFromRefused(
            f"cannot run from '{node_id}': run {source.run_id} ran with other params "
            "(its outputs may depend on them; give no params to use that run's)",
            kind="params",
        )
    rerun = {node_id} | descendants(dependencies, node_id)
    upstream = ancestors(dependencies, node_id)
    now, before = node_fingerprints(current), node_fingerprints(source.definition)
    stored = source.result.nodes
    plan: dict[str, StoredOutput] = {}
    for candidate in topological_order(dependencies):
        if candidate in rerun:
            continue
        result = stored.get(candidate)
        why, kind = None, "missing"
        if result is None:
            why = f"is not in run {source.run_id}"
        elif not result.state.succeeded:
            why = f"has no stored output in run {source.run_id} (it is {result.state.value})"
        elif before.get(candidate) != now[candidate]:
            why, kind = f"changed since run {source.run_id}", "changed"
        elif any(dep not in plan for dep in dependencies[candidate]):
            why = "depends on a node that must run again"
        if why is None:
            assert result is not None
            # It did not run in the new run: no attempts, no times of its own (the engine dates
            # it at the run's start); the output, resolved config and log are the stored ones.
            # It comes from `source` (whether `source` ran it or took it in turn), not the cache.
            taken = replace(
                result, attempts=0, error=None, started_at=None, finished_at=None, cached=False
            )
            plan[candidate] = StoredOutput(source.run_id, taken)
        elif candidate in upstream:
            raise RunFromRefused(
                f"cannot run from '{node_id}': upstream node '{candidate}' {why}",
                kind=kind,  # type: ignore[arg-type]
            )
    return plan


def choose_source(
    current: WorkflowDefinition,
    node_id: str,
    candidates: Iterable[StoredRun],
    params: Mapping[str, Any] | None = None,
) -> tuple[StoredRun | None, dict[str, StoredOutput]]:
    """The newest of `candidates` (newest first) that run from `node_id` can take its outputs
    from (with these `params`, when given), and that plan.

    A node with nothing upstream never needs one: (None, {}) when no run serves. Otherwise
    RunFromRefused, with the most useful reason: an upstream node that changed since the
    newest run that stored it, else no run with these params, else what the newest run lacks.
    """
    dependencies = current.dependency_map()
    if node_id not in dependencies:
        raise RunFromRefused(f"no node '{node_id}' in workflow '{current.name}'")
    refusals: list[RunFromRefused] = []
    for source in candidates:
        try:
            return source, run_from_plan(current, node_id, source, params)
        except RunFromRefused as refusal:
            refusals.append(refusal)
    if not ancestors(dependencies, node_id):
        return None, {}
    changed = [refusal for refusal in refusals if refusal.kind == "changed"]
    if changed:
        raise changed[0]
    if refusals and all(refusal.kind == "params" for refusal in refusals):
        raise RunFromRefused(
            f"cannot run from '{node_id}': no earlier run of workflow '{current.name}' ran "
            "with these params (give no params to use the latest run's)",
            kind="params",
        )
    missing = [refusal for refusal in refusals if refusal.kind == "missing"]
    if missing:
        raise missing[0]
    raise RunFromRefused(
        f"cannot run from '{node_id}': no earlier run of workflow '{current.name}' has stored "
        "outputs to reuse (run the whole workflow first)"
    )
