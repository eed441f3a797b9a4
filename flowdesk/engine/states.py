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

    @property
    def is_final(self) -> bool:
        return self not in (NodeState.PENDING, NodeState.RUNNING)


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
