"""The single writer: one thread, one SQLite connection, group commits.

Every write of a process goes through this thread, so the event loop never
waits on SQLite and our own connections never fight over the write lock.
The thread takes everything queued since its last commit and writes it in one
transaction (consecutive rows for the same statement in one `executemany`);
each waiter resumes only once its transaction has committed. Under load the
batches grow by themselves: results queue up while the previous commit syncs.
Node results of one event-loop turn are gathered first; when the thread is idle
they commit right on the loop's thread, never waiting for a lock (~20 µs for a
chain link, against ~60 µs for the round trip to the thread). See docs/architecture.md,
"The store's commit path".
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import queue
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flowdesk.store.errors import StoreError, ValueTooLargeError

log = logging.getLogger(__name__)
Operation = Callable[[sqlite3.Connection], Any]
"""A write that runs inside the writer's transaction. It reports logical outcomes (say, a run
that cannot be claimed) by its return value: an exception rolls back the whole batch."""
RowFactory = Callable[[], Sequence[Any]]
MAX_BATCH = 20_000
INLINE_MAX_ROWS = 256


@dataclass(slots=True)
class _Job:
    sql: str | None
    make_row: RowFactory | None
    operation: Operation | None
    waiter: asyncio.Future[Any] | concurrent.futures.Future[Any]
    loop: asyncio.AbstractEventLoop | None


_STOP = object()


class Writer:
    """Owns the write connection. `call` blocks; `call_async` and `execute_async` await."""

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        translate: Callable[[BaseException], BaseException],
        *,
        name: str = "flowdesk-store-writer",
    ) -> None:
        self._connect = connect
        self._translate = translate
        self._queue: queue.SimpleQueue[_Job | object] = queue.SimpleQueue()
        self._closed = False
        self._lock = threading.Lock()
        self._pending = 0
        """Jobs queued and not yet settled (or an inline commit in progress)."""
        self._inline: sqlite3.Connection | None = None
        self._turn: list[_Job] = []
        """Rows from the current turn of the event loop, committed together after it."""
        self.transactions = 0
        self.inline_transactions = 0
        """Committed transactions so far (tests and benchmarks read it to see group commits)."""
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    # -- submitting ----------------------------------------------------------------------

    def call(self, operation: Operation) -> Any:
        waiter: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._put(_Job(None, None, operation, waiter, None))
        return waiter.result()

    async def call_async(
        self, operation: Operation, loop: asyncio.AbstractEventLoop | None = None
    ) -> Any:
        """`loop`: the caller's loop when it knows it (under qasync a task step may not find a
        running loop through asyncio)."""
        loop = loop or asyncio.get_running_loop()
        waiter = loop.create_future()
        self._put(_Job(None, None, operation, waiter, loop))
        return await waiter

    def call_soon(
        self, operation: Operation, loop: asyncio.AbstractEventLoop
    ) -> asyncio.Future[Any]:
        """Queue `operation` without waiting: the returned future settles on `loop` once it is
        committed (or failed). Jobs are committed in the order they are queued."""
        waiter = loop.create_future()
        self._put(_Job(None, None, operation, waiter, loop))
        return waiter

    async def execute_async(
        self, sql: str, make_row: RowFactory, loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        """Run one parameterised statement; rows queued together share one executemany.

        Rows from one turn of the event loop are gathered first (nodes that finish
        together), then committed in one transaction: right here when the writer
        thread is idle, else by the thread. `loop` as for `call_async`.
        """
        loop = loop or asyncio.get_running_loop()
        waiter = loop.create_future()
        if not self._turn:
            loop.call_soon(self._flush_turn)
        self._turn.append(_Job(sql, make_row, None, waiter, loop))
        await waiter

    def execute_soon(self, sql: str, make_row: RowFactory, loop: asyncio.AbstractEventLoop) -> None:
        """Queue a statement with this turn's rows without waiting for its commit (for marks
        worth keeping but never worth delaying a node for). A failure is logged (debug)."""
        waiter = loop.create_future()
        waiter.add_done_callback(_log_failure)
        if not self._turn:
            loop.call_soon(self._flush_turn)
        self._turn.append(_Job(sql, make_row, None, waiter, loop))

    def _flush_turn(self) -> None:
        batch, self._turn = self._turn, []
        if self._commit_inline(batch):
            return
        for job in batch:
            try:
                self._put(job)
            except StoreError as exc:
                job.waiter.set_exception(exc)

    def _put(self, job: _Job) -> None:
        with self._lock:
            if self._closed:
                raise StoreError("the store is closed")
            self._pending += 1
            self._queue.put(job)

    def _commit_inline(self, batch: list[_Job]) -> bool:
        """Commit `batch` on the calling (event loop) thread when the writer thread is idle.

        A chain of nodes commits one result at a time, and the thread round trip
        (~60 µs) cost three times the commit itself (~20 µs). This never waits:
        with the write lock held anywhere it returns False and the rows go to the
        writer thread, which also reports any real error the usual way.
        """
        if len(batch) > INLINE_MAX_ROWS:  # encoding many outputs belongs off the event loop
            return False
        with self._lock:
            if self._closed or self._pending:
                return False
            self._pending += len(batch)  # the thread stays out of the way meanwhile
        try:
            if self._inline is None:
                self._inline = self._connect()
                self._inline.execute("PRAGMA busy_timeout = 0")
            connection = self._inline
            try:
                rows = [job.make_row() for job in batch]  # type: ignore[misc]
                connection.execute("BEGIN IMMEDIATE")
                start = 0
                while start < len(batch):
                    end = start
                    while end < len(batch) and batch[end].sql == batch[start].sql:
                        end += 1
                    connection.executemany(batch[start].sql, rows[start:end])  # type: ignore[arg-type]
                    start = end
                connection.execute("COMMIT")
            except Exception:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                return False
        except Exception:  # a broken inline connection: drop it, the thread carries on
            if self._inline is not None:
                with contextlib.suppress(Exception):
                    self._inline.close()
                self._inline = None
            return False
        finally:
            with self._lock:
                self._pending -= len(batch)
        self.transactions += 1
        self.inline_transactions += 1
        for job in batch:
            if not job.waiter.done():
                job.waiter.set_result(None)
        return True

    def close(self) -> None:
        """Write what is queued, then stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        self._thread.join()
        if self._inline is not None:
            self._inline.close()
            self._inline = None

    # -- the writer thread ---------------------------------------------------------------

    def _serve(self) -> None:
        connection: sqlite3.Connection | None = None
        failure: BaseException | None = None
        try:
            connection = self._connect()
        except BaseException as exc:
            failure = self._translate(exc)
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                break
            batch: list[_Job] = [first]  # type: ignore[list-item]
            while len(batch) < MAX_BATCH:
                try:
                    job = self._queue.get_nowait()
                except queue.Empty:
                    break
                if job is _STOP:
                    stopping = True
                    break
                batch.append(job)  # type: ignore[arg-type]
            if connection is None:
                results, errors = [None] * len(batch), [failure] * len(batch)
            else:
                results, errors = self._commit(connection, batch)
            with self._lock:  # idle again before the waiters wake, so they may commit inline
                self._pending -= len(batch)
            _settle(batch, results, errors)
        if connection is not None:
            connection.close()

    def _commit(
        self, connection: sqlite3.Connection, batch: list[_Job]
    ) -> tuple[list[Any], list[BaseException | None]]:
        results: list[Any] = [None] * len(batch)
        errors: list[BaseException | None] = [None] * len(batch)
        rows: list[Sequence[Any] | None] = [None] * len(batch)
        for index, job in enumerate(batch):
            if job.make_row is not None:
                try:
                    rows[index] = job.make_row()
                except Exception as exc:  # one bad row fails its own caller only
                    errors[index] = StoreError(f"cannot store this value: {exc}")
        live = [i for i in range(len(batch)) if errors[i] is None]
        error = self._transaction(connection, batch, live, rows, results)
        if isinstance(error, ValueTooLargeError) and len(live) > 1:
            # One value too large fails its own caller only: the rest commit one by one.
            for index in live:
                errors[index] = self._transaction(connection, batch, [index], rows, results)
        elif error is not None:
            for index in live:
                errors[index] = error
        return results, errors

    def _transaction(
        self,
        connection: sqlite3.Connection,
        batch: list[_Job],
        live: list[int],
        rows: list[Sequence[Any] | None],
        results: list[Any],
    ) -> BaseException | None:
        """Commit the jobs `live` (indices into `batch`) in one transaction; the translated
        error when it failed and was rolled back."""
        try:
            connection.execute("BEGIN IMMEDIATE")
            position = 0
            while position < len(live):
                job = batch[live[position]]
                if job.operation is not None:
                    results[live[position]] = job.operation(connection)
                    position += 1
                    continue
                end = position
                while end < len(live) and batch[live[end]].sql == job.sql:
                    end += 1
                connection.executemany(job.sql, [rows[i] for i in live[position:end]])
                position = end
            connection.execute("COMMIT")
            self.transactions += 1
        except BaseException as exc:
            if connection.in_transaction:
                try:
                    connection.execute("ROLLBACK")
                except sqlite3.Error:  # pragma: no cover - the connection is already broken
                    log.exception("rollback failed")
            return self._translate(exc)
        return None


def _settle(batch: list[_Job], results: list[Any], errors: list[BaseException | None]) -> None:
    """Wake every waiter: one call per event loop, however many nodes it has waiting."""
    per_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, Any]]]
    per_loop = defaultdict(list)
    for job, result, error in zip(batch, results, errors, strict=True):
        if job.loop is None:
            waiter = job.waiter
            assert isinstance(waiter, concurrent.futures.Future)
            if error is None:
                waiter.set_result(result)
            else:
                waiter.set_exception(error)
        else:
            per_loop[job.loop].append((job.waiter, result, error))  # type: ignore[arg-type]
    for loop, items in per_loop.items():
        # Nobody waits on a closed loop any more. Ask first: qasync's loop does not refuse a
        # call from another thread once closed, it starts a Qt timer on an object about to
        # be deleted (a segfault later, seen in the GUI tests); asyncio's raises RuntimeError.
        if loop.is_closed():
            continue
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_resolve, items)


def _log_failure(waiter: asyncio.Future[Any]) -> None:
    """Debug only: the node's own result, written next, reports a store that lasts failing
    (in one line, at the front-end), and a mark lost to a passing lock costs nothing."""
    if not waiter.cancelled() and waiter.exception() is not None:
        log.debug("could not record a mark: %s", waiter.exception())


def _resolve(items: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for waiter, result, error in items:
        if waiter.done():
            continue
        if error is None:
            waiter.set_result(result)
        else:
            waiter.set_exception(error)
