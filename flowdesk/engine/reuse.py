"""A reuse plan: the nodes of an execution that take a stored output instead of running.

Resume, resume with the current workflow and run from here all hand the engine one: node id
-> the stored result it keeps and the run that produced it. The engine marks those nodes
REUSED from the start (`NodeResult.reused_from` names the run) and never runs them; which
outputs may be reused is decided above it (`flowdesk/runs/reuse.py`), never here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flowdesk.engine.results import NodeResult


@dataclass(frozen=True, slots=True)
class StoredOutput:
    """A succeeded (or reused) result of run `source_run_id` that another execution keeps."""

    source_run_id: str
    result: NodeResult


ReusePlan = Mapping[str, StoredOutput]
"""Node id -> the stored output it keeps (the engine's `previous=`)."""


def kept_by_resume(run_id: str, results: Mapping[str, NodeResult]) -> dict[str, StoredOutput]:
    """What a resume of `run_id` keeps: every node that succeeded or was reused there, each from
    the run its output came from (itself, or the run a reused node took it from)."""
    return {
        node_id: StoredOutput(result.reused_from or run_id, result)
        for node_id, result in results.items()
        if result.state.succeeded
    }


def reuse_note(result: NodeResult, run_id: str | None, *, id_length: int | None = None) -> str:
    """Where a REUSED node's output came from, as every front-end says it: `reused from run
    <id>`, `cached (from run <id>)`, or `reused from an earlier execution of this run` (a
    resume; `run_id` is the run on show). `id_length` shortens the ids shown."""
    source = result.reused_from
    shown = source[:id_length] if source and id_length else source
    if result.cached:
        return f"cached (from run {shown})" if source else "cached"
    if source is None or source == run_id:
        return "reused from an earlier execution of this run"
    return f"reused from run {shown}"
