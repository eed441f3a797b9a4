"""sqlite3 errors as typed store errors, by what SQLite says they are (its result code).

Writes (the writer thread) and reads (SQLAlchemy sessions) go through the same
translation, so a damaged page reads as "damaged" on `runs list` exactly as it
does when a run is written, and a value too large to store is not mistaken for
a damaged file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, event
from sqlalchemy.engine import ExceptionContext

from flowdesk.store.errors import (
    CorruptDatabaseError,
    DatabaseLockedError,
    DatabaseOpenError,
    StoreError,
    ValueTooLargeError,
)

Translate = Callable[[BaseException], BaseException]

_LOCKED = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}
_DAMAGED = {sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_FORMAT}
_CANNOT_OPEN = {sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM, sqlite3.SQLITE_AUTH}


def translate_sqlite_error(exc: sqlite3.Error, path: Path, busy_timeout_s: float) -> StoreError:
    """The store error for `exc`, with a one-line message naming the file."""
    message = str(exc)
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary in _LOCKED or (primary is None and ("locked" in message or "busy" in message)):
        return DatabaseLockedError(
            f"database {path} is locked by another process "
            f"(waited {busy_timeout_s:g} s; set FLOWDESK_DB_TIMEOUT to wait longer)"
        )
    if primary == sqlite3.SQLITE_TOOBIG:
        return ValueTooLargeError(f"{message} for database {path}")
    if primary in _DAMAGED or (primary is None and _reads_as_damage(exc, message)):
        return CorruptDatabaseError(f"database {path} is damaged or not a database: {message}")
    if primary in _CANNOT_OPEN or "unable to open" in message:
        return DatabaseOpenError(f"cannot open database {path}: {message}")
    if primary == sqlite3.SQLITE_READONLY:
        return DatabaseOpenError(f"cannot write database {path}: {message}")
    if primary == sqlite3.SQLITE_FULL:
        return StoreError(f"cannot write database {path}: the disk is full ({message})")
    return StoreError(f"database {path}: {message}")


def _reads_as_damage(exc: sqlite3.Error, message: str) -> bool:
    """Errors raised by Python's sqlite3 itself carry no result code: a stored text that is
    not UTF-8 ("Could not decode to UTF-8 column ...") can only come from a damaged page."""
    return "malformed" in message or "not a database" in message or "decode" in message


def translator(path: Path, busy_timeout_s: float) -> Translate:
    """Turn sqlite3 errors into typed store errors; anything else is returned as it is."""

    def translate(exc: BaseException) -> BaseException:
        if isinstance(exc, sqlite3.Error):
            return translate_sqlite_error(exc, path, busy_timeout_s)
        return exc

    return translate


def translate_reads(engine: Engine, translate: Translate) -> None:
    """Make every sqlite3 error of `engine` (connecting or reading) raise as a store error,
    instead of SQLAlchemy's wrapper whose message holds the whole SQL statement."""

    @event.listens_for(engine, "handle_error")
    def _store_error(context: ExceptionContext) -> BaseException | None:
        original = context.original_exception
        if isinstance(original, sqlite3.Error):
            return translate(original)
        return None
