"""The workflow engine: compile a workflow, run it, report events. Knows nothing of Qt.

Callers import from here; the submodules are the engine's own business.
"""

from flowdesk.engine.clock import RunClock
from flowdesk.engine.context import HandlerError, NodeContext, RunResources
from flowdesk.engine.events import (
    EventStream,
    Listener,
    NodeFinished,
    NodeRetrying,
    NodeStarted,
    RunEvent,
    RunFinished,
    RunStarted,
)
from flowdesk.engine.plan import CompiledWorkflow, InvalidWorkflowError, compile_workflow
from flowdesk.engine.recorder import NullRecorder, RunRecorder
from flowdesk.engine.registry import HandlerRegistry, HandlerSpec, UnknownHandlerError, handler
from flowdesk.engine.results import NodeResult, RunResult
from flowdesk.engine.scheduler import DEFAULT_MAX_CONCURRENCY, WorkflowRun, run_workflow
from flowdesk.engine.states import NodeState, RunState

__all__ = [
    "DEFAULT_MAX_CONCURRENCY",
    "CompiledWorkflow",
    "EventStream",
    "HandlerError",
    "HandlerRegistry",
    "HandlerSpec",
    "InvalidWorkflowError",
    "Listener",
    "NodeContext",
    "NodeFinished",
    "NodeResult",
    "NodeRetrying",
    "NodeStarted",
    "NodeState",
    "NullRecorder",
    "RunClock",
    "RunEvent",
    "RunFinished",
    "RunRecorder",
    "RunResources",
    "RunResult",
    "RunStarted",
    "RunState",
    "UnknownHandlerError",
    "WorkflowRun",
    "compile_workflow",
    "handler",
    "run_workflow",
]
