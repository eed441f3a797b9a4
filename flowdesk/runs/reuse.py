"""Which stored node outputs a new execution may reuse: a node is reusable when neither it nor
anything upstream of it changed.

This is the one mechanism behind "resume with the current workflow" (and, later, run from here
and the cache): a plan of node id -> the stored result it keeps.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from flowdesk.engine import NodeResult, NodeState
from flowdesk.model import WorkflowDefinition, topological_order

NODE_IDENTITY_FIELDS = {"id", "dependencies"}
"""Left out of a node's own digest: its id names it, its dependencies enter through theirs."""


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
    results: Mapping[str, NodeResult],
) -> dict[str, NodeResult]:
    """The SUCCEEDED results of a run of `ran` that a run of `current` may keep as they are."""
    before, now = node_fingerprints(ran), node_fingerprints(current)
    return {
        node_id: result
        for node_id, result in results.items()
        if result.state is NodeState.SUCCEEDED
        and node_id in now
        and before.get(node_id) == now[node_id]
    }
