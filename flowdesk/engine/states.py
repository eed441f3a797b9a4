"""Node and run states: what every front-end shows and the store keeps (docs/architecture.md)."""

from __future__ import annotations

from enum import StrEnum


class NodeState(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    """An upstream node failed or was cancelled."""
    CANCELLED = "CANCELLED"
    INTERRUPTED = "INTERRUPTED"
    """It was running when its process died; a resume runs it again."""
    REUSED = "REUSED"
    """It did not run: its output is a stored one (run from here, the cache, a resume).
    A success for everything downstream; `NodeResult.reused_from` names the run it came from."""

    @property
    def is_final(self) -> bool:
        return self not in (NodeState.PENDING, NodeState.RUNNING)

    @property
    def succeeded(self) -> bool:
        """SUCCEEDED or REUSED: it has an output that downstream nodes may use."""
        return self in (NodeState.SUCCEEDED, NodeState.REUSED)


class RunState(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    INTERRUPTED = "INTERRUPTED"
    """The process ended mid-run; the run can be resumed."""

    @property
    def is_final(self) -> bool:
        return self not in (RunState.PENDING, RunState.RUNNING)

    @property
    def resumable(self) -> bool:
        return self in (RunState.FAILED, RunState.INTERRUPTED, RunState.CANCELLED)
