"""The store: one SQLite file, its writer thread, and the repositories over it.

    with Store.open(path) as store:
        run_id, created = store.runs.create_run(definition, params)
        run = WorkflowRun(definition, registry, params, run_id=run_id, recorder=store.recorder())

Opening a store reports, at once, every run whose owning process has died as INTERRUPTED.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from functools import partial
from pathlib import Path

from sqlalchemy import Engine, create_engine
from sqlalchemy.pool import QueuePool

from flowdesk.store.cache import SQLiteNodeCache
from flowdesk.store.database import connect, prepare_database
from flowdesk.store.definitions import DefinitionRepository
from flowdesk.store.errors import StoreError
from flowdesk.store.idempotency import IdempotencyRepository
from flowdesk.store.owner import ProcessIdentity
from flowdesk.store.paths import busy_timeout_s as default_busy_timeout_s
from flowdesk.store.paths import max_length_bytes
from flowdesk.store.recorder import SQLiteRecorder, interrupt_runs
from flowdesk.store.runs import RunRepository
from flowdesk.store.sqlite_errors import translate_reads, translator
from flowdesk.store.writer import Writer


class Store:
    """Open with `Store.open(path)`; close (or use `with`) to flush and stop the writer."""

    def __init__(
        self,
        path: Path,
        busy_timeout_s: float,
        identity: ProcessIdentity,
        *,
        max_length: int | None = None,
    ) -> None:
        self.path = path
        self.identity = identity
        translate = translator(path, busy_timeout_s)
        self._engine: Engine = create_engine(
            "sqlite://",
            creator=lambda: connect(path, busy_timeout_s, read_only=True),
            poolclass=QueuePool,
            pool_size=2,
        )
        translate_reads(self._engine, translate)

        def connect_writer() -> sqlite3.Connection:
            connection = connect(path, busy_timeout_s)
            if max_length is not None:
                connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, max_length)
            return connection

        self.writer = Writer(connect_writer, translate)
        self._in_flight: set[str] = set()
        self.runs = RunRepository(self._engine, self.writer, identity)
        self.definitions = DefinitionRepository(self._engine, self.writer)
        self.idempotency = IdempotencyRepository(self.writer, identity)
        self.cache = SQLiteNodeCache(self._engine, self.writer)
        """Outputs of nodes with `"cache"`, for `WorkflowRun(cache=...)` and `flowdesk cache`."""

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        create: bool = True,
        busy_timeout_s: float | None = None,
        max_length: int | None = None,
    ) -> Store:
        """Open (and create, when allowed) a FlowDesk database; raises a StoreError subclass.

        `max_length` (default FLOWDESK_DB_MAX_LENGTH, else SQLite's 1 GB) caps, in bytes, one
        value the store writes: a node result over it fails that node (ResultNotRecordable)."""
        target = Path(path)
        timeout = default_busy_timeout_s() if busy_timeout_s is None else busy_timeout_s
        length = max_length_bytes() if max_length is None else max_length
        prepare_database(target, timeout, create=create)
        store = cls(target, timeout, ProcessIdentity.current(), max_length=length)
        try:
            store.runs.recover_interrupted()
        except BaseException:
            store.close()
            raise
        return store

    def recorder(self) -> SQLiteRecorder:
        """A RunRecorder for `WorkflowRun(..., recorder=...)`; the run must exist in this store."""
        return SQLiteRecorder(self.writer, self.identity, self._in_flight)

    def close(self) -> None:
        """Flush and stop the writer. A run started here and still going will never finish in
        this process: it is marked INTERRUPTED now rather than at the next open."""
        if self._in_flight:
            unfinished = sorted(self._in_flight)
            self._in_flight.clear()
            with contextlib.suppress(StoreError):
                self.writer.call(partial(interrupt_runs, run_ids=unfinished))
        self.writer.close()
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
