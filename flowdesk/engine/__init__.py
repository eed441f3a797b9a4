"""The workflow engine: compile a workflow, run it, report events. Knows nothing of Qt.

Callers import from here; the submodules are the engine's own business. The scheduler and
the compiler load on first use, so the store (which needs only results, states and the
recorder protocol) sits below them.
"""

from typing import TYPE_CHECKING, Any

from flowdesk.engine.cache import CacheEntry, NodeCache, NullNodeCache
from flowdesk.engine.clock import RunClock
from flowdesk.engine.context import HandlerError, NodeContext, RunResources
from flowdesk.engine.events import (
    EventStream,
    ItemFinished,
    Listener,
    MapStarted,
    NodeFinished,
    NodeRetrying,
    NodeStarted,
    RunEvent,
    RunFinished,
    RunStarted,
)
from flowdesk.engine.executor import Executor, ExecutorError, ExecutorSession, LocalExecutor
from flowdesk.engine.limits import RunLimits
from flowdesk.engine.masking import SecretMask
from flowdesk.engine.recorder import NullRecorder, ResultNotRecordable, RunRecorder
from flowdesk.engine.registry import HandlerRegistry, HandlerSpec, UnknownHandlerError, handler
from flowdesk.engine.results import ItemResult, NodeResult, RunResult
from flowdesk.engine.reuse import ReusePlan, StoredOutput, kept_by_resume
from flowdesk.engine.states import NodeState, RunState

if TYPE_CHECKING:
    from flowdesk.engine.plan import CompiledWorkflow, InvalidWorkflowError, compile_workflow
    from flowdesk.engine.scheduler import DEFAULT_MAX_CONCURRENCY, WorkflowRun, run_workflow

_LAZY = {
    "CompiledWorkflow": "flowdesk.engine.plan",
    "InvalidWorkflowError": "flowdesk.engine.plan",
    "compile_workflow": "flowdesk.engine.plan",
    "DEFAULT_MAX_CONCURRENCY": "flowdesk.engine.scheduler",
    "WorkflowRun": "flowdesk.engine.scheduler",
    "run_workflow": "flowdesk.engine.scheduler",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'flowdesk.engine' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "DEFAULT_MAX_CONCURRENCY",
    "CacheEntry",
    "CompiledWorkflow",
    "EventStream",
    "Executor",
    "ExecutorError",
    "ExecutorSession",
    "HandlerError",
    "HandlerRegistry",
    "HandlerSpec",
    "InvalidWorkflowError",
    "ItemFinished",
    "ItemResult",
    "Listener",
    "LocalExecutor",
    "MapStarted",
    "NodeCache",
    "NodeContext",
    "NodeFinished",
    "NodeResult",
    "NodeRetrying",
    "NodeStarted",
    "NodeState",
    "NullNodeCache",
    "NullRecorder",
    "ResultNotRecordable",
    "ReusePlan",
    "RunClock",
    "RunEvent",
    "RunFinished",
    "RunLimits",
    "RunRecorder",
    "RunResources",
    "RunResult",
    "RunStarted",
    "RunState",
    "SecretMask",
    "StoredOutput",
    "UnknownHandlerError",
    "WorkflowRun",
    "compile_workflow",
    "handler",
    "kept_by_resume",
    "run_workflow",
]
