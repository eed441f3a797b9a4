"""SQLite errors become store errors by what they are (issue 12, point 9): a value too large is
not a damaged file, a damaged page reads as damaged on the read path too, and one value too
large fails only its own node's write, not the others committed with it."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from flowdesk.engine import NodeState, ResultNotRecordable, RunState
from flowdesk.engine.results import NodeResult, RunResult
from flowdesk.model import workflow_from_data
from flowdesk.store import (
    CorruptDatabaseError,
    DatabaseLockedError,
    DatabaseOpenError,
    Store,
    StoreError,
)
from flowdesk.store.errors import ValueTooLargeError
from flowdesk.store.sqlite_errors import translate_sqlite_error

LIMIT = 4_000


def sqlite_error(code: int, message: str) -> sqlite3.Error:
    """An error as SQLite reports it: with its result code and code name."""
    error = sqlite3.DatabaseError(message)
    error.sqlite_errorcode = code
    return error


@pytest.mark.parametrize(
    ("code", "kind", "words"),
    [
        (sqlite3.SQLITE_TOOBIG, ValueTooLargeError, "string or blob too big for database"),
        (sqlite3.SQLITE_CORRUPT, CorruptDatabaseError, "is damaged or not a database"),
        (sqlite3.SQLITE_NOTADB, CorruptDatabaseError, "is damaged or not a database"),
        (sqlite3.SQLITE_BUSY, DatabaseLockedError, "is locked by another process"),
        (sqlite3.SQLITE_LOCKED, DatabaseLockedError, "is locked by another process"),
        (sqlite3.SQLITE_CANTOPEN, DatabaseOpenError, "cannot open database"),
        (sqlite3.SQLITE_READONLY, DatabaseOpenError, "cannot write database"),
        (sqlite3.SQLITE_FULL, StoreError, "the disk is full"),
        (sqlite3.SQLITE_IOERR_SHORT_READ, StoreError, "database"),
    ],
)
def test_errors_are_translated_by_their_result_code(code, kind, words) -> None:
    messages = {
        sqlite3.SQLITE_TOOBIG: "string or blob too big",
        sqlite3.SQLITE_FULL: "database or disk is full",
    }
    error = translate_sqlite_error(
        sqlite_error(code, messages.get(code, "message")), Path("/x/runs.db"), 5
    )
    assert type(error) is kind
    assert words in str(error)
    assert "/x/runs.db" in str(error)
    assert "\n" not in str(error)


def test_a_value_too_large_is_not_a_damaged_file() -> None:
    with closing(sqlite3.connect(":memory:")) as connection:
        connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, LIMIT)
        with pytest.raises(sqlite3.Error) as raised:
            connection.execute("SELECT ?", ("x" * (2 * LIMIT),))
    error = translate_sqlite_error(raised.value, Path("runs.db"), 5)
    assert isinstance(error, ValueTooLargeError)
    assert not isinstance(error, CorruptDatabaseError)


def test_errors_python_raises_itself_keep_their_meaning() -> None:
    """sqlite3 raises some errors without a result code: a closed connection is not damage."""
    connection = sqlite3.connect(":memory:")
    connection.close()
    with pytest.raises(sqlite3.ProgrammingError) as raised:
        connection.execute("SELECT 1")
    error = translate_sqlite_error(raised.value, Path("runs.db"), 5)
    assert type(error) is StoreError
    assert "damaged" not in str(error)


def wide(width: int):
    nodes = [{"id": "input", "handler": "input"}] + [
        {"id": f"t{i}", "handler": "transform", "dependencies": ["input"], "config": {"value": i}}
        for i in range(width)
    ]
    return workflow_from_data({"name": "wide", "dag": {"nodes": nodes}})


def test_one_result_too_large_fails_only_its_own_write(tmp_path) -> None:
    """Node results finishing together share a transaction; one too large must not take the
    others down with it."""
    definition = wide(6)
    with Store.open(tmp_path / "runs.db", max_length=LIMIT) as store:
        run_id, _ = store.runs.create_run(definition)
        recorder = store.recorder()

        def result(node_id: str, output: object) -> NodeResult:
            return NodeResult(node_id, NodeState.SUCCEEDED, attempts=1, output=output)

        async def finish_together() -> list[object]:
            run = RunResult(run_id, "wide", RunState.RUNNING, {}, {}, [])
            await recorder.run_started(run)
            outputs = {f"t{i}": i for i in range(6)} | {"t3": "x" * (2 * LIMIT)}
            return await asyncio.gather(
                *(recorder.node_finished(run_id, result(n, o)) for n, o in outputs.items()),
                return_exceptions=True,
            )

        outcomes = asyncio.run(finish_together())
        stored = store.runs.load(run_id).result.nodes
    assert [type(outcome) for outcome in outcomes] == [type(None)] * 3 + [ResultNotRecordable] + [
        type(None)
    ] * 2
    assert str(outcomes[3]).startswith("result too large to store: string or blob too big")
    assert {n: stored[n].state for n in ("t0", "t1", "t2", "t4", "t5")} == dict.fromkeys(
        ("t0", "t1", "t2", "t4", "t5"), NodeState.SUCCEEDED
    )
    assert stored["t5"].output == 5
    assert stored["t3"].state is NodeState.PENDING


def damage(db: Path, table: str) -> None:
    with closing(sqlite3.connect(db)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        (root,) = connection.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)
        ).fetchone()
    with db.open("r+b") as handle:
        handle.seek((root - 1) * page_size)
        handle.write(b"\x00\xff" * (page_size // 2))


def test_reads_of_a_damaged_page_raise_a_store_error_not_sqlalchemys(tmp_path) -> None:
    db = tmp_path / "runs.db"
    with Store.open(db) as store:
        run_id, _ = store.runs.create_run(wide(2))
    damage(db, "node_runs")
    with Store.open(db, create=False) as store:
        assert [run.run_id for run in store.runs.list_runs()] == [run_id]
        with pytest.raises(CorruptDatabaseError, match="is damaged or not a database") as raised:
            store.runs.load(run_id)
    assert "SELECT" not in str(raised.value)
    damage(db, "runs")
    with pytest.raises(CorruptDatabaseError), Store.open(db, create=False) as store:
        store.runs.list_runs()  # (a PENDING run: opening reads the page already)
