"""SQLiteNodeCache: the engine's NodeCache on table `node_cache`, and `flowdesk cache` queries.

A row holds the key (an HMAC digest of what the output depends on, engine/cache.py), the
handler, the output as JSON, the run and node that produced it and when. Nothing that went into
the key is stored: no config, no input, no secret. One extra row, under SALT_KEY, holds the
database's random salt; it is never listed, counted or cleared (clearing it would only make every
entry a miss). Lookups read on a worker thread through the read pool; writes go through the
store's writer thread like every other write.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from flowdesk.engine.cache import CacheEntry
from flowdesk.store.codec import from_json_text, from_text, to_json_text, to_text
from flowdesk.store.tables import NodeCacheRecord, RunRecord
from flowdesk.store.writer import Writer

log = logging.getLogger(__name__)

SALT_KEY = "salt"
"""The key of the row holding the salt (entries' keys are 64 hex digits: never this)."""
SALT_BYTES = 32
STORE_SQL = (
    "INSERT INTO node_cache (key, handler, output_json, run_id, node_id, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET handler = excluded.handler, "
    "output_json = excluded.output_json, run_id = excluded.run_id, "
    "node_id = excluded.node_id, created_at = excluded.created_at"
)


@dataclass(frozen=True)
class CachedOutput:
    """One entry as `flowdesk cache list` shows it."""

    key: str
    handler: str
    node_id: str
    run_id: str
    workflow: str | None
    """The workflow of the run that stored it (None once that run is gone)."""
    created_at: datetime | None
    size: int
    """Characters of its output's JSON."""

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "handler": self.handler,
            "node": self.node_id,
            "run_id": self.run_id,
            "workflow": self.workflow,
            "created_at": to_text(self.created_at),
            "size": self.size,
        }


class SQLiteNodeCache:
    """The node cache of one database (`Store.cache`); give it to `WorkflowRun(cache=...)`."""

    def __init__(self, engine: Engine, writer: Writer) -> None:
        self._engine = engine
        self._writer = writer
        self._salt: bytes | None = None

    # -- the engine's NodeCache --------------------------------------------------------------

    async def salt(self) -> bytes:
        """The database's salt: read once, made (in one write transaction) when missing."""
        if self._salt is None:
            found = await asyncio.to_thread(self._read_salt)
            if found is None:
                found = await self._writer.call_async(_salt_or_new)
            self._salt = found
        return self._salt

    async def lookup(self, key: str) -> CacheEntry | None:
        return await asyncio.to_thread(self._read_entry, key)

    async def store(
        self,
        key: str,
        handler: str,
        output: Any,
        run_id: str,
        node_id: str,
        created_at: datetime,
    ) -> None:
        """Committed when this returns; the output is encoded on the writer thread."""
        when = to_text(created_at)
        await self._writer.execute_async(
            STORE_SQL, lambda: (key, handler, to_json_text(output), run_id, node_id, when)
        )

    # -- for `flowdesk cache` ----------------------------------------------------------------

    def entries(self, workflow: str | None = None) -> list[CachedOutput]:
        """Every entry (of the runs of `workflow`, when given), newest first."""
        with Session(self._engine) as session:
            query = (
                select(NodeCacheRecord, RunRecord.workflow)
                .join(RunRecord, col(RunRecord.id) == col(NodeCacheRecord.run_id), isouter=True)
                .where(col(NodeCacheRecord.key) != SALT_KEY)
                .order_by(col(NodeCacheRecord.created_at).desc())
            )
            if workflow is not None:
                query = query.where(col(RunRecord.workflow) == workflow)
            return [
                CachedOutput(
                    key=record.key,
                    handler=record.handler,
                    node_id=record.node_id,
                    run_id=record.run_id,
                    workflow=name,
                    created_at=_moment(record.created_at),
                    size=len(record.output_json or ""),
                )
                for record, name in session.exec(query)
            ]

    def clear(self, workflow: str | None = None) -> int:
        """Remove every entry (those stored by runs of `workflow`, when given); how many."""

        def delete(connection: sqlite3.Connection) -> int:
            if workflow is None:
                cursor = connection.execute("DELETE FROM node_cache WHERE key != ?", (SALT_KEY,))
            else:
                cursor = connection.execute(
                    "DELETE FROM node_cache WHERE key != ? AND run_id IN "
                    "(SELECT id FROM runs WHERE workflow = ?)",
                    (SALT_KEY, workflow),
                )
            return cursor.rowcount

        return int(self._writer.call(delete))

    # -- reading -----------------------------------------------------------------------------

    def _read_salt(self) -> bytes | None:
        with Session(self._engine) as session:
            record = session.get(NodeCacheRecord, SALT_KEY)
            return _salt_of(record.output_json if record else None)

    def _read_entry(self, key: str) -> CacheEntry | None:
        """The entry under `key`; None when absent or unreadable (bad JSON, a bad date)."""
        with Session(self._engine) as session:
            record = session.get(NodeCacheRecord, key)
            if record is None:
                return None
            row = (record.output_json, record.run_id, record.created_at)
        text, run_id, created = row
        try:
            output = from_json_text(text)
            moment = _moment(created)
        except (ValueError, TypeError, RecursionError) as exc:
            log.warning("cache entry %s… cannot be read (%s): treated as a miss", key[:12], exc)
            return None
        if moment is None or not isinstance(run_id, str):
            log.warning("cache entry %s… has no valid date or run: treated as a miss", key[:12])
            return None
        return CacheEntry(output, run_id, moment)


def _moment(text: Any) -> datetime | None:
    """A stored time, always aware (UTC); None for one that is not a time."""
    if not isinstance(text, str):
        return None
    try:
        moment = from_text(text)
    except ValueError:
        return None
    if moment is None or moment.tzinfo is None:
        return None
    return moment.astimezone(UTC)


def _salt_of(text: str | None) -> bytes | None:
    try:
        salt = bytes.fromhex(from_json_text(text)) if text else None
    except (ValueError, TypeError):
        return None
    return salt if salt is not None and len(salt) == SALT_BYTES else None


def _salt_or_new(connection: sqlite3.Connection) -> bytes:
    """The stored salt, or a new one stored now (in the writer's transaction, so two processes
    starting together agree on one). A damaged salt row is replaced."""
    row = connection.execute(
        "SELECT output_json FROM node_cache WHERE key = ?", (SALT_KEY,)
    ).fetchone()
    found = _salt_of(row[0] if row else None)
    if found is not None:
        return found
    salt = secrets.token_bytes(SALT_BYTES)
    connection.execute(
        STORE_SQL,
        (SALT_KEY, "", to_json_text(salt.hex()), "", "", to_text(datetime.now(UTC))),
    )
    return salt
