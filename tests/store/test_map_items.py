"""Items of mapped nodes in the store: written in batches (not a commit per item), read in
pages and counted through the run service, and kept by a resume, which runs only the items
that did not succeed."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing

from pydantic import BaseModel

from flowdesk.engine import HandlerError, HandlerRegistry, ItemResult, NodeState, handler
from flowdesk.engine.states import RunState
from flowdesk.model import workflow_from_data
from flowdesk.runs import RunService


class Config(BaseModel):
    value: int
    index: int


class Flaky:
    """Fails the items whose value is in `failing`; records every call."""

    def __init__(self) -> None:
        self.failing: set[int] = set()
        self.calls: list[int] = []

    def registry(self) -> HandlerRegistry:
        registry = HandlerRegistry.default()

        @handler("flaky_item", Config)
        async def flaky_item(config: Config, context):
            self.calls.append(config.index)
            if config.value in self.failing:
                raise HandlerError(f"value {config.value} is broken")
            return config.value * 10

        registry.register(flaky_item)
        return registry


def definition(**fields):
    return workflow_from_data(
        {
            "name": "mapped",
            "dag": {
                "nodes": [
                    {"id": "source", "handler": "transform",
                     "config": {"value": "{{ params['values'] }}"}},
                    {"id": "each", "handler": "flaky_item", "dependencies": ["source"],
                     "map_over": "{{ source }}",
                     "config": {"value": "{{ item }}", "index": "{{ item_index }}"}, **fields},
                    {"id": "total", "handler": "transform", "dependencies": ["each"],
                     "config": {"value": "{{ each | select('number') | sum }}"}},
                ]
            },
        }
    )  # fmt: skip


def item_rows(db_path, run_id: str) -> list[tuple]:
    with closing(sqlite3.connect(db_path)) as connection:
        return connection.execute(
            "SELECT item_index, state, attempts, output_json, error FROM node_items "
            "WHERE run_id = ? AND node_id = 'each' ORDER BY item_index",
            (run_id,),
        ).fetchall()


def test_items_are_recorded_in_batches_and_read_in_pages(tmp_path) -> None:
    flaky = Flaky()
    flaky.failing = {7}
    db = tmp_path / "runs.db"
    values = list(range(500))
    with RunService(flaky.registry(), db) as service:
        handle = service.start(definition(on_item_failure="skip"), {"values": values})
        result = asyncio.run(handle.execute())
        assert result.state is RunState.COMPLETED
        # 500 items and three nodes did not take a commit each.
        assert service.store.writer.transactions < 50
        assert service.item_counts(result.run_id, "each") == {"SUCCEEDED": 499, "FAILED": 1}
        page = service.load_items(result.run_id, "each", offset=5, limit=4)
        assert [item.index for item in page] == [5, 6, 7, 8]
        assert [item.state for item in page] == [NodeState.SUCCEEDED] * 2 + [
            NodeState.FAILED,
            NodeState.SUCCEEDED,
        ]
        assert page[0].output == 50 and page[2].output is None
        assert page[2].error == "value 7 is broken"
        assert page[0].attempts == 1 and page[0].duration_s is not None
        assert len(service.load_items(result.run_id, "each", offset=498, limit=100)) == 2
        assert service.load_items(result.run_id, "source") == []
        assert service.item_counts(result.run_id, "source") == {}
        stored = service.load(result.run_id)
        assert stored.result.nodes["each"].items is None  # paged on demand, not loaded whole
        assert stored.result.nodes["each"].output[7] is None
    rows = item_rows(db, result.run_id)
    assert len(rows) == 500
    assert rows[7][1:] == ("FAILED", 1, None, "value 7 is broken")


def test_resume_runs_only_the_items_that_did_not_succeed(tmp_path) -> None:
    flaky = Flaky()
    flaky.failing = {3, 8}
    values = list(range(10))
    with RunService(flaky.registry(), tmp_path / "runs.db") as service:
        first = asyncio.run(service.start(definition(), {"values": values}).execute())
        assert first.state is RunState.FAILED
        assert first.nodes["each"].error.startswith("items 3, 8 failed (2 of 10)")
        assert service.item_counts(first.run_id, "each") == {"SUCCEEDED": 8, "FAILED": 2}
        assert sorted(flaky.calls) == values

        flaky.failing, flaky.calls = set(), []  # fixed
        handle = service.resume(first.run_id)
        resumed = asyncio.run(handle.execute())
        assert resumed.state is RunState.COMPLETED
        assert sorted(flaky.calls) == [3, 8]
        each = resumed.nodes["each"]
        assert each.output == [v * 10 for v in values]
        assert [item.index for item in each.items if item.attempts] == values
        assert resumed.nodes["total"].output == sum(values) * 10
        assert service.item_counts(first.run_id, "each") == {"SUCCEEDED": 10}
        kept = service.load_items(first.run_id, "each", 0, 10)
        assert [item.output for item in kept] == [v * 10 for v in values]


def test_a_list_of_another_length_runs_every_item_again(tmp_path) -> None:
    flaky = Flaky()
    flaky.failing = {2}
    with RunService(flaky.registry(), tmp_path / "runs.db") as service:
        first = asyncio.run(service.start(definition(), {"values": [0, 1, 2]}).execute())
        assert first.state is RunState.FAILED
        # The source changes what it gives: resume cannot line up old outputs with new items.
        with closing(sqlite3.connect(service.db_path)) as connection, connection:
            connection.execute(
                "UPDATE runs SET params_json = ? WHERE id = ?",
                ('{"values": [0, 1, 5, 6]}', first.run_id),
            )
            connection.execute(
                "UPDATE node_runs SET state = 'FAILED' WHERE run_id = ? AND node_id = 'source'",
                (first.run_id,),
            )
        flaky.failing, flaky.calls = set(), []
        resumed = asyncio.run(service.resume(first.run_id).execute())
        assert resumed.state is RunState.COMPLETED
        assert sorted(flaky.calls) == [0, 1, 2, 3]
        assert resumed.nodes["each"].output == [0, 10, 50, 60]
        assert service.item_counts(first.run_id, "each") == {"SUCCEEDED": 4}


def test_a_run_cut_off_mid_map_shows_its_unfinished_items_as_pending(tmp_path) -> None:
    """The node's last item is written PENDING when it starts mapping: the count is known even
    when the process dies before any more is written, and a resume keeps what did finish."""
    flaky = Flaky()
    with RunService(flaky.registry(), tmp_path / "runs.db") as service:
        handle = service.start(definition(), {"values": [0, 1, 2, 3]})
        run_id = handle.run_id
        asyncio.run(handle.execute())
        with closing(sqlite3.connect(service.db_path)) as connection, connection:
            # What a crash after items 0 and 2 leaves behind.
            connection.execute(
                "DELETE FROM node_items WHERE run_id = ? AND item_index IN (1, 3)", (run_id,)
            )
            connection.execute(
                "INSERT INTO node_items (run_id, node_id, item_index, state, attempts) "
                "VALUES (?, 'each', 3, 'PENDING', 0)",
                (run_id,),
            )
            connection.execute(
                "UPDATE node_runs SET state = 'INTERRUPTED', output_json = NULL "
                "WHERE run_id = ? AND node_id IN ('each', 'total')",
                (run_id,),
            )
            connection.execute("UPDATE runs SET state = 'INTERRUPTED' WHERE id = ?", (run_id,))
        assert service.item_counts(run_id, "each") == {"SUCCEEDED": 2, "PENDING": 2}
        page = service.load_items(run_id, "each")
        assert [(item.index, item.state) for item in page] == [
            (0, NodeState.SUCCEEDED),
            (1, NodeState.PENDING),
            (2, NodeState.SUCCEEDED),
            (3, NodeState.PENDING),
        ]
        assert page[1] == ItemResult(1)
        flaky.calls = []
        resumed = asyncio.run(service.resume(run_id).execute())
        assert resumed.state is RunState.COMPLETED
        assert sorted(flaky.calls) == [1, 3]
        assert resumed.nodes["each"].output == [0, 10, 20, 30]


def test_resume_with_a_changed_workflow_runs_every_item_again(tmp_path) -> None:
    flaky = Flaky()
    flaky.failing = {1}
    with RunService(flaky.registry(), tmp_path / "runs.db") as service:
        first = asyncio.run(service.start(definition(), {"values": [0, 1, 2]}).execute())
        assert first.state is RunState.FAILED
        flaky.failing, flaky.calls = set(), []
        changed = definition(retry={"max_attempts": 2, "backoff_s": 0})
        resumed = asyncio.run(service.resume(first.run_id, definition=changed).execute())
        assert resumed.state is RunState.COMPLETED
        assert sorted(flaky.calls) == [0, 1, 2]


class Gate:
    """A handler whose calls wait until the test cancels the run."""

    def __init__(self) -> None:
        self.waiting = 0

    def registry(self) -> HandlerRegistry:
        registry = HandlerRegistry.default()

        @handler("flaky_item", Config)
        async def blocked(config: Config, context):
            if config.value % 2:  # odd items never finish by themselves
                self.waiting += 1
                await asyncio.Event().wait()
            return config.value * 10

        registry.register(blocked)
        return registry


def test_a_cancelled_map_records_every_item_and_a_resume_runs_the_rest(tmp_path) -> None:
    gate = Gate()
    values = list(range(40))
    with RunService(gate.registry(), tmp_path / "runs.db", max_concurrency=4) as service:
        handle = service.start(definition(), {"values": values})

        async def cancel_when_blocked():
            task = asyncio.create_task(handle.execute())
            while gate.waiting < 4:
                await asyncio.sleep(0)
            handle.cancel()
            return await task

        cancelled = asyncio.run(cancel_when_blocked())
        assert cancelled.state is RunState.CANCELLED
        counts = service.item_counts(handle.run_id, "each")
        assert counts["CANCELLED"] == 4
        assert sum(counts.values()) == 40
        # Each of the 4 workers ran an even item, then blocked on the odd one after it.
        assert counts["SUCCEEDED"] == 4
        assert counts["SKIPPED"] == 32

        flaky = Flaky()  # the handler works now
        with RunService(flaky.registry(), tmp_path / "runs.db") as again:
            resumed = asyncio.run(again.resume(handle.run_id).execute())
        assert resumed.state is RunState.COMPLETED
        assert sorted(flaky.calls) == [i for i in values if i not in (0, 2, 4, 6)]
        assert resumed.nodes["each"].output == [v * 10 for v in values]


def test_an_item_too_large_for_the_store_fails_its_node_and_the_run_goes_on(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("FLOWDESK_DB_MAX_LENGTH", "2000")
    big = workflow_from_data(
        {
            "name": "big items",
            "dag": {
                "nodes": [
                    {"id": "each", "handler": "transform", "map_over": "{{ params['values'] }}",
                     "config": {"value": "{{ 'x' * item }}"}},
                    {"id": "other", "handler": "transform", "config": {"value": 1}},
                ]
            },
        }
    )  # fmt: skip
    with RunService(HandlerRegistry.default(), tmp_path / "runs.db") as service:
        result = asyncio.run(service.start(big, {"values": [10, 5000, 10]}).execute())
        assert result.state is RunState.FAILED
        assert result.nodes["each"].state is NodeState.FAILED
        assert "too large to store" in result.nodes["each"].error
        assert result.nodes["other"].state is NodeState.SUCCEEDED
        stored = service.load(result.run_id)
        assert stored.result.nodes["each"].state is NodeState.FAILED
        # The batch of items is kept; the one too large is stored FAILED, saying why.
        assert service.item_counts(result.run_id, "each") == {"SUCCEEDED": 2, "FAILED": 1}
        big_item = service.load_items(result.run_id, "each")[1]
        assert big_item.error.startswith("result too large to store")
        assert big_item.output is None
