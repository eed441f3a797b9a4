"""SQLiteRecorder with the real engine: durable results before dependents, group commits,
resume that never runs a succeeded node twice."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from contextlib import closing

import pytest
from pydantic import BaseModel

from flowdesk.engine import HandlerError, HandlerRegistry, handler
from flowdesk.engine.scheduler import WorkflowRun
from flowdesk.engine.states import NodeState, RunState
from flowdesk.model import workflow_from_data
from flowdesk.store import RunNotResumableError, Store


class ProbeConfig(BaseModel):
    name: str
    watch: str | None = None
    """An upstream node whose stored row this node reads from another connection."""


class Probe:
    """A handler that counts its calls, can be told to fail, and can look into the database."""

    def __init__(self, db_path) -> None:
        self.db_path = db_path
        self.calls: list[str] = []
        self.failing: set[str] = set()
        self.seen: dict[str, tuple] = {}

    def spec(self):
        @handler("probe", ProbeConfig)
        async def probe(config: ProbeConfig, context):
            self.calls.append(config.name)
            if config.watch:
                with closing(sqlite3.connect(self.db_path)) as connection, connection:
                    self.seen[config.name] = connection.execute(
                        "SELECT state, output_json FROM node_runs WHERE run_id = ? AND node_id = ?",
                        (context.run_id, config.watch),
                    ).fetchone()
            if config.name in self.failing:
                raise HandlerError(f"{config.name} failed on purpose")
            return {"name": config.name}

        return probe


def probe_workflow(*nodes: tuple[str, list[str], str | None]):
    return workflow_from_data(
        {
            "name": "probes",
            "dag": {
                "nodes": [
                    {
                        "id": node_id,
                        "handler": "probe",
                        "dependencies": deps,
                        "config": {"name": node_id, **({"watch": watch} if watch else {})},
                    }
                    for node_id, deps, watch in nodes
                ]
            },
        }
    )


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "runs.db"


@pytest.fixture
def probe(db_path):
    return Probe(db_path)


@pytest.fixture
def probe_registry(probe):
    registry = HandlerRegistry.default()
    registry.register(probe.spec())
    return registry


def execute(store: Store, definition, registry, params=None, **options):
    run_id, _ = store.runs.create_run(definition, params)
    run = WorkflowRun(
        definition, registry, params, run_id=run_id, recorder=store.recorder(), **options
    )
    return asyncio.run(run.execute())


def resume(store: Store, run_id: str, registry):
    plan = store.runs.prepare_resume(run_id)
    run = WorkflowRun(
        plan.definition,
        registry,
        plan.params,
        run_id=plan.run_id,
        previous=plan.previous,
        recorder=store.recorder(),
    )
    return asyncio.run(run.execute())


def test_a_success_is_committed_before_its_dependents_start(db_path, probe, probe_registry):
    definition = probe_workflow(("a", [], None), ("b", ["a"], "a"))
    with Store.open(db_path) as store:
        result = execute(store, definition, probe_registry)
    assert result.state is RunState.COMPLETED
    state, output = probe.seen["b"]
    assert state == "SUCCEEDED"
    assert json.loads(output) == {"name": "a"}


def test_the_stored_run_is_what_the_engine_reported(db_path, probe, probe_registry):
    probe.failing = {"b"}
    definition = probe_workflow(("a", [], None), ("b", ["a"], None), ("c", ["b"], None))
    with Store.open(db_path) as store:
        result = execute(store, definition, probe_registry, {"p": 1})
        stored = store.runs.load(result.run_id)
    assert result.state is RunState.FAILED
    assert stored.result.to_json() == result.to_json()
    assert stored.result.nodes["c"].state is NodeState.SKIPPED
    assert stored.result.nodes["b"].error == "b failed on purpose"
    assert stored.result.nodes["a"].resolved_config == {"name": "a"}
    assert stored.executions == 1


def test_results_arriving_together_share_transactions(db_path):
    width = 400
    nodes = [{"id": "input", "handler": "input"}] + [
        {"id": f"t{i}", "handler": "transform", "dependencies": ["input"], "config": {"value": i}}
        for i in range(width)
    ]
    definition = workflow_from_data({"name": "wide", "dag": {"nodes": nodes}})
    with Store.open(db_path) as store:
        before = store.writer.transactions
        result = execute(store, definition, HandlerRegistry.default(), max_concurrency=width)
        transactions = store.writer.transactions - before
        stored = store.runs.load(result.run_id)
    assert result.state is RunState.COMPLETED
    assert stored.result.count(NodeState.SUCCEEDED) == width + 1
    assert stored.result.nodes["t7"].output == 7
    # One per node would be width + 3 (claim, input, each t, finish).
    assert transactions < width / 4


def test_the_event_loop_keeps_running_while_the_database_is_busy(db_path, probe_registry):
    """SQLite work happens on the writer thread: a slow commit does not freeze the loop."""
    definition = probe_workflow(("a", [], None))
    with Store.open(db_path) as store:
        run_id, _ = store.runs.create_run(definition)
        result = asyncio.run(
            WorkflowRun(
                definition, probe_registry, run_id=run_id, recorder=store.recorder()
            ).execute()
        )
        node = result.nodes["a"]
        recorder = store.recorder()

        async def main() -> tuple[int, float]:
            blocker = asyncio.create_task(
                asyncio.to_thread(store.writer.call, lambda connection: time.sleep(0.3))
            )
            await asyncio.sleep(0.02)  # the writer is now inside the slow operation
            started = time.perf_counter()
            write = asyncio.create_task(recorder.node_finished(run_id, node))
            ticks = 0
            while not write.done():
                await asyncio.sleep(0.005)
                ticks += 1
            await blocker
            return ticks, time.perf_counter() - started

        ticks, waited = asyncio.run(main())
    assert waited > 0.15  # the write waited for the writer thread...
    assert ticks > 10  # ...while the loop went on running


def test_resume_reruns_only_what_did_not_succeed(db_path, probe, probe_registry):
    probe.failing = {"b"}
    definition = probe_workflow(
        ("a", [], None), ("b", ["a"], None), ("c", ["b"], None), ("d", ["a"], None)
    )
    with Store.open(db_path) as store:
        first = execute(store, definition, probe_registry)
        assert first.state is RunState.FAILED
        assert sorted(probe.calls) == ["a", "b", "d"]
        probe.calls.clear()
        probe.failing.clear()
        second = resume(store, first.run_id, probe_registry)
        stored = store.runs.load(first.run_id)
    assert probe.calls == ["b", "c"]
    assert second.state is RunState.COMPLETED
    assert second.run_id == first.run_id
    assert stored.state is RunState.COMPLETED
    assert stored.executions == 2
    # Kept nodes are REUSED (from this very run) while the resume runs; the store keeps the row
    # of the execution that ran them, SUCCEEDED, as it was.
    assert second.nodes["a"].state is NodeState.REUSED
    assert second.nodes["a"].reused_from == first.run_id
    reported = second.to_json()["nodes"]
    for node_id in ("a", "d"):
        del reported[node_id]["reused_from"], reported[node_id]["cached"]
        reported[node_id]["status"] = "SUCCEEDED"
    assert {n: r.to_json() for n, r in stored.result.nodes.items()} == reported
    assert stored.result.nodes["a"].reused_from is None
    assert stored.result.finished_at == second.finished_at
    # "Started" stays the first start; the resume's start is kept beside it.
    assert stored.result.started_at == first.started_at
    assert stored.resumed_at == second.started_at
    assert stored.result.nodes["a"].started_at == first.nodes["a"].started_at


def test_a_run_never_executes_a_succeeded_node_again(db_path, probe, probe_registry):
    definition = probe_workflow(("a", [], None))
    with Store.open(db_path) as store:
        first = execute(store, definition, probe_registry)
        # Starting the COMPLETED run again, even without `previous`, is refused.
        again = WorkflowRun(
            definition, probe_registry, run_id=first.run_id, recorder=store.recorder()
        )
        with pytest.raises(RunNotResumableError, match="COMPLETED"):
            asyncio.run(again.execute())
    assert probe.calls == ["a"]


def test_a_resume_that_would_rerun_a_succeeded_node_is_refused(db_path, probe, probe_registry):
    probe.failing = {"b"}
    definition = probe_workflow(("a", [], None), ("b", ["a"], None))
    with Store.open(db_path) as store:
        first = execute(store, definition, probe_registry)
        careless = WorkflowRun(  # forgets `previous`: "a" would run a second time
            definition, probe_registry, run_id=first.run_id, recorder=store.recorder()
        )
        with pytest.raises(RunNotResumableError, match="already succeeded"):
            asyncio.run(careless.execute())
        assert store.runs.load(first.run_id).state is RunState.FAILED
    assert probe.calls == ["a", "b"]


def test_closing_the_store_interrupts_the_runs_it_left_unfinished(db_path, probe_registry):
    definition = probe_workflow(("a", [], None))
    store = Store.open(db_path)
    run_id, _ = store.runs.create_run(definition)
    run = WorkflowRun(definition, probe_registry, run_id=run_id, recorder=store.recorder())
    asyncio.run(store.recorder().run_started(run.result))
    other_id, _ = store.runs.create_run(definition)  # created, never started: left alone
    assert store.runs.load(run_id).state is RunState.RUNNING
    store.close()
    with Store.open(db_path) as reopened:
        assert reopened.runs.load(run_id).state is RunState.INTERRUPTED
        assert reopened.runs.load(other_id).state is RunState.PENDING


def test_a_write_lock_held_by_another_process_never_blocks_the_loop(db_path, probe_registry):
    """Results commit on the loop's thread only when that cannot wait; otherwise the writer
    thread waits for the lock while the loop goes on."""
    import threading

    definition = probe_workflow(("a", [], None), ("b", ["a"], None), ("c", ["b"], None))
    locked = threading.Event()

    def hold_the_lock() -> None:
        with closing(sqlite3.connect(db_path, isolation_level=None)) as other:
            other.execute("BEGIN IMMEDIATE")
            locked.set()
            time.sleep(0.4)
            other.execute("COMMIT")

    with Store.open(db_path) as store:
        run_id, _ = store.runs.create_run(definition)
        run = WorkflowRun(definition, probe_registry, run_id=run_id, recorder=store.recorder())

        async def main() -> tuple[int, float]:
            holder = threading.Thread(target=hold_the_lock)
            holder.start()
            locked.wait()
            started = time.perf_counter()
            task = asyncio.create_task(run.execute())
            ticks = 0
            while not task.done():
                await asyncio.sleep(0.005)
                ticks += 1
            holder.join()
            return ticks, time.perf_counter() - started

        ticks, waited = asyncio.run(main())
        stored = store.runs.load(run_id)
    assert stored.state is RunState.COMPLETED
    assert stored.result.count(NodeState.SUCCEEDED) == 3
    assert waited > 0.3, "the results waited for the other process's lock"
    assert ticks > 20, "while the event loop kept running"


def test_a_chain_commits_each_result_without_a_thread_round_trip(db_path, probe_registry):
    chain = [("n0", [], None)] + [(f"n{i}", [f"n{i - 1}"], None) for i in range(1, 30)]
    definition = probe_workflow(*chain)
    with Store.open(db_path) as store:
        before = store.writer.transactions
        result = execute(store, definition, probe_registry)
        stored = store.runs.load(result.run_id)
        transactions = store.writer.transactions - before
        inline = store.writer.inline_transactions
    assert stored.result.count(NodeState.SUCCEEDED) == 30
    assert stored.result.nodes["n29"].output == {"name": "n29"}
    assert transactions >= 30, "each link is committed before the next starts"
    assert inline >= 25, "an idle writer lets the loop commit a link directly"
