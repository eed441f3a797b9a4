"""Idempotency keys of the REST API: the first answer to a request, kept for a retry to get again.

A key is reserved by the process answering the request (one transaction, so two requests
with the same key cannot both do the work), then completed with the answer. A reservation
whose process died is taken over; rows older than RETENTION no longer count and are purged.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from flowdesk.store.codec import from_text, to_text, utc_now
from flowdesk.store.owner import ProcessIdentity, is_alive
from flowdesk.store.writer import Writer

RETENTION = timedelta(hours=24)
"""How long a key keeps its answer (at least; the issue asks for 24 h)."""
PURGE_EVERY_S = 3600.0


class KeyState(StrEnum):
    RESERVED = "reserved"
    """Nobody used the key (or its holder died): the caller does the work, then completes it."""
    REPLAY = "replay"
    """The key answered this same request before: send that answer again."""
    MISMATCH = "mismatch"
    """The key was used for another request."""
    IN_PROGRESS = "in-progress"
    """The first request with this key is still being answered."""


@dataclass(frozen=True)
class KeyOutcome:
    state: KeyState
    status_code: int | None = None
    response_json: str | None = None


class IdempotencyRepository:
    def __init__(
        self,
        writer: Writer,
        identity: ProcessIdentity,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._writer = writer
        self._identity = identity
        self._clock = clock
        self._purged_at: float | None = None

    async def reserve(self, key: str, fingerprint: str) -> KeyOutcome:
        """Reserve `key` for the request whose fingerprint is given, or say why not."""
        now = self._clock()
        identity = self._identity
        if self._purged_at is None or time.monotonic() - self._purged_at > PURGE_EVERY_S:
            self._purged_at = time.monotonic()
            await self._writer.call_async(lambda connection: _purge(connection, now))

        def reserve(connection: sqlite3.Connection) -> KeyOutcome:
            row = connection.execute(
                "SELECT fingerprint, status_code, response_json, owner_pid, owner_token, "
                "owner_host, created_at FROM idempotency_keys WHERE key = ?",
                (key,),
            ).fetchone()
            if row is not None and not _expired(row[6], now):
                stored, status_code, response_json, pid, token, host, _ = row
                if stored != fingerprint:
                    return KeyOutcome(KeyState.MISMATCH)
                if status_code is not None:
                    return KeyOutcome(KeyState.REPLAY, status_code, response_json)
                holder = ProcessIdentity(pid, token, host or "")
                if pid is not None and is_alive(holder, here=identity):
                    return KeyOutcome(KeyState.IN_PROGRESS)
            connection.execute(
                "INSERT OR REPLACE INTO idempotency_keys (key, fingerprint, status_code, "
                "response_json, owner_pid, owner_token, owner_host, created_at) "
                "VALUES (?, ?, NULL, NULL, ?, ?, ?, ?)",
                (key, fingerprint, identity.pid, identity.start_token, identity.host, to_text(now)),
            )
            return KeyOutcome(KeyState.RESERVED)

        return await self._writer.call_async(reserve)

    async def complete(self, key: str, status_code: int, response_json: str) -> None:
        """Keep the answer to the request that reserved `key`."""
        await self._writer.call_async(
            lambda connection: connection.execute(
                "UPDATE idempotency_keys SET status_code = ?, response_json = ? WHERE key = ?",
                (status_code, response_json, key),
            )
        )

    async def release(self, key: str) -> None:
        """Forget a reservation whose request failed on our side, so a retry does the work."""
        await self._writer.call_async(
            lambda connection: connection.execute(
                "DELETE FROM idempotency_keys WHERE key = ? AND status_code IS NULL", (key,)
            )
        )

    def purge(self) -> int:
        """Delete keys older than RETENTION; how many went."""
        return int(self._writer.call(lambda connection: _purge(connection, self._clock())))


def _expired(created_at: str, now: datetime) -> bool:
    moment = from_text(created_at)
    return moment is None or now - moment > RETENTION


def _purge(connection: sqlite3.Connection, now: datetime) -> int:
    cursor = connection.execute(
        "DELETE FROM idempotency_keys WHERE created_at < ?", (to_text(now - RETENTION),)
    )
    return cursor.rowcount
