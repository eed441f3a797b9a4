"""Every request and response body of the REST API as a pydantic model, so /openapi.json is exact."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from flowdesk.engine import NodeResult, NodeState, RunResult, RunState
from flowdesk.model import Problem
from flowdesk.store import RunSummary, StoredRun


class ProblemOut(BaseModel):
    """One problem with a request: the node it concerns (if any), the rule broken, why."""

    node: str | None
    rule: str
    message: str

    @classmethod
    def of(cls, problem: Problem) -> ProblemOut:
        """The problem `flowdesk validate` prints, its location (line and column, field) first."""
        where = f"{problem.location}: " if problem.location else ""
        return cls(node=problem.node_id, rule=str(problem.rule), message=where + problem.message)


class ProblemsResponse(BaseModel):
    """422 (or 400 for malformed JSON): every problem found, each on its own."""

    detail: list[ProblemOut]


class ErrorResponse(BaseModel):
    detail: str


class ConflictResponse(BaseModel):
    """409: the execution is not in a state that allows this; `status` is where it is now."""

    detail: str
    execution_id: str | None = None
    status: RunState | None = None


class ExecutionStatus(BaseModel):
    execution_id: str
    status: RunState


class TriggerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    params: dict[str, Any] = Field(
        default_factory=dict, description="What `{{ params.x }}` templates see; a JSON object."
    )


class NodeStatus(BaseModel):
    status: NodeState
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    reused_from: str | None = Field(
        default=None,
        description="REUSED: the execution whose stored output this node took instead of running.",
    )
    cached: bool = Field(default=False, description="REUSED: that output came from the cache.")

    @classmethod
    def of(cls, node: NodeResult) -> NodeStatus:
        return cls(
            status=node.state,
            attempts=node.attempts,
            started_at=node.started_at,
            finished_at=node.finished_at,
            error=node.error,
            reused_from=node.reused_from,
            cached=node.cached,
        )


class Execution(BaseModel):
    """An execution (a run) as stored: its state, params, times and every node's state."""

    execution_id: str
    workflow: str
    status: RunState
    params: dict[str, Any]
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    nodes: dict[str, NodeStatus]

    @classmethod
    def of(cls, stored: StoredRun) -> Execution:
        result = stored.result
        return cls(
            execution_id=stored.run_id,
            workflow=result.workflow,
            status=result.state,
            params=result.params,
            created_at=stored.created_at,
            started_at=result.started_at,
            finished_at=result.finished_at,
            nodes={node_id: NodeStatus.of(node) for node_id, node in result.nodes.items()},
        )


class ExecutionResults(BaseModel):
    """Outputs so far: partial while the run goes on."""

    execution_id: str
    status: RunState
    results: dict[str, Any] = Field(description="Output node id -> its output (when it succeeded).")
    outputs: dict[str, Any] = Field(
        description="Node id -> output, for every SUCCEEDED or REUSED node."
    )

    @classmethod
    def of(cls, result: RunResult) -> ExecutionResults:
        return cls(
            execution_id=result.run_id,
            status=result.state,
            results=result.results,
            outputs={
                node_id: node.output
                for node_id, node in result.nodes.items()
                if node.state.succeeded
            },
        )


class RunListItem(BaseModel):
    execution_id: str
    workflow: str
    status: RunState
    created_at: datetime
    started_at: datetime | None
    resumed_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, summary: RunSummary) -> RunListItem:
        return cls(
            execution_id=summary.run_id,
            workflow=summary.workflow,
            status=summary.state,
            created_at=summary.created_at,
            started_at=summary.started_at,
            resumed_at=summary.resumed_at,
            finished_at=summary.finished_at,
        )


class RunsPage(BaseModel):
    """Newest first. Ask for the next page with `starting_after=<the last execution_id>`."""

    runs: list[RunListItem]
    has_more: bool


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class NodeEvent(BaseModel):
    """`event: node`: a node's state now (first for every node), then each change."""

    node: str
    status: NodeState | Literal["RETRYING"]
    attempt: int
    at: datetime | None
    error: str | None


class RunEndEvent(BaseModel):
    """`event: run`: the last event of a stream, with the run's status."""

    execution_id: str
    status: RunState
    at: datetime | None
