"""Local persistence: workflow definitions and an idempotent, crash-safe run history in SQLite."""

from flowdesk.store.cache import CachedOutput, SQLiteNodeCache
from flowdesk.store.definitions import DefinitionRepository, DefinitionSummary
from flowdesk.store.errors import (
    AmbiguousRunIdError,
    CorruptDatabaseError,
    DatabaseLockedError,
    DatabaseOpenError,
    RunNotResumableError,
    SchemaVersionError,
    StoreError,
    UnknownDefinitionError,
    UnknownRunError,
)
from flowdesk.store.idempotency import IdempotencyRepository, KeyOutcome, KeyState
from flowdesk.store.owner import ProcessIdentity
from flowdesk.store.paths import DatabaseLocation, default_db_path, resolve_db_location
from flowdesk.store.recorder import SQLiteRecorder
from flowdesk.store.repository import Store
from flowdesk.store.runs import ResumePlan, RunRepository, RunSummary, StoredRun
from flowdesk.store.tables import SCHEMA_VERSION

__all__ = [
    "SCHEMA_VERSION",
    "AmbiguousRunIdError",
    "CachedOutput",
    "CorruptDatabaseError",
    "DatabaseLocation",
    "DatabaseLockedError",
    "DatabaseOpenError",
    "DefinitionRepository",
    "DefinitionSummary",
    "IdempotencyRepository",
    "KeyOutcome",
    "KeyState",
    "ProcessIdentity",
    "ResumePlan",
    "RunNotResumableError",
    "RunRepository",
    "RunSummary",
    "SQLiteNodeCache",
    "SQLiteRecorder",
    "SchemaVersionError",
    "Store",
    "StoreError",
    "StoredRun",
    "UnknownDefinitionError",
    "UnknownRunError",
    "default_db_path",
    "resolve_db_location",
]
