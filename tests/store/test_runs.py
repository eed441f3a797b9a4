"""The run repository: creating runs, idempotency keys, listing, ids, interrupted runs."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest
from storetools import chain, dead_identity

from flowdesk.engine.states import NodeState, RunState
from flowdesk.store import (
    AmbiguousRunIdError,
    ProcessIdentity,
    RunNotResumableError,
    Store,
    UnknownRunError,
)


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "runs.db") as store:
        yield store


def test_a_created_run_is_pending_with_every_node(store) -> None:
    run_id, created = store.runs.create_run(chain(), {"n": 3})
    assert created
    stored = store.runs.load(run_id)
    assert stored.state is RunState.PENDING
    assert stored.result.params == {"n": 3}
    assert list(stored.result.nodes) == ["input", "a", "b", "out"]
    assert {n.state for n in stored.result.nodes.values()} == {NodeState.PENDING}
    assert stored.definition == chain()
    assert stored.owner == ProcessIdentity.current()


def test_an_idempotency_key_returns_the_first_run(store) -> None:
    first, created = store.runs.create_run(chain(), idempotency_key="k1")
    again, created_again = store.runs.create_run(chain(), idempotency_key="k1")
    other_workflow, created_other = store.runs.create_run(chain("other"), idempotency_key="k1")
    assert created and not created_again and created_other
    assert again == first != other_workflow
    assert store.runs.find_by_idempotency_key("chain", "k1").run_id == first
    assert store.runs.find_by_idempotency_key("chain", "k2") is None
    assert len(store.runs.list_runs()) == 2


def test_runs_are_listed_newest_first(store) -> None:
    ids = [store.runs.create_run(chain(f"w{i}"))[0] for i in range(3)]
    listed = store.runs.list_runs()
    assert [r.run_id for r in listed] == ids[::-1]
    assert listed[0].to_json() == {
        "run_id": ids[2],
        "workflow": "w2",
        "status": "PENDING",
        "started_at": None,
        "finished_at": None,
    }
    assert [r.run_id for r in store.runs.list_runs(limit=1)] == [ids[2]]


def test_runs_of_one_workflow_carry_their_params(store) -> None:
    mine = [store.runs.create_run(chain("mine"), {"n": i})[0] for i in range(2)]
    store.runs.create_run(chain("other"), {"n": 9})
    listed = store.runs.list_runs(workflow="mine")
    assert [r.run_id for r in listed] == mine[::-1]
    assert [r.params for r in listed] == [{"n": 1}, {"n": 0}]
    assert store.runs.list_runs(workflow="nobody") == []


def test_run_ids_and_prefixes(store) -> None:
    store.runs.create_run(chain(), run_id="abc111")
    store.runs.create_run(chain(), run_id="abc222")
    assert store.runs.resolve_id("abc111") == "abc111"
    assert store.runs.resolve_id("abc2") == "abc222"
    with pytest.raises(AmbiguousRunIdError, match="matches several runs"):
        store.runs.resolve_id("abc")
    for unknown in ("zzz", "", "a%", "_bc"):
        with pytest.raises(UnknownRunError, match="no run with id"):
            store.runs.load(unknown)


def _set_owner(path, run_id: str, owner: ProcessIdentity, state: str = "RUNNING") -> None:
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute(
            "UPDATE runs SET state = ?, owner_pid = ?, owner_token = ? WHERE id = ?",
            (state, owner.pid, owner.start_token, run_id),
        )


def test_opening_the_store_marks_runs_of_dead_processes_interrupted(tmp_path) -> None:
    path = tmp_path / "runs.db"
    with Store.open(path) as store:
        dead_run, _ = store.runs.create_run(chain("dead"))
        dead_pending, _ = store.runs.create_run(chain("dead-pending"))
        live_run, _ = store.runs.create_run(chain("live"))
    dead = dead_identity()
    _set_owner(path, dead_run, dead)
    _set_owner(path, dead_pending, dead, state="PENDING")
    _set_owner(path, live_run, ProcessIdentity.current())
    with Store.open(path) as store:
        states = {r.workflow: r.state for r in store.runs.list_runs()}
    assert states == {
        "dead": RunState.INTERRUPTED,
        "dead-pending": RunState.INTERRUPTED,
        "live": RunState.RUNNING,
    }


def test_resume_is_refused_for_a_live_run_and_a_completed_one(tmp_path) -> None:
    path = tmp_path / "runs.db"
    with Store.open(path) as store:
        live_run, _ = store.runs.create_run(chain("live"))
        done_run, _ = store.runs.create_run(chain("done"))
    _set_owner(path, live_run, ProcessIdentity.current())
    _set_owner(path, done_run, ProcessIdentity.current(), state="COMPLETED")
    with Store.open(path) as store:
        with pytest.raises(RunNotResumableError, match="still RUNNING in process"):
            store.runs.prepare_resume(live_run)
        with pytest.raises(RunNotResumableError, match="COMPLETED"):
            store.runs.prepare_resume(done_run)


def test_resume_plan_reuses_only_succeeded_nodes(tmp_path) -> None:
    path = tmp_path / "runs.db"
    with Store.open(path) as store:
        run_id, _ = store.runs.create_run(chain(), {"n": 1})
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("UPDATE runs SET state = 'FAILED' WHERE id = ?", (run_id,))
        connection.execute(
            "UPDATE node_runs SET state = 'SUCCEEDED', output_json = '{\"x\": 1}' "
            "WHERE node_id IN ('input', 'a')"
        )
        connection.execute("UPDATE node_runs SET state = 'FAILED' WHERE node_id = 'b'")
    with Store.open(path) as store:
        plan = store.runs.prepare_resume(run_id[:6])
    assert plan.run_id == run_id
    assert plan.params == {"n": 1}
    assert sorted(plan.previous) == ["a", "input"]
    assert plan.previous["a"].result.output == {"x": 1}
    assert plan.previous["a"].source_run_id == run_id  # it ran in this run
