"""The node cache in the SQLite file: runs of the run service reuse cached outputs across
processes' stores, the file keeps no secret value, and a damaged entry is only a miss."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flowdesk.engine import NodeState, RunState
from flowdesk.runs import RunService
from flowdesk.store import Store
from flowdesk.store.cache import SALT_KEY
from tests.conftest import workflow

SECRET = "pa55-W0rd-only-in-memory"


def calls(server) -> list[str]:
    """The paths this module's nodes called, in order. The demo service is shared: a slow
    request of an earlier test may still land in its log after the reset."""
    return [path for path in server.paths() if path.startswith(("/users", "/echo", "/fail"))]


def last_echo(server):
    return [r for r in server.requests if r.path.startswith("/echo")][-1]


def cached_fetch(url: str, name: str = "cached") -> object:
    return workflow(
        {"id": "input", "handler": "input"},
        {
            "id": "fetch",
            "handler": "call_external_service",
            "dependencies": ["input"],
            "config": {
                "url": f"{url}/echo/{{{{ params.user }}}}",
                "headers": {"Authorization": "Bearer {{ secrets.API_TOKEN }}"},
            },
            "cache": True,
        },
        {"id": "out", "handler": "output", "dependencies": ["fetch"]},
        name=name,
    )


def run_once(db: Path, definition, params=None):
    with service_for(db) as service:
        return asyncio.run(service.start(definition, params or {"user": "ada"}).execute())


def service_for(db: Path) -> RunService:
    from flowdesk.engine import HandlerRegistry

    return RunService(HandlerRegistry.default(), db)


@pytest.fixture(autouse=True)
def api_token(monkeypatch) -> None:
    monkeypatch.setenv("FLOWDESK_SECRET_API_TOKEN", SECRET)


def test_a_run_reuses_what_an_earlier_process_cached(tmp_path, server) -> None:
    db = tmp_path / "runs.db"
    definition = cached_fetch(server.url)
    first = run_once(db, definition)
    second = run_once(db, definition)  # a new service and store: nothing kept in memory

    assert calls(server) == ["/echo/ada"]
    assert last_echo(server).headers["authorization"] == f"Bearer {SECRET}"
    fetch = second.nodes["fetch"]
    assert (fetch.state, fetch.cached, fetch.reused_from) == (
        NodeState.REUSED,
        True,
        first.run_id,
    )
    assert second.state is RunState.COMPLETED
    assert second.results["out"]["fetch"]["body"]["path"] == "/echo/ada"
    with service_for(db) as service:  # as the history shows it
        stored = service.load(second.run_id).result.nodes["fetch"]
        assert (stored.state, stored.cached, stored.reused_from) == (
            NodeState.REUSED,
            True,
            first.run_id,
        )
        [entry] = service.cached_outputs()
        assert (entry.node_id, entry.run_id, entry.workflow) == ("fetch", first.run_id, "cached")


def test_the_database_file_holds_no_secret_value(tmp_path, server) -> None:
    db = tmp_path / "runs.db"
    definition = cached_fetch(server.url)
    run_once(db, definition)
    assert run_once(db, definition).nodes["fetch"].state is NodeState.REUSED
    with sqlite3.connect(db) as connection:  # fold the write-ahead log into the file
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    files = [path for path in tmp_path.iterdir() if path.name.startswith("runs.db")]
    contents = b"".join(path.read_bytes() for path in files)
    assert b"/echo/ada" in contents, "the check would see a value that was stored"
    for form in (SECRET.encode(), SECRET.encode("utf-16-le"), SECRET.encode()[:8]):
        assert form not in contents


def test_another_secret_value_misses(tmp_path, server, monkeypatch) -> None:
    db = tmp_path / "runs.db"
    definition = cached_fetch(server.url)
    run_once(db, definition)
    monkeypatch.setenv("FLOWDESK_SECRET_API_TOKEN", SECRET + "-rotated")
    assert run_once(db, definition).nodes["fetch"].state is NodeState.SUCCEEDED
    assert last_echo(server).headers["authorization"] == f"Bearer {SECRET}-rotated"
    assert len(calls(server)) == 2


@pytest.mark.parametrize(
    "damage",
    [
        "UPDATE node_cache SET output_json = '{\"status_code\": 2' WHERE key != 'salt'",
        "UPDATE node_cache SET created_at = 'last tuesday' WHERE key != 'salt'",
        "UPDATE node_cache SET created_at = '2030-01-01T00:00:00' WHERE key != 'salt'",
        "UPDATE node_cache SET output_json = 'not hex at all' WHERE key = 'salt'",
    ],
    ids=["output", "date", "naive-date", "salt"],
)
def test_a_damaged_entry_is_a_miss_and_is_replaced(tmp_path, server, damage: str) -> None:
    db = tmp_path / "runs.db"
    definition = cached_fetch(server.url)
    run_once(db, definition)
    with sqlite3.connect(db) as connection:
        assert connection.execute(damage).rowcount == 1
    damaged = run_once(db, definition)
    assert damaged.state is RunState.COMPLETED
    assert damaged.nodes["fetch"].state is NodeState.SUCCEEDED, "it ran again"
    assert run_once(db, definition).nodes["fetch"].state is NodeState.REUSED, "stored anew"
    assert len(calls(server)) == 2


def test_the_salt_is_made_once_per_database_and_never_listed_or_cleared(tmp_path) -> None:
    db = tmp_path / "runs.db"

    async def salt() -> bytes:
        with Store.open(db) as store:
            return await store.cache.salt()

    first = asyncio.run(salt())
    assert len(first) == 32
    assert asyncio.run(salt()) == first
    assert asyncio.run(salt_of(tmp_path / "other.db")) != first
    with Store.open(db) as store:
        assert store.cache.entries() == []
        assert store.cache.clear() == 0
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT key FROM node_cache").fetchall() == [(SALT_KEY,)]


async def salt_of(db: Path) -> bytes:
    with Store.open(db) as store:
        return await store.cache.salt()


def test_store_lookup_and_clear_by_workflow(tmp_path, server) -> None:
    db = tmp_path / "runs.db"
    run_once(db, cached_fetch(server.url, name="one"))
    run_once(db, cached_fetch(server.url, name="two"), {"user": "grace"})
    with Store.open(db) as store:
        names = sorted(entry.workflow for entry in store.cache.entries())
        assert names == ["one", "two"]
        assert [e.workflow for e in store.cache.entries("two")] == ["two"]
        assert store.cache.clear("nothing of that name") == 0
        assert store.cache.clear("one") == 1
        assert [e.workflow for e in store.cache.entries()] == ["two"]

        async def round_trip():
            moment = datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC)
            await store.cache.store("k" * 64, "transform", {"a": [1, None]}, "run-x", "n", moment)
            return await store.cache.lookup("k" * 64), await store.cache.lookup("z" * 64)

        found, missing = asyncio.run(round_trip())
        assert found == ({"a": [1, None]}, "run-x", datetime(2031, 5, 6, 7, 8, 9, tzinfo=UTC))
        assert missing is None
        assert store.cache.clear() == 2
        assert store.cache.entries() == []
