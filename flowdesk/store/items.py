"""The items of nodes with `map_over` in table node_items: written in batches, read in pages.

Each item's row is inserted when the item is final. When a node starts mapping, a PENDING row
for its last item is there at once, so the table always says how many items the node has
(the highest index + 1); the rows still missing below it are PENDING items. Rows of one turn
of the event loop go to the writer thread as one job (one `executemany`), never a commit per
item, and the node's own result is committed after them. (Inserting rows was four times
faster than updating PENDING rows written in advance: 0.4 s against 1.6 s for 100,000.)
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from functools import partial
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from flowdesk.engine import NodeState, ResultNotRecordable
from flowdesk.engine.results import ItemResult
from flowdesk.store.codec import from_json_text, from_text, to_json_text, to_text
from flowdesk.store.errors import ValueTooLargeError
from flowdesk.store.tables import NodeItemRecord
from flowdesk.store.writer import Writer

INSERT_ITEM_SQL = (
    "INSERT OR REPLACE INTO node_items (state, attempts, output_json, error, started_at, "
    "finished_at, run_id, node_id, item_index) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
PENDING = NodeState.PENDING.value


class ItemRecorder:
    """The item half of SQLiteRecorder: batches finished items, one writer job per loop turn."""

    def __init__(self, writer: Writer) -> None:
        self._writer = writer
        self._rows: list[tuple[str, str, ItemResult]] = []
        self.loop: asyncio.AbstractEventLoop | None = None
        """The run's loop, as SQLiteRecorder saw it at the claim (under qasync a task step may
        not find a running loop through asyncio); the running loop when None."""
        self._failures: dict[tuple[str, str], BaseException] = {}
        """(run id, node id) -> why some of its items could not be written."""

    async def stored(self, run_id: str, node_id: str) -> tuple[int, list[ItemResult]]:
        """(rows the node has, its SUCCEEDED items) in this run, read in the writer's order."""
        return await self._writer.call_async(
            partial(read_kept_items, run_id=run_id, node_id=node_id), self._current_loop()
        )

    def map_started(self, run_id: str, node_id: str, total: int, *, keep: bool) -> None:
        self.flush()
        self._submit(
            partial(reset_items, run_id=run_id, node_id=node_id, total=total, keep=keep),
            [(run_id, node_id)],
        )

    def item_finished(self, run_id: str, node_id: str, item: ItemResult) -> None:
        if not self._rows:
            self._current_loop().call_soon(self.flush)
        self._rows.append((run_id, node_id, item))

    def check(self, run_id: str, node_id: str) -> None:
        """Raises when items of the node could not be written: ResultNotRecordable for a value
        too large (the node fails), else the store's error (the run stops). Call it once the
        node's own row, queued after its items (`flush`), is committed."""
        failure = self._failures.pop((run_id, node_id), None)
        if isinstance(failure, ValueTooLargeError):
            raise ResultNotRecordable(f"an item's result is too large to store: {failure}")
        if failure is not None:
            raise failure

    def flush(self) -> None:
        """Queue the items finished so far (the rows that follow are committed after them)."""
        rows, self._rows = self._rows, []
        if rows:
            keys = list(dict.fromkeys((run_id, node_id) for run_id, node_id, _ in rows))
            self._submit(partial(write_items, rows=rows), keys)

    def _submit(self, operation: Any, keys: list[tuple[str, str]]) -> None:
        waiter = self._writer.call_soon(operation, self._current_loop())
        waiter.add_done_callback(partial(self._settled, keys=keys))

    def _settled(self, waiter: asyncio.Future[Any], keys: list[tuple[str, str]]) -> None:
        if waiter.cancelled() or waiter.exception() is None:
            return
        for key in keys:
            self._failures.setdefault(key, waiter.exception())  # type: ignore[arg-type]

    def _current_loop(self) -> asyncio.AbstractEventLoop:
        if self.loop is None:
            self.loop = asyncio.get_running_loop()
        return self.loop


def reset_items(
    connection: sqlite3.Connection, run_id: str, node_id: str, total: int, keep: bool
) -> None:
    """A node starts mapping `total` items: its rows go, except, with `keep`, the SUCCEEDED
    ones (a resume keeps them; the count is the same then). The last item's row is written
    PENDING, so the count is known from now on."""
    if keep:
        connection.execute(
            "DELETE FROM node_items WHERE run_id = ? AND node_id = ? AND state != ?",
            (run_id, node_id, NodeState.SUCCEEDED.value),
        )
    else:
        connection.execute(
            "DELETE FROM node_items WHERE run_id = ? AND node_id = ?", (run_id, node_id)
        )
    if total:
        connection.execute(
            "INSERT OR IGNORE INTO node_items (run_id, node_id, item_index, state, attempts) "
            "VALUES (?, ?, ?, ?, 0)",
            (run_id, node_id, total - 1, PENDING),
        )


def copy_items(connection: sqlite3.Connection, run_id: str, node_id: str, source: str) -> None:
    """A node REUSED from run `source` takes that run's items too, so `run_id` is complete on
    its own (its badge and Items tab; the source may be deleted later). Rows the node had in
    `run_id` go first: its items are the source's, whatever it mapped before."""
    connection.execute("DELETE FROM node_items WHERE run_id = ? AND node_id = ?", (run_id, node_id))
    connection.execute(
        "INSERT INTO node_items (run_id, node_id, item_index, state, attempts, output_json, "
        "error, started_at, finished_at) SELECT ?, node_id, item_index, state, attempts, "
        "output_json, error, started_at, finished_at FROM node_items "
        "WHERE run_id = ? AND node_id = ?",
        (run_id, source, node_id),
    )


def write_items(
    connection: sqlite3.Connection, rows: Sequence[tuple[str, str, ItemResult]]
) -> None:
    """Final items (encoded here, on the writer thread). An item whose row is too large for
    the database is written FAILED without its output, so the rest of the batch is kept."""
    encoded = [
        (
            item.state.value,
            item.attempts,
            to_json_text(item.output),
            item.error,
            to_text(item.started_at),
            to_text(item.finished_at),
            run_id,
            node_id,
            item.index,
        )
        for run_id, node_id, item in rows
    ]
    try:
        connection.executemany(INSERT_ITEM_SQL, encoded)
    except sqlite3.DataError:  # "string or blob too big": find the rows, one by one
        for row in encoded:
            try:
                connection.execute(INSERT_ITEM_SQL, row)
            except sqlite3.DataError as exc:
                failed = (NodeState.FAILED.value, row[1], None, f"result too large to store: {exc}")
                connection.execute(INSERT_ITEM_SQL, failed + row[4:])


def read_kept_items(
    connection: sqlite3.Connection, run_id: str, node_id: str
) -> tuple[int, list[ItemResult]]:
    """(the node's number of items when it last mapped, its SUCCEEDED items)."""
    (last,) = connection.execute(
        "SELECT MAX(item_index) FROM node_items WHERE run_id = ? AND node_id = ?",
        (run_id, node_id),
    ).fetchone()
    if last is None:
        return 0, []
    rows = connection.execute(
        "SELECT item_index, attempts, output_json, error, started_at, finished_at "
        "FROM node_items WHERE run_id = ? AND node_id = ? AND state = ? ORDER BY item_index",
        (run_id, node_id, NodeState.SUCCEEDED.value),
    )
    return last + 1, [
        ItemResult(
            index,
            NodeState.SUCCEEDED,
            attempts,
            from_json_text(output),
            error,
            from_text(started),
            from_text(finished),
        )
        for index, attempts, output, error, started, finished in rows
    ]


def load_items(
    engine: Engine, run_id: str, node_id: str, offset: int = 0, limit: int = 100
) -> list[ItemResult]:
    """Items `offset` to `offset + limit - 1` of a mapped node, in item order (fewer at the
    end; none for a node that never mapped). Items not final yet are PENDING."""
    offset, limit = max(offset, 0), max(limit, 0)
    with Session(engine) as session:
        total = _total(session, run_id, node_id)
        records = session.exec(
            select(NodeItemRecord)
            .where(
                NodeItemRecord.run_id == run_id,
                NodeItemRecord.node_id == node_id,
                col(NodeItemRecord.item_index) >= offset,
                col(NodeItemRecord.item_index) < offset + limit,
            )
            .order_by(col(NodeItemRecord.item_index))
        ).all()
    found = {
        record.item_index: ItemResult(
            index=record.item_index,
            state=NodeState(record.state),
            attempts=record.attempts,
            output=from_json_text(record.output_json),
            error=record.error,
            started_at=from_text(record.started_at),
            finished_at=from_text(record.finished_at),
        )
        for record in records
    }
    end = min(offset + limit, total)
    return [found.get(index) or ItemResult(index) for index in range(offset, end)]


def item_counts(engine: Engine, run_id: str, node_id: str) -> dict[str, int]:
    """State -> how many items of the node are in it (empty for a node that never mapped)."""
    with Session(engine) as session:
        total = _total(session, run_id, node_id)
        rows = session.exec(
            select(NodeItemRecord.state, func.count())
            .where(NodeItemRecord.run_id == run_id, NodeItemRecord.node_id == node_id)
            .group_by(NodeItemRecord.state)
        ).all()
    counts = {state: count for state, count in rows if state != PENDING}
    pending = total - sum(counts.values())
    if pending:
        counts[PENDING] = pending
    return counts


def _total(session: Session, run_id: str, node_id: str) -> int:
    last = session.exec(
        select(func.max(NodeItemRecord.item_index)).where(
            NodeItemRecord.run_id == run_id, NodeItemRecord.node_id == node_id
        )
    ).one()
    return 0 if last is None else last + 1
