"""Where the database lives: `--db PATH`, else `FLOWDESK_DB`, else the user data directory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

DB_ENV = "FLOWDESK_DB"
TIMEOUT_ENV = "FLOWDESK_DB_TIMEOUT"
MAX_LENGTH_ENV = "FLOWDESK_DB_MAX_LENGTH"
DB_FILENAME = "flowdesk.db"
DEFAULT_BUSY_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class DatabaseLocation:
    path: Path
    explicit: bool
    """True when the user named the file (--db or FLOWDESK_DB): it is not created silently
    by commands that only read."""


def default_db_path() -> Path:
    return Path(platformdirs.user_data_dir("flowdesk", appauthor=False)) / DB_FILENAME


def resolve_db_location(
    given: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> DatabaseLocation:
    environ = os.environ if environ is None else environ
    if given:
        return DatabaseLocation(Path(given).expanduser(), explicit=True)
    if environ.get(DB_ENV):
        return DatabaseLocation(Path(environ[DB_ENV]).expanduser(), explicit=True)
    return DatabaseLocation(default_db_path(), explicit=False)


def busy_timeout_s(environ: Mapping[str, str] | None = None) -> float:
    """How long to wait for another process's write lock (FLOWDESK_DB_TIMEOUT, seconds)."""
    environ = os.environ if environ is None else environ
    try:
        value = float(environ.get(TIMEOUT_ENV, DEFAULT_BUSY_TIMEOUT_S))
    except ValueError:
        return DEFAULT_BUSY_TIMEOUT_S
    return max(value, 0.0)


def max_length_bytes(environ: Mapping[str, str] | None = None) -> int | None:
    """The largest value (and row) the store writes, in bytes (FLOWDESK_DB_MAX_LENGTH); None
    keeps SQLite's own limit (1 GB). Lowering it shows what happens to a node whose output the
    database cannot hold (the tests do), or keeps one node from growing the file without bound."""
    environ = os.environ if environ is None else environ
    try:
        value = int(environ.get(MAX_LENGTH_ENV, ""))
    except ValueError:
        return None
    return value if value > 0 else None
