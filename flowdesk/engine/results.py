"""What a run produced: one NodeResult per node and a RunResult, in the CLI's JSON shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flowdesk.engine.states import NodeState, RunState


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def seconds_between(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start and end else None


@dataclass(slots=True)
class ItemResult:
    """One item of a node with `map_over`: its own state, attempts, output and error."""

    index: int
    state: NodeState = NodeState.PENDING
    attempts: int = 0
    output: Any = field(default=None, repr=False)
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def duration_s(self) -> float | None:
        return seconds_between(self.started_at, self.finished_at)


@dataclass(slots=True)
class NodeResult:
    node_id: str
    state: NodeState = NodeState.PENDING
    attempts: int = 0
    output: Any = field(default=None, repr=False)
    error: str | None = None
    resolved_config: dict[str, Any] | None = field(default=None, repr=False)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    reused: bool = False
    """True when this execution's reuse plan kept the node (REUSED from the start; resume, run
    from here). A cache hit is REUSED without it: it was decided when the node's turn came."""
    log: str | None = field(default=None, repr=False)
    """What the handler wrote to the node's log (a `python` node's prints), masked."""
    reused_from: str | None = None
    """State REUSED: the run whose stored output this node took instead of running."""
    cached: bool = False
    """State REUSED: that output was found in the node cache (`"cache": true`)."""
    items: list[ItemResult] | None = field(default=None, repr=False)
    """A node with `map_over`: its items in item order, once the list is known (None for any
    other node, and for a run loaded from the store: its items load paged, on demand)."""

    @property
    def duration_s(self) -> float | None:
        return seconds_between(self.started_at, self.finished_at)

    def to_json(self) -> dict[str, Any]:
        """The CLI's node object; a REUSED node also says where its output came from (the
        other states keep the shape DESIGN.md fixes)."""
        shown = {
            "status": self.state.value,
            "attempts": self.attempts,
            "output": self.output,
            "error": self.error,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
        }
        if self.state is NodeState.REUSED:
            shown["reused_from"] = self.reused_from
            shown["cached"] = self.cached
        return shown


@dataclass
class RunResult:
    run_id: str
    workflow: str
    state: RunState
    params: dict[str, Any] = field(repr=False)
    # repr=False: asyncio and loggers repr finished tasks; 10,000 nodes took 90 ms to print.
    nodes: dict[str, NodeResult] = field(repr=False)
    output_node_ids: list[str] = field(default_factory=list, repr=False)
    started_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def results(self) -> dict[str, Any]:
        """Outputs of the output nodes that succeeded (or were reused)."""
        return {
            node_id: self.nodes[node_id].output
            for node_id in self.output_node_ids
            if self.nodes[node_id].state.succeeded
        }

    @property
    def duration_s(self) -> float | None:
        return seconds_between(self.started_at, self.finished_at)

    def count(self, state: NodeState) -> int:
        return sum(1 for node in self.nodes.values() if node.state is state)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "workflow": self.workflow,
            "status": self.state.value,
            "params": self.params,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "nodes": {node_id: node.to_json() for node_id, node in self.nodes.items()},
            "results": self.results,
        }
