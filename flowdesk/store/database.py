"""Opening the SQLite file: checks before trust, schema creation, pragmas.

Opening never damages a file it does not understand: a file that is not SQLite,
belongs to another program or was written by a newer FlowDesk is refused with
a typed error before anything is written.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Table
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.schema import CreateIndex, CreateTable

from flowdesk.store.errors import (
    CorruptDatabaseError,
    DatabaseOpenError,
    SchemaVersionError,
)
from flowdesk.store.sqlite_errors import translator
from flowdesk.store.tables import (
    APPLICATION_ID,
    SCHEMA_VERSION,
    TABLE_SINCE,
    TABLES,
    IdempotencyRecord,
    NodeCacheRecord,
    NodeItemRecord,
)

SQLITE_HEADER = b"SQLite format 3\x00"


def connect(path: Path, busy_timeout_s: float, *, read_only: bool = False) -> sqlite3.Connection:
    """A connection with our pragmas. Transactions are explicit (`BEGIN IMMEDIATE` for writes)."""
    connection = sqlite3.connect(
        path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
    )
    try:
        connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        connection.execute("PRAGMA foreign_keys = ON")
        # WAL with NORMAL sync: a committed result survives the process being killed (what
        # resume is for) without an fsync per commit; a power cut may lose the last commits,
        # which resume then runs again. FULL made a 1,000-node chain 2.4x slower (benchmarks).
        connection.execute("PRAGMA synchronous = NORMAL")
        if read_only:
            connection.execute("PRAGMA query_only = ON")
    except BaseException:
        connection.close()
        raise
    return connection


def prepare_database(path: Path, busy_timeout_s: float, *, create: bool) -> None:
    """Check the file is a FlowDesk database we understand (creating it when allowed)."""
    _check_file(path, create=create)
    translate = translator(path, busy_timeout_s)
    try:
        connection = connect(path, busy_timeout_s)
    except sqlite3.Error as exc:
        raise translate(exc) from None
    try:
        if not _is_ours(connection, path):
            _create_schema(connection, path)
        _migrate(connection)
        if connection.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            connection.execute("PRAGMA journal_mode = WAL")
    except sqlite3.Error as exc:
        raise translate(exc) from None
    finally:
        connection.close()


def _create_statements(table: Table, *, if_not_exists: bool = False) -> tuple[str, ...]:
    """CREATE TABLE and CREATE INDEX statements for one table, in SQLite's dialect."""
    dialect = sqlite_dialect.dialect()
    statements = [str(CreateTable(table, if_not_exists=if_not_exists).compile(dialect=dialect))]
    statements += [
        str(CreateIndex(index, if_not_exists=if_not_exists).compile(dialect=dialect))
        for index in sorted(table.indexes, key=lambda index: str(index.name))
    ]
    return tuple(statements)


Migration = str | Callable[[sqlite3.Connection], None]

MIGRATIONS: dict[int, tuple[Migration, ...]] = {
    1: (
        "ALTER TABLE runs ADD COLUMN resumed_at VARCHAR",
        # Version 1 moved started_at to each resume: for resumed runs that time is the latest
        # resume, and the first start is lost; creation is the closest time we have.
        "UPDATE runs SET resumed_at = started_at, started_at = created_at "
        "WHERE executions > 1 AND started_at IS NOT NULL",
    ),
    # IF NOT EXISTS: a file a test (or a downgrade) marked older may have the table already.
    2: _create_statements(IdempotencyRecord.__table__, if_not_exists=True),
    3: (lambda connection: _add_column(connection, "node_runs", "log", "TEXT"),),
    4: (
        lambda connection: _add_column(connection, "node_runs", "reused_from", "VARCHAR"),
        lambda connection: _add_column(
            connection, "node_runs", "cached", "BOOLEAN NOT NULL DEFAULT 0"
        ),
        *_create_statements(NodeItemRecord.__table__, if_not_exists=True),
        *_create_statements(NodeCacheRecord.__table__, if_not_exists=True),
    ),
}
"""Schema version -> the statements (SQL, or a function of the connection) that bring a file
of that version to the next one."""


def _add_column(connection: sqlite3.Connection, table: str, column: str, sql_type: str) -> None:
    """ALTER TABLE ADD COLUMN, unless the file has the column already (SQLite has no IF NOT
    EXISTS for columns; a file a test or a downgrade marked older may have it)."""
    columns = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
    if column not in columns:
        connection.execute(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}")


@contextmanager
def _immediate(connection: sqlite3.Connection) -> Iterator[None]:
    """A write transaction taken at once (BEGIN IMMEDIATE); rolled back if anything fails."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise


def _migrate(connection: sqlite3.Connection) -> None:
    """Bring an older FlowDesk file up to SCHEMA_VERSION, one version per transaction."""
    while True:
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version >= SCHEMA_VERSION:
            return
        with _immediate(connection):
            if connection.execute("PRAGMA user_version").fetchone()[0] == version:
                for statement in MIGRATIONS[version]:
                    if callable(statement):
                        statement(connection)
                    else:
                        connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {version + 1}")


def _check_file(path: Path, *, create: bool) -> None:
    try:
        is_dir, exists = path.is_dir(), path.exists()
    except OSError as exc:  # a folder on the way that cannot be entered (PermissionError)
        raise DatabaseOpenError(f"cannot open database {path}: {exc.strerror or exc}") from None
    if is_dir:
        raise DatabaseOpenError(f"database {path} is a directory, not a file")
    if not exists:
        if not create:
            raise DatabaseOpenError(f"no FlowDesk database at {path}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseOpenError(
                f"cannot create the directory for {path}: {exc.strerror or exc}"
            ) from None
        return
    try:
        with path.open("rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise DatabaseOpenError(f"cannot read database {path}: {exc.strerror or exc}") from None
    if header and header != SQLITE_HEADER:
        raise CorruptDatabaseError(f"{path} is not a FlowDesk database (not an SQLite file)")


def _is_ours(connection: sqlite3.Connection, path: Path) -> bool:
    """True for a FlowDesk file of our schema; False for an empty file; else a typed error."""
    application_id = connection.execute("PRAGMA application_id").fetchone()[0]
    version = connection.execute("PRAGMA user_version").fetchone()[0]
    tables = {
        row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    if application_id == 0 and version == 0 and not tables:
        return False
    if application_id != APPLICATION_ID:
        raise SchemaVersionError(
            f"{path} is not a FlowDesk database (it belongs to another program)"
        )
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"database {path} was written by a newer FlowDesk (schema version {version}; "
            f"this version reads up to {SCHEMA_VERSION}): upgrade FlowDesk or use another --db"
        )
    if version < 1:
        raise SchemaVersionError(f"database {path} has an unknown schema version {version}")
    expected = {table.name for table in TABLES if TABLE_SINCE.get(table.name, 1) <= version}
    missing = expected - tables
    if missing:
        raise CorruptDatabaseError(
            f"database {path} is damaged: missing table(s) {', '.join(sorted(missing))}"
        )
    return True


def _create_schema(connection: sqlite3.Connection, path: Path) -> None:
    connection.execute("PRAGMA journal_mode = WAL")
    with _immediate(connection):
        if _is_ours(connection, path):  # another process created it while we waited
            return
        for table in TABLES:
            for statement in _create_statements(table):
                connection.execute(statement)
        connection.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
