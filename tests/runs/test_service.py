"""The run service: start, idempotency, resume (snapshot or current workflow), the compiled-plan
cache and what a crash leaves behind, on a real SQLite file and the real demo service."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from conftest import workflow

from flowdesk.engine.plan import InvalidWorkflowError
from flowdesk.engine.states import NodeState, RunState
from flowdesk.model import parse_workflow
from flowdesk.runs import RunHandle, RunService, node_fingerprints
from flowdesk.store import RunNotResumableError, StoredRun


@pytest.fixture
def service(tmp_path, registry):
    with RunService(registry, tmp_path / "runs.db") as service:
        yield service


def branches(url: str):
    """Failing Branch in small: `broken` calls `url`; `ok` does not depend on it."""
    return workflow(
        {"id": "input", "handler": "input"},
        {"id": "ok", "handler": "transform", "dependencies": ["input"], "config": {"value": 1}},
        {
            "id": "broken",
            "handler": "call_external_service",
            "dependencies": ["input"],
            "config": {"url": url},
        },
        {
            "id": "after",
            "handler": "transform",
            "dependencies": ["broken", "ok"],
            "config": {"value": "{{ broken.status_code }}"},
        },
        name="branches",
    )


def execute(handle: RunHandle):
    return asyncio.run(handle.execute())


def test_a_started_run_is_recorded_and_executes(service):
    definition = workflow(
        {"id": "a", "handler": "transform", "config": {"value": 7}},
        {"id": "b", "handler": "output", "dependencies": ["a"]},
    )
    handle = service.start(definition, {"x": 1})
    assert isinstance(handle, RunHandle)
    assert service.load(handle.run_id).state is RunState.PENDING
    assert service.active(handle.run_id) is handle
    result = execute(handle)
    assert result.state is RunState.COMPLETED
    assert result.results == {"b": {"a": 7}}
    assert service.active(handle.run_id) is None
    stored = service.load(handle.run_id)
    assert stored.state is RunState.COMPLETED
    assert stored.result.params == {"x": 1}
    assert [run.run_id for run in service.list_runs(workflow="test")] == [handle.run_id]


def test_an_invalid_workflow_or_bad_params_records_nothing(service):
    broken = workflow({"id": "a", "handler": "nope"})
    with pytest.raises(InvalidWorkflowError, match="unknown handler 'nope'"):
        service.start(broken)
    with pytest.raises(ValueError, match="params must be a JSON object"):
        service.start(workflow({"id": "a", "handler": "input"}), [1, 2])  # type: ignore[arg-type]
    assert service.list_runs() == []


def test_a_repeated_idempotency_key_returns_the_stored_run(service):
    definition = workflow({"id": "a", "handler": "input"})
    first = service.start(definition, {"n": 1}, idempotency_key="k")
    assert isinstance(first, RunHandle)
    execute(first)
    again = service.start(definition, {"n": 2}, idempotency_key="k")
    assert isinstance(again, StoredRun)
    assert again.run_id == first.run_id
    assert again.state is RunState.COMPLETED
    assert len(service.list_runs()) == 1


def test_a_definition_is_compiled_once_per_content(service, monkeypatch):
    text = '{"name": "w", "dag": {"nodes": [{"id": "a", "handler": "input"}]}}'
    calls = []
    import flowdesk.runs.compiled as module

    real = module.compile_workflow
    monkeypatch.setattr(module, "compile_workflow", lambda *args: calls.append(1) or real(*args))
    first = service.compile(parse_workflow(text))
    second = service.compile(parse_workflow(text))  # another object, same content
    moved = parse_workflow(text)
    moved.layout = {"a": (10.0, 20.0)}  # where a node is drawn does not change the run
    assert service.compile(moved) is first
    assert second is first
    changed = parse_workflow(text.replace('"input"', '"output"'))
    assert service.compile(changed) is not first
    assert len(calls) == 2


def test_resume_runs_the_snapshot_and_keeps_what_succeeded(service, server):
    handle = service.start(branches(f"{server.url}/fail"))
    assert execute(handle).state is RunState.FAILED
    server.reset()
    again = service.resume(handle.run_id)
    assert sorted(again.reused) == ["input", "ok"]
    assert execute(again).state is RunState.FAILED  # the snapshot still calls /fail
    assert server.paths() == ["/fail"]


def test_resume_with_current_workflow_reruns_only_what_changed(service, server):
    """Failing Branch's instructions: fix the URL and resume."""
    handle = service.start(branches(f"{server.url}/fail"))
    assert execute(handle).state is RunState.FAILED
    server.reset()
    fixed = branches(f"{server.url}/users/1")
    again = service.resume(handle.run_id, definition=fixed)
    assert sorted(again.reused) == ["input", "ok"]
    result = execute(again)
    assert result.state is RunState.COMPLETED
    assert server.paths() == ["/users/1"]
    stored = service.load(handle.run_id)
    assert stored.state is RunState.COMPLETED
    assert stored.result.nodes["after"].output == 200
    assert stored.definition.node("broken").config["url"].endswith("/users/1")
    assert stored.executions == 2


def test_resume_with_current_workflow_reruns_nodes_downstream_of_a_change(service, server):
    definition = workflow(
        {"id": "a", "handler": "transform", "config": {"value": 1}},
        {"id": "b", "handler": "transform", "dependencies": ["a"], "config": {"value": 2}},
        {
            "id": "c",
            "handler": "call_external_service",
            "dependencies": ["b"],
            "config": {"url": f"{server.url}/fail"},
        },
    )
    handle = service.start(definition)
    assert execute(handle).state is RunState.FAILED
    changed = definition.model_copy(deep=True)
    changed.node("a").config["value"] = 10  # a changed, so b (downstream) is stale too
    changed.node("c").config["url"] = f"{server.url}/users/1"
    changed.dag.nodes.append(changed.node("a").model_copy(update={"id": "new"}))
    again = service.resume(handle.run_id, definition=changed)
    assert again.reused == []
    assert execute(again).state is RunState.COMPLETED
    stored = service.load(handle.run_id)
    assert set(stored.result.nodes) == {"a", "b", "c", "new"}
    assert stored.result.nodes["a"].output == 10


def test_fingerprints_follow_ancestors_not_layout_or_description():
    base = workflow(
        {"id": "a", "handler": "transform", "config": {"value": 1}},
        {"id": "b", "handler": "transform", "dependencies": ["a"], "config": {"value": 2}},
        {"id": "c", "handler": "transform", "config": {"value": 3}},
    )
    same = base.model_copy(deep=True)
    same.description = "now documented"
    same.layout = {"a": (1.0, 2.0)}
    assert node_fingerprints(same) == node_fingerprints(base)
    retried = base.model_copy(deep=True)
    retried.node("a").timeout_s = 5
    before, after = node_fingerprints(base), node_fingerprints(retried)
    assert before["a"] != after["a"] and before["b"] != after["b"]
    assert before["c"] == after["c"]


def test_resuming_a_completed_run_is_refused(service):
    handle = service.start(workflow({"id": "a", "handler": "input"}))
    execute(handle)
    with pytest.raises(RunNotResumableError, match="nothing to resume"):
        service.resume(handle.run_id)


def test_a_node_is_marked_running_while_it_runs(tmp_path, registry, server):
    """So that a crash shows what was running (the kill -9 test in test_cli_runs shows the
    INTERRUPTED node that this mark becomes)."""
    db = tmp_path / "runs.db"
    definition = workflow(
        {"id": "fast", "handler": "transform", "config": {"value": 1}},
        {
            "id": "slow",
            "handler": "call_external_service",
            "dependencies": ["fast"],
            "config": {"url": f"{server.url}/slow?seconds=5"},
        },
        {"id": "after", "handler": "output", "dependencies": ["slow"]},
    )
    with RunService(registry, db) as service:
        handle = service.start(definition)

        def stored_states() -> dict[str, str]:
            with sqlite3.connect(db) as connection:
                return dict(connection.execute("SELECT node_id, state FROM node_runs"))

        async def while_slow_runs() -> dict[str, str]:
            task = asyncio.ensure_future(handle.execute())
            while not server.in_flight:
                await asyncio.sleep(0.01)
            for _ in range(200):
                states = stored_states()
                if states["slow"] == "RUNNING":
                    break
                await asyncio.sleep(0.01)
            handle.cancel()
            await task
            return states

        seen = asyncio.run(while_slow_runs())
    assert seen == {"fast": "SUCCEEDED", "slow": "RUNNING", "after": "PENDING"}
    assert stored_states()["slow"] == NodeState.CANCELLED.value
