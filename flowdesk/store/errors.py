"""Typed store errors, each with a one-line message the CLI and the editor show as is."""

from __future__ import annotations


class StoreError(Exception):
    """Anything the store cannot do; the message is one line, written for the user."""


class DatabaseOpenError(StoreError):
    """The database file cannot be opened or created (missing directory, permissions)."""


class CorruptDatabaseError(StoreError):
    """The file is not an SQLite database, or SQLite reports it damaged."""


class SchemaVersionError(StoreError):
    """The file was written by a newer FlowDesk, or by another program."""


class DatabaseLockedError(StoreError):
    """Another process holds the write lock longer than the busy timeout."""


class ValueTooLargeError(StoreError):
    """A value is larger than SQLite stores (SQLITE_TOOBIG): the value's fault, not the file's."""


class UnknownRunError(StoreError, LookupError):
    """No run has this id (or id prefix)."""


class AmbiguousRunIdError(StoreError, LookupError):
    """A run id prefix matches more than one run."""


class UnknownDefinitionError(StoreError, LookupError):
    """No saved workflow definition has this name."""


class RunNotResumableError(StoreError):
    """The run is COMPLETED, or still RUNNING in a live process."""
