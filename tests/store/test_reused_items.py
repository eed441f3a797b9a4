"""A mapped node REUSED from another run (run from here, the node cache) takes that run's items
with its output: the new run has its own node_items rows, so its badge and its Items tab need
no other run, and they stay when the source run is deleted."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing

from test_map_items import Flaky, definition, item_rows

from flowdesk.engine import NodeState
from flowdesk.engine.states import RunState
from flowdesk.runs import RunService


def delete_run(db_path, run_id: str) -> None:
    """What deleting a run does to its rows (node_runs and node_items follow it)."""
    with closing(sqlite3.connect(db_path)) as connection:
        connection.execute("PRAGMA foreign_keys = ON")
        connection.execute("DELETE FROM runs WHERE id = ?", (run_id,))
        connection.commit()
        left = connection.execute(
            "SELECT COUNT(*) FROM node_items WHERE run_id = ?", (run_id,)
        ).fetchone()
    assert left == (0,), "the source's own items went with it"


def test_run_from_here_copies_the_reused_nodes_items_in_its_claim(tmp_path) -> None:
    flaky = Flaky()
    flaky.failing = {4}
    db = tmp_path / "runs.db"
    values = list(range(100))
    with RunService(flaky.registry(), db) as service:
        mapped = definition(on_item_failure="skip")
        first = asyncio.run(service.start(mapped, {"values": values}).execute())
        assert first.state is RunState.COMPLETED
        flaky.calls = []

        handle = service.start_from(mapped, "total", params={"values": values})
        second = asyncio.run(handle.execute())
        assert second.state is RunState.COMPLETED and flaky.calls == []
        each = second.nodes["each"]
        assert each.state is NodeState.REUSED and each.reused_from == first.run_id
        assert item_rows(db, second.run_id) == item_rows(db, first.run_id)
        assert len(item_rows(db, second.run_id)) == 100
        assert service.item_counts(second.run_id, "each") == {"SUCCEEDED": 99, "FAILED": 1}
        assert service.item_counts(second.run_id, "source") == {}, "only the mapped node"

    delete_run(db, first.run_id)
    with RunService(flaky.registry(), db) as service:
        assert service.item_counts(second.run_id, "each") == {"SUCCEEDED": 99, "FAILED": 1}
        page = service.load_items(second.run_id, "each", offset=3, limit=3)
        assert [(item.index, item.state, item.output) for item in page] == [
            (3, NodeState.SUCCEEDED, 30),
            (4, NodeState.FAILED, None),
            (5, NodeState.SUCCEEDED, 50),
        ]
        assert page[1].error == "value 4 is broken"


def test_a_cache_hit_on_a_mapped_node_copies_the_source_runs_items(tmp_path) -> None:
    flaky = Flaky()
    db = tmp_path / "runs.db"
    values = list(range(20))
    with RunService(flaky.registry(), db) as service:
        cached = definition(cache=True)
        first = asyncio.run(service.start(cached, {"values": values}).execute())
        assert first.state is RunState.COMPLETED and len(flaky.calls) == 20
        second = asyncio.run(service.start(cached, {"values": values}).execute())
        assert second.state is RunState.COMPLETED and len(flaky.calls) == 20, "no item ran"
        each = second.nodes["each"]
        assert each.state is NodeState.REUSED and each.cached
        assert each.reused_from == first.run_id
        assert item_rows(db, second.run_id) == item_rows(db, first.run_id)
        assert service.item_counts(second.run_id, "each") == {"SUCCEEDED": 20}

    delete_run(db, first.run_id)
    with RunService(flaky.registry(), db) as service:
        page = service.load_items(second.run_id, "each", offset=18, limit=5)
        assert [(item.index, item.output) for item in page] == [(18, 180), (19, 190)]


def test_a_resumed_run_keeps_its_own_items_for_a_node_it_reuses(tmp_path) -> None:
    """Reused from this same run (a resume): nothing to copy, nothing lost."""
    flaky = Flaky()
    db = tmp_path / "runs.db"
    with RunService(flaky.registry(), db) as service:
        mapped = definition()
        values = list(range(5))
        first = asyncio.run(service.start(mapped, {"values": values}).execute())
        rows = item_rows(db, first.run_id)
        assert len(rows) == 5
        # Make the last node fail so a resume has something to run and `each` is kept.
        with closing(sqlite3.connect(db)) as connection:
            connection.execute(
                "UPDATE node_runs SET state = 'FAILED' WHERE run_id = ? AND node_id = 'total'",
                (first.run_id,),
            )
            connection.execute("UPDATE runs SET state = 'FAILED' WHERE id = ?", (first.run_id,))
            connection.commit()
        resumed = asyncio.run(service.resume(first.run_id).execute())
        assert resumed.state is RunState.COMPLETED
        assert resumed.nodes["each"].state is NodeState.REUSED
        assert item_rows(db, first.run_id) == rows
