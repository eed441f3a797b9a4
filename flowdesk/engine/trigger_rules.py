"""Join rules: whether a node may run, given the final states of its dependencies.

A node decides once all its dependencies are final (`decide`); a rule that can
no longer be met by what is still to come skips it earlier (`hopeless`), so a
failure skips an `all_success` chain at once, as it always did. "Success" is
SUCCEEDED or REUSED (`NodeState.succeeded`): a reused output counts as one.
"""

from __future__ import annotations

from collections.abc import Mapping

from flowdesk.engine.states import NodeState
from flowdesk.model.workflow import TRIGGER_RULES

DEFAULT_RULE = TRIGGER_RULES[0]
CONDITION_FALSE = "condition false"
"""The reason a node whose `when` was falsy is SKIPPED (its error text, also in the store)."""


def _failed(state: NodeState) -> bool:
    """FAILED, CANCELLED or INTERRUPTED: it ended without succeeding and was not skipped."""
    return not state.succeeded and state is not NodeState.SKIPPED


def hopeless(rule: str | None, dep_id: str, state: NodeState) -> str | None:
    """Why the rule cannot be met now that `dep_id` ended in `state`, or None (wait for more)."""
    rule = rule or DEFAULT_RULE
    if rule == "all_success" and not state.succeeded:
        return _not_succeeded(dep_id, state)
    if rule in ("none_failed", "none_failed_min_one_success") and _failed(state):
        return f"upstream '{dep_id}' {state.value.lower()} (join rule {rule})"
    return None


def decide(rule: str | None, states: Mapping[str, NodeState]) -> str | None:
    """None when the node may run with its dependencies in `states` (all final), else why not."""
    rule = rule or DEFAULT_RULE
    if rule == "all_done":
        return None
    for dep_id, state in states.items():
        reason = hopeless(rule, dep_id, state)
        if reason is not None:
            return reason
    needs_one = rule in ("one_success", "none_failed_min_one_success")
    if needs_one and states and not any(state.succeeded for state in states.values()):
        return f"no upstream node succeeded (join rule {rule})"
    return None


def _not_succeeded(dep_id: str, state: NodeState) -> str:
    if state is NodeState.SKIPPED:
        return f"upstream '{dep_id}' was skipped"
    return f"upstream '{dep_id}' did not succeed"
