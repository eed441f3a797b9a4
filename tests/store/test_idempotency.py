"""Idempotency keys in the store: kept at least a day, taken over from a dead process, upgraded."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta

from storetools import dead_identity

from flowdesk.store import KeyState, Store
from flowdesk.store.idempotency import IdempotencyRepository
from flowdesk.store.tables import SCHEMA_VERSION


def test_an_answer_is_kept_a_day_then_forgotten(tmp_path) -> None:
    now = [datetime(2026, 1, 1, tzinfo=UTC)]
    with Store.open(tmp_path / "keys.db") as store:
        keys = IdempotencyRepository(store.writer, store.identity, clock=lambda: now[0])

        async def scenario() -> list[KeyState]:
            seen = [(await keys.reserve("k", "f1")).state]
            await keys.complete("k", 201, '{"execution_id": "a"}')
            now[0] += timedelta(hours=23, minutes=59)
            replay = await keys.reserve("k", "f1")
            assert (replay.status_code, replay.response_json) == (201, '{"execution_id": "a"}')
            seen += [replay.state, (await keys.reserve("k", "f2")).state]
            now[0] += timedelta(hours=1)
            seen.append((await keys.reserve("k", "f2")).state)  # expired: a new request
            return seen

        assert asyncio.run(scenario()) == [
            KeyState.RESERVED,
            KeyState.REPLAY,
            KeyState.MISMATCH,
            KeyState.RESERVED,
        ]
        now[0] += timedelta(days=2)
        assert keys.purge() == 1


def test_a_reservation_of_a_dead_process_is_taken_over(tmp_path) -> None:
    path = tmp_path / "keys.db"
    with Store.open(path) as store:
        asyncio.run(store.idempotency.reserve("k", "f"))
        assert asyncio.run(store.idempotency.reserve("k", "f")).state is KeyState.IN_PROGRESS
        gone = dead_identity()
        with closing(sqlite3.connect(path)) as connection, connection:
            connection.execute(
                "UPDATE idempotency_keys SET owner_pid = ?, owner_token = ?",
                (gone.pid, gone.start_token),
            )
        assert asyncio.run(store.idempotency.reserve("k", "f")).state is KeyState.RESERVED


def test_a_version_2_file_gets_the_keys_table(tmp_path) -> None:
    path = tmp_path / "v2.db"
    with Store.open(path):
        pass
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("DROP TABLE idempotency_keys")
        connection.execute("PRAGMA user_version = 2")
        connection.commit()
    with Store.open(path) as store:
        assert asyncio.run(store.idempotency.reserve("k", "f")).state is KeyState.RESERVED
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
