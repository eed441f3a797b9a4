"""What travels between the orchestrator and a worker: one handler call and its outcome, as JSON.

A task carries (run id, node id, attempt, handler name, resolved config, params, inputs); the
worker answers with the handler's output or the message of its failure. Its id,
`<run_id>:<node_id>:<attempt>`, is what makes a redelivered copy recognisable.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class HandlerCall(BaseModel):
    """The task's one argument."""

    model_config = ConfigDict(extra="ignore")

    run_id: str
    node_id: str
    attempt: int
    handler: str
    config: dict[str, Any]
    params: dict[str, Any]
    inputs: dict[str, Any]


def task_id(execution: str, node_id: str, attempt: int, item_index: int | None = None) -> str:
    """`<run_id>:<node_id>:<attempt>`, `<run_id>:<node_id>[<item>]:<attempt>` for an item of a
    mapped node; `execution` is the run id (see `execution_prefix`)."""
    if item_index is not None:
        return f"{execution}:{node_id}[{item_index}]:{attempt}"
    return f"{execution}:{node_id}:{attempt}"


def execution_prefix(run_id: str, execution: int) -> str:
    """The run id on a run's first execution; `<run_id>.<n>` on its n-th (a resume), so that a
    resumed node's task never takes the id of one revoked or answered in an earlier
    execution (workers remember revoked ids for hours)."""
    return run_id if execution <= 1 else f"{run_id}.{execution}"


def succeeded(output: Any, log: str | None = None) -> dict[str, Any]:
    """`log`: what the handler wrote to the node's log on the worker (a `python` node's prints)."""
    return {"ok": True, "output": output, "log": log}


def failed(message: str, *, final: bool = False, log: str | None = None) -> dict[str, Any]:
    """`final`: trying again cannot help (the handler is not installed on the worker)."""
    return {"ok": False, "error": message, "final": final, "log": log}
