"""The executor seam: where a node's handler call runs, and nothing else.

The engine resolves templates, validates configs, schedules retries, bounds attempts with the
node's timeout, cancels, emits events and records results in the process that runs the
workflow, whatever the executor. An executor only decides where `handler.run(config, context)`
happens: `LocalExecutor` awaits it here; another executor (FlowDesk's Celery workers, in
`flowdesk.scaleout`) sends the call elsewhere and awaits its answer. The engine knows nothing
of how.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from flowdesk.engine.context import NodeContext
from flowdesk.engine.registry import HandlerSpec

if TYPE_CHECKING:
    from flowdesk.engine.plan import CompiledWorkflow


class ExecutorError(Exception):
    """The executor could not have the handler run at all (no worker consumes the queue, the
    handler is not installed where it would run): the node fails with this message, without
    retries, since trying again at once cannot help."""


class ExecutorSession(Protocol):
    """The calls of one execution of one run."""

    async def call(
        self,
        handler: HandlerSpec,
        config: BaseModel,
        resolved: Mapping[str, Any],
        context: NodeContext,
    ) -> Any:
        """The handler's output for one attempt. `config` is the validated model, `resolved`
        the same config as plain JSON data (what travels). Raises HandlerError for a failure
        to show as is, ExecutorError when the call cannot be made; being cancelled (the run is
        cancelled, or the attempt timed out) must stop the call wherever it runs."""
        ...

    async def aclose(self) -> None:
        """The execution has ended: release what the session holds."""
        ...


class Executor(Protocol):
    """Opens a session per execution of a run (a resume is another execution)."""

    async def open_run(self, run_id: str, workflow: CompiledWorkflow) -> ExecutorSession: ...


class LocalExecutor:
    """Handlers run in this process, on its event loop: FlowDesk's default."""

    async def open_run(self, run_id: str, workflow: CompiledWorkflow) -> ExecutorSession:
        return LOCAL_SESSION


class _LocalSession:
    async def call(
        self,
        handler: HandlerSpec,
        config: BaseModel,
        resolved: Mapping[str, Any],
        context: NodeContext,
    ) -> Any:
        return await handler.run(config, context)

    async def aclose(self) -> None:
        return None


LOCAL_SESSION: ExecutorSession = _LocalSession()
LOCAL = LocalExecutor()
"""Stateless, so one instance serves every run."""
