"""Opening a database file: creation, WAL, schema version, and clear errors for bad files."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing

import pytest
from storetools import chain

from flowdesk.store import (
    SCHEMA_VERSION,
    CorruptDatabaseError,
    DatabaseLockedError,
    DatabaseOpenError,
    SchemaVersionError,
    Store,
)
from flowdesk.store.paths import default_db_path, resolve_db_location


def test_a_new_file_gets_wal_mode_and_the_schema_version(tmp_path) -> None:
    path = tmp_path / "sub" / "runs.db"
    Store.open(path).close()
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
    assert {"runs", "node_runs", "workflow_definitions"} <= tables
    connection.close()
    Store.open(path).close()  # reopening our own file is fine


def test_missing_file_is_an_error_when_creation_is_not_allowed(tmp_path) -> None:
    with pytest.raises(DatabaseOpenError, match="no FlowDesk database at"):
        Store.open(tmp_path / "missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()


def test_random_bytes_are_refused_and_left_untouched(tmp_path) -> None:
    path = tmp_path / "junk.db"
    junk = os.urandom(4096)
    path.write_bytes(junk)
    with pytest.raises(CorruptDatabaseError, match="not an SQLite file"):
        Store.open(path)
    assert path.read_bytes() == junk


def test_a_damaged_sqlite_file_is_refused(tmp_path) -> None:
    path = tmp_path / "damaged.db"
    Store.open(path).close()
    data = bytearray(path.read_bytes())
    data[100:] = os.urandom(len(data) - 100)  # keep the header, wreck the pages
    path.write_bytes(bytes(data))
    for suffix in ("-wal", "-shm"):
        (tmp_path / f"damaged.db{suffix}").unlink(missing_ok=True)
    with pytest.raises(CorruptDatabaseError, match="damaged"):
        Store.open(path)


def test_a_newer_schema_version_is_refused(tmp_path) -> None:
    path = tmp_path / "newer.db"
    Store.open(path).close()
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(SchemaVersionError, match="newer FlowDesk"):
        Store.open(path)


def test_another_programs_database_is_refused_unchanged(tmp_path) -> None:
    path = tmp_path / "other.db"
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    with pytest.raises(SchemaVersionError, match="another program"):
        Store.open(path)
    with closing(sqlite3.connect(path)) as connection, connection:
        tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master")]
    assert tables == ["notes"]


def test_a_database_locked_by_another_connection_is_a_clear_error(tmp_path) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")  # a rollback-journal file: the lock blocks readers too
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(DatabaseLockedError, match="locked by another process"):
            Store.open(path, busy_timeout_s=0.1)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_writes_to_a_locked_wal_database_fail_clearly(tmp_path) -> None:
    path = tmp_path / "wal-locked.db"
    Store.open(path).close()
    store = Store.open(path, busy_timeout_s=0.1)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert store.runs.list_runs() == []  # WAL readers are not blocked
        with pytest.raises(DatabaseLockedError):
            store.runs.create_run(chain())
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        store.close()


def test_db_location_precedence(tmp_path) -> None:
    env = {"FLOWDESK_DB": str(tmp_path / "env.db")}
    assert resolve_db_location("given.db", env).path.name == "given.db"
    assert resolve_db_location(None, env).path == tmp_path / "env.db"
    assert resolve_db_location(None, env).explicit
    default = resolve_db_location(None, {})
    assert default.path == default_db_path() and not default.explicit
    assert default.path.name == "flowdesk.db"


def test_a_version_1_file_is_upgraded_in_place_and_keeps_its_runs(tmp_path):
    """Version 1 had no resumed_at and moved started_at to each resume."""
    import sqlite3

    from flowdesk.model import workflow_from_data

    path = tmp_path / "old.db"
    definition = workflow_from_data(
        {"name": "w", "dag": {"nodes": [{"id": "a", "handler": "input"}]}}
    )
    with Store.open(path) as store:
        resumed, _ = store.runs.create_run(definition)
        fresh, _ = store.runs.create_run(definition)
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("ALTER TABLE runs DROP COLUMN resumed_at")
        connection.execute(
            "UPDATE runs SET state = 'COMPLETED', executions = 2, created_at = ?, "
            "started_at = ?, finished_at = ? WHERE id = ?",
            (
                "2026-01-01T10:00:00+00:00",
                "2026-01-01T11:00:00+00:00",
                "2026-01-01T11:00:05+00:00",
                resumed,
            ),
        )
        connection.execute(
            "UPDATE runs SET state = 'COMPLETED', executions = 1, started_at = ?, "
            "finished_at = ? WHERE id = ?",
            ("2026-01-02T10:00:00+00:00", "2026-01-02T10:00:01+00:00", fresh),
        )
        connection.execute("PRAGMA user_version = 1")
        connection.commit()
    with Store.open(path) as store:
        old = store.runs.load(resumed)
        new = store.runs.load(fresh)
        assert len(store.runs.list_runs()) == 2
    assert old.result.started_at.isoformat() == "2026-01-01T10:00:00+00:00"  # creation
    assert old.resumed_at.isoformat() == "2026-01-01T11:00:00+00:00"  # the latest resume
    assert new.result.started_at.isoformat() == "2026-01-02T10:00:00+00:00"
    assert new.resumed_at is None
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
