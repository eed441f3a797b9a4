"""What `flowdesk.engine` exports is its public surface: front-ends, the store and plugins import
from there. Changing it is a decision, so it is pinned here."""

from __future__ import annotations

import flowdesk.engine

EXPORTED = {
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
}


def test_the_engine_exports_exactly_its_public_names():
    assert set(flowdesk.engine.__all__) == EXPORTED
    assert len(flowdesk.engine.__all__) == len(EXPORTED)  # no name twice
    for name in EXPORTED:
        assert getattr(flowdesk.engine, name) is not None, name


def test_public_names_are_defined_in_the_engine():
    for name in EXPORTED - {"DEFAULT_MAX_CONCURRENCY", "Listener", "RunEvent", "ReusePlan"}:
        assert getattr(flowdesk.engine, name).__module__.startswith("flowdesk.engine."), name
