"""SQLiteRecorder: the engine's RunRecorder, writing through the store's writer thread.

`node_finished` returns only once the node's state and output are committed
(the engine starts dependents after it returns). Nodes finishing together
share one transaction, so the cost of a commit is paid once per batch.
SKIPPED results arrive only with `run_finished`, which writes them with the
run's final state in one transaction.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from functools import partial
from typing import Any

from flowdesk.engine import NodeResult, NodeState, ResultNotRecordable, RunResult, RunState
from flowdesk.engine.results import ItemResult
from flowdesk.store.codec import to_json_text, to_text
from flowdesk.store.errors import RunNotResumableError, ValueTooLargeError
from flowdesk.store.items import ItemRecorder, copy_items
from flowdesk.store.owner import ProcessIdentity
from flowdesk.store.writer import Writer

MARK_RUNNING_SQL = (
    "UPDATE node_runs SET state = 'RUNNING', attempts = ?, started_at = ? "
    "WHERE run_id = ? AND node_id = ? AND state IN ('PENDING', 'RUNNING')"
)
UPDATE_NODE_SQL = (
    "UPDATE node_runs SET state = ?, attempts = ?, resolved_config_json = ?, output_json = ?, "
    "error = ?, started_at = ?, finished_at = ?, log = ?, reused_from = ?, cached = ? "
    "WHERE run_id = ? AND node_id = ?"
)
SUCCEEDED_STATES = (NodeState.SUCCEEDED.value, NodeState.REUSED.value)
"""States whose stored output is final for the run: a resume keeps them, never runs them."""


class SQLiteRecorder:
    """Records one or more runs created with `RunRepository.create_run` (or resumed)."""

    def __init__(
        self, writer: Writer, owner: ProcessIdentity, in_flight: set[str] | None = None
    ) -> None:
        self._writer = writer
        self._owner = owner
        self._in_flight = set() if in_flight is None else in_flight
        """Ids of runs this recorder claimed and has not finished (shared with the Store)."""
        self._starting: list[tuple[str, NodeResult]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._items = ItemRecorder(writer)
        """Items of nodes with map_over (store/items.py)."""

    async def run_started(self, run: RunResult) -> None:
        """Claim the run for this process; refuse if another execution holds it.

        Nodes its reuse plan takes from another run (run from here) are written REUSED in the
        same transaction, so the store shows them as final from the run's first moment."""
        reused = frozenset(node_id for node_id, node in run.nodes.items() if node.reused)
        taken = [
            node_row(run.run_id, node)
            for node in run.nodes.values()
            if node.reused and node.reused_from != run.run_id
        ]
        claim = partial(
            claim_run,
            run_id=run.run_id,
            owner=self._owner,
            started_at=to_text(run.started_at),
            reused=reused,
            reused_rows=taken,
        )
        self._loop = asyncio.get_running_loop()
        refusal = await self._writer.call_async(claim)
        if refusal is not None:
            raise RunNotResumableError(refusal)
        self._in_flight.add(run.run_id)

    def node_started(self, run_id: str, result: NodeResult) -> None:
        """Mark the node RUNNING with the next commit, so a crash shows what was running.

        Marks are gathered until the end of the loop's turn and only nodes still running
        then are written: a quick node that finishes in the same turn costs nothing.
        """
        if not self._starting and self._loop is not None:
            # The loop seen by run_started: under qasync a task step may not find a running
            # loop through asyncio (it raised "no running event loop" in the editor).
            self._loop.call_soon(self._mark_running)
        self._starting.append((run_id, result))

    def _mark_running(self) -> None:
        starting, self._starting = self._starting, []
        for run_id, result in starting:
            if result.state is NodeState.RUNNING:
                row = (result.attempts or 1, to_text(result.started_at), run_id, result.node_id)
                self._writer.execute_soon(MARK_RUNNING_SQL, lambda row=row: row, self._loop)

    async def node_finished(self, run_id: str, result: NodeResult) -> None:
        # Fix the scalar fields now; the JSON is encoded on the writer thread.
        snapshot = NodeResult(
            node_id=result.node_id,
            state=result.state,
            attempts=result.attempts,
            output=result.output,
            error=result.error,
            resolved_config=result.resolved_config,
            started_at=result.started_at,
            finished_at=result.finished_at,
            log=result.log,
            reused_from=result.reused_from,
            cached=result.cached,
        )
        if result.items is not None:
            self._items.flush()  # a mapped node's row is committed after its items
        try:
            if taken_from(run_id, snapshot):  # a cache hit: its items come with its row
                await self._writer.call_async(
                    partial(write_taken, row=(run_id, snapshot)), self._loop
                )
            else:
                await self._writer.execute_async(
                    UPDATE_NODE_SQL, partial(node_row, run_id, snapshot), self._loop
                )
        except ValueTooLargeError as exc:  # the node fails; the run and the store carry on
            raise ResultNotRecordable(f"result too large to store: {exc}") from None
        if result.items is not None:
            self._items.check(run_id, result.node_id)

    async def stored_items(self, run_id: str, node_id: str) -> tuple[int, list[ItemResult]]:
        self._items.loop = self._loop
        return await self._items.stored(run_id, node_id)

    def map_started(self, run_id: str, node_id: str, total: int, *, keep: bool) -> None:
        self._items.loop = self._loop
        self._items.map_started(run_id, node_id, total, keep=keep)

    def item_finished(self, run_id: str, node_id: str, item: ItemResult) -> None:
        self._items.item_finished(run_id, node_id, item)

    async def run_finished(self, run: RunResult) -> None:
        """Write the final state and every node result not written yet (SKIPPED, most of all)."""
        rows = [
            node_row(run.run_id, node)
            for node in run.nodes.values()
            if not node.reused and not node.state.succeeded
        ]
        finish = partial(
            finish_run,
            run_id=run.run_id,
            state=run.state.value,
            finished_at=to_text(run.finished_at),
            rows=rows,
        )
        await self._writer.call_async(finish, self._loop)
        self._in_flight.discard(run.run_id)


def node_row(run_id: str, result: NodeResult) -> tuple[Any, ...]:
    """The UPDATE_NODE_SQL parameters for one node result."""
    return (
        result.state.value,
        result.attempts,
        to_json_text(result.resolved_config),
        to_json_text(result.output),
        result.error,
        to_text(result.started_at),
        to_text(result.finished_at),
        result.log,
        result.reused_from,
        int(result.cached),
        run_id,
        result.node_id,
    )


def taken_from(run_id: str, result: NodeResult) -> str | None:
    """The other run whose stored output (and items) a REUSED node took, or None."""
    source = result.reused_from
    return source if result.state is NodeState.REUSED and source != run_id else None


def write_taken(connection: sqlite3.Connection, row: tuple[str, NodeResult]) -> None:
    """A node's REUSED row and a copy of its source run's items, in one transaction."""
    run_id, result = row
    connection.execute(UPDATE_NODE_SQL, node_row(run_id, result))
    source = taken_from(run_id, result)
    if source is not None:
        copy_items(connection, run_id, result.node_id, source)


def claim_run(
    connection: sqlite3.Connection,
    run_id: str,
    owner: ProcessIdentity,
    started_at: str | None,
    reused: frozenset[str],
    reused_rows: Sequence[tuple[Any, ...]] = (),
) -> str | None:
    """Make `owner` the process running `run_id`; None on success, else why not.

    A run can be claimed when it is resumable, or ours and never executed: PENDING (just
    created) or RUNNING (triggered through the REST API and waiting for a free slot, see
    `RunRepository.trigger`). Every node already SUCCEEDED or REUSED must be reused by this
    execution: a node never runs twice in a run. `reused_rows` (UPDATE_NODE_SQL parameters)
    are written for the nodes the execution takes from another run, unless stored already,
    each with a copy of its source run's items (a mapped node's), so the run stands alone.
    """
    row = connection.execute(
        "SELECT state, owner_pid, owner_token, owner_host, executions FROM runs WHERE id = ?",
        (run_id,),
    ).fetchone()
    if row is None:
        return f"no run with id '{run_id}' in the store (create it with create_run first)"
    state, pid, token, host, executions = row
    ours = (pid, token, host) == (owner.pid, owner.start_token, owner.host)
    fresh = state == RunState.PENDING.value or (state == RunState.RUNNING.value and executions == 0)
    if not (RunState(state).resumable or (fresh and ours)):
        return f"run {run_id} is {state}; it cannot be started again"
    succeeded = {
        node_id
        for (node_id,) in connection.execute(
            "SELECT node_id FROM node_runs WHERE run_id = ? AND state IN (?, ?)",
            (run_id, *SUCCEEDED_STATES),
        )
    }
    if not succeeded <= reused:
        again = ", ".join(sorted(succeeded - reused))
        return f"run {run_id}: node(s) {again} already succeeded and would run again"
    connection.execute(
        "UPDATE runs SET state = ?, owner_pid = ?, owner_token = ?, owner_host = ?, "
        "executions = executions + 1, finished_at = NULL, "
        "resumed_at = CASE WHEN started_at IS NULL THEN NULL ELSE ? END, "
        "started_at = COALESCE(started_at, ?) WHERE id = ?",
        (
            RunState.RUNNING.value,
            owner.pid,
            owner.start_token,
            owner.host,
            started_at,
            started_at,
            run_id,
        ),
    )
    connection.execute(
        "UPDATE node_runs SET state = ?, attempts = 0, resolved_config_json = NULL, "
        "output_json = NULL, error = NULL, started_at = NULL, finished_at = NULL, log = NULL, "
        "reused_from = NULL, cached = 0 WHERE run_id = ? AND state NOT IN (?, ?)",
        (NodeState.PENDING.value, run_id, *SUCCEEDED_STATES),
    )
    rows = [row for row in reused_rows if row[-1] not in succeeded]
    if rows:
        connection.executemany(UPDATE_NODE_SQL, rows)
    for row in rows:  # (..., reused_from, cached, run_id, node_id)
        copy_items(connection, run_id, row[-1], row[-4])
    return None


def finish_run(
    connection: sqlite3.Connection,
    run_id: str,
    state: str,
    finished_at: str | None,
    rows: list[tuple[Any, ...]],
) -> None:
    """The run's final state plus every node result not yet written (SKIPPED and the like)."""
    if rows:
        connection.executemany(UPDATE_NODE_SQL, rows)
    connection.execute(
        "UPDATE runs SET state = ?, finished_at = ? WHERE id = ?", (state, finished_at, run_id)
    )


def interrupt_runs(connection: sqlite3.Connection, run_ids: list[str]) -> None:
    """Runs this process started but will not finish (its store is closing): INTERRUPTED."""
    connection.executemany(
        "UPDATE runs SET state = ? WHERE id = ? AND state = ?",
        [(RunState.INTERRUPTED.value, run_id, RunState.RUNNING.value) for run_id in run_ids],
    )
    interrupt_nodes(connection, run_ids)


def interrupt_nodes(connection: sqlite3.Connection, run_ids: list[str]) -> None:
    """Nodes still RUNNING in runs that ended with their process: INTERRUPTED, not PENDING."""
    connection.executemany(
        "UPDATE node_runs SET state = ? WHERE run_id = ? AND state = ?",
        [(NodeState.INTERRUPTED.value, run_id, NodeState.RUNNING.value) for run_id in run_ids],
    )
