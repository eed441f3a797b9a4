"""The node cache in the engine: a cached node's second execution takes the stored output
(REUSED, cached) instead of calling its handler, and anything its output depends on (config,
inputs, params, a secret's value) makes it run again; `ttl_s` is measured on the run's clock.

The cache here is an in-memory NodeCache; the store's is tested in tests/store/test_cache.py.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from flowdesk.engine import NodeState, RunClock, RunState, run_workflow
from flowdesk.engine.cache import CacheEntry, NullNodeCache, cache_key, secret_digest
from flowdesk.model.secret_refs import ResolvedSecrets
from tests.conftest import workflow


def calls(server) -> list[str]:
    """The paths this module's nodes called, in order. The demo service is shared: a slow
    request of an earlier test may still land in its log after the reset."""
    return [path for path in server.paths() if path.startswith(("/users", "/echo", "/fail"))]


def last_echo(server):
    return [r for r in server.requests if r.path.startswith("/echo")][-1]


class MemoryCache:
    """A NodeCache in a dict; counts lookups and stores."""

    def __init__(self) -> None:
        self.entries: dict[str, CacheEntry] = {}
        self.handlers: dict[str, str] = {}
        self.lookups = 0

    async def salt(self) -> bytes:
        return b"test salt of this cache"

    async def lookup(self, key: str) -> CacheEntry | None:
        self.lookups += 1
        return self.entries.get(key)

    async def store(
        self, key: str, handler: str, output: Any, run_id: str, node_id: str, created_at: datetime
    ) -> None:
        self.entries[key] = CacheEntry(output, run_id, created_at)
        self.handlers[key] = handler


class BrokenCache(MemoryCache):
    """Every read and write fails, as a damaged or locked database would."""

    async def lookup(self, key: str) -> CacheEntry | None:
        raise RuntimeError("database disk image is malformed")

    async def store(self, *args: Any) -> None:
        raise RuntimeError("database is locked")


class SteppedClock(RunClock):
    """A run clock whose time a test sets."""

    def __init__(self, at: datetime) -> None:
        super().__init__()
        self.at = at

    def now(self) -> datetime:
        return self.at


def cached_call(url: str, cache: Any = True, **extra: Any) -> dict[str, Any]:
    return {
        "id": "fetch",
        "handler": "call_external_service",
        "config": {"url": url, **extra},
        "cache": cache,
    }


def run(definition, params=None, **options):
    return asyncio.run(run_workflow(definition, params, **options))


def test_a_second_run_reuses_the_cached_output_without_calling(server) -> None:
    cache = MemoryCache()
    definition = workflow(
        cached_call(f"{server.url}/users/1"),
        {"id": "name", "handler": "transform", "dependencies": ["fetch"],
         "config": {"value": "{{ fetch.body.name }}"}},
    )  # fmt: skip
    first = run(definition, cache=cache)
    second = run(definition, cache=cache)

    assert calls(server) == ["/users/1"], "the second run must not call the service"
    assert first.nodes["fetch"].state is NodeState.SUCCEEDED
    fetch = second.nodes["fetch"]
    assert fetch.state is NodeState.REUSED
    assert fetch.cached is True
    assert fetch.reused_from == first.run_id
    assert fetch.attempts == 0
    assert fetch.output == first.nodes["fetch"].output
    assert fetch.resolved_config == {"url": f"{server.url}/users/1"}
    assert second.state is RunState.COMPLETED
    assert second.nodes["name"].state is NodeState.SUCCEEDED
    assert second.nodes["name"].output == "Ada Lovelace"
    assert list(cache.handlers.values()) == ["call_external_service"]


def test_a_hit_is_reported_as_a_reused_node_event(server) -> None:
    cache = MemoryCache()
    definition = workflow(cached_call(f"{server.url}/users/2"))
    run(definition, cache=cache)
    events: list[Any] = []
    run(definition, cache=cache, listeners=(events.append,))
    finished = [e for e in events if type(e).__name__ == "NodeFinished"]
    assert [(e.node_id, e.state) for e in finished] == [("fetch", NodeState.REUSED)]
    assert finished[0].result.cached


@pytest.mark.parametrize(
    "change",
    ["config", "input", "params", "secret"],
)
def test_what_the_output_depends_on_changing_makes_it_run_again(server, change: str) -> None:
    cache = MemoryCache()

    def definition(query: str, upstream: str):
        return workflow(
            {"id": "source", "handler": "transform", "config": {"value": upstream}},
            {
                "id": "fetch",
                "handler": "call_external_service",
                "dependencies": ["source"],
                "config": {
                    "url": f"{server.url}/echo/x",
                    "query": {"q": query},
                    "headers": {"Authorization": "Bearer {{ secrets.TOKEN }}"},
                },
                "cache": True,
            },
        )

    def execute(query="a", upstream="u", params=None, token="s3cret-one"):
        secrets = ResolvedSecrets({"TOKEN": token})
        return run(definition(query, upstream), params or {}, cache=cache, secrets=secrets)

    execute()
    assert execute().nodes["fetch"].state is NodeState.REUSED  # unchanged: a hit
    changed = {
        "config": lambda: execute(query="b"),
        "input": lambda: execute(upstream="v"),
        "params": lambda: execute(params={"user": 2}),
        "secret": lambda: execute(token="s3cret-two"),
    }[change]()
    assert changed.nodes["fetch"].state is NodeState.SUCCEEDED
    assert len(calls(server)) == 2
    seen = last_echo(server).headers["authorization"]
    assert seen == ("Bearer s3cret-two" if change == "secret" else "Bearer s3cret-one")
    # Its output was stored in turn: the same execution again is a hit.
    again = {"config": {"query": "b"}, "input": {"upstream": "v"},
             "params": {"params": {"user": 2}}, "secret": {"token": "s3cret-two"}}[change]  # fmt: skip
    assert execute(**again).nodes["fetch"].state is NodeState.REUSED
    assert len(calls(server)) == 2


def test_ttl_is_measured_on_the_runs_clock(server) -> None:
    cache = MemoryCache()
    start = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    clock = SteppedClock(start)
    definition = workflow(cached_call(f"{server.url}/users/3", cache={"ttl_s": 3600}))

    assert run(definition, cache=cache, clock=clock).nodes["fetch"].state is NodeState.SUCCEEDED
    clock.at = start + timedelta(minutes=59)
    assert run(definition, cache=cache, clock=clock).nodes["fetch"].state is NodeState.REUSED
    clock.at = start + timedelta(minutes=61)
    expired = run(definition, cache=cache, clock=clock)
    assert expired.nodes["fetch"].state is NodeState.SUCCEEDED
    assert len(calls(server)) == 2
    # The new output is dated by the clock: fresh again from there.
    clock.at = start + timedelta(minutes=61 + 59)
    assert run(definition, cache=cache, clock=clock).nodes["fetch"].state is NodeState.REUSED
    assert len(calls(server)) == 2


def test_a_cache_that_cannot_be_read_or_written_is_a_miss_never_a_failure(server, caplog) -> None:
    definition = workflow(cached_call(f"{server.url}/users/1"))
    for _ in range(2):
        result = run(definition, cache=BrokenCache())
        assert result.state is RunState.COMPLETED
        assert result.nodes["fetch"].state is NodeState.SUCCEEDED
    assert len(calls(server)) == 2
    assert "could not be read" in caplog.text
    assert "database disk image is malformed" in caplog.text


def test_failures_are_not_cached_and_uncached_nodes_never_look(server) -> None:
    cache = MemoryCache()
    failing = workflow(
        cached_call(f"{server.url}/fail"),
        {"id": "plain", "handler": "call_external_service",
         "config": {"url": f"{server.url}/users/1"}},
    )  # fmt: skip
    for _ in range(2):
        assert run(failing, cache=cache).nodes["fetch"].state is NodeState.FAILED
    assert cache.entries == {}
    assert cache.lookups == 2, "only the cached node looks, once per run"
    assert calls(server).count("/users/1") == 2


def test_without_a_cache_a_cached_node_simply_runs(server) -> None:
    definition = workflow(cached_call(f"{server.url}/users/1"))
    for cache in (None, NullNodeCache()):
        assert run(definition, cache=cache).nodes["fetch"].state is NodeState.SUCCEEDED
    assert len(calls(server)) == 2


def test_a_false_cache_is_off(server) -> None:
    cache = MemoryCache()
    definition = workflow(cached_call(f"{server.url}/users/1", cache=False))
    run(definition, cache=cache)
    run(definition, cache=cache)
    assert len(calls(server)) == 2
    assert cache.lookups == 0


def test_the_key_covers_each_part_and_the_salt() -> None:
    base = {
        "salt": b"salt",
        "handler": "transform",
        "config": {"value": 1},
        "inputs": {"a": [1, 2]},
        "params": {"p": "x"},
        "secret_digests": {"TOKEN": "d1"},
        "templates": {"value": "{{ secrets.TOKEN }}"},
    }
    key = cache_key(**base)
    assert len(key) == 64 and key == cache_key(**base)
    assert key == cache_key(**{**base, "config": {"value": 1}, "inputs": {"a": [1, 2]}})
    for part, other in [
        ("salt", b"other salt"),
        ("handler", "output"),
        ("config", {"value": 2}),
        ("inputs", {"a": [2, 1]}),
        ("params", {"p": "y"}),
        ("secret_digests", {"TOKEN": "d2"}),
        ("templates", {"value": "{{ secrets.OTHER }}"}),
    ]:
        assert cache_key(**{**base, part: other}) != key, part


def test_a_secret_digest_depends_on_value_and_salt_and_shows_neither() -> None:
    digest = secret_digest(b"salt", "hunter2")
    assert digest == secret_digest(b"salt", "hunter2")
    assert digest != secret_digest(b"salt", "hunter3")
    assert digest != secret_digest(b"other", "hunter2")
    assert "hunter2" not in digest and len(digest) == 64


def mapped_call(url: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": "users",
        "handler": "call_external_service",
        "map_over": "{{ params.ids }}",
        "config": {"url": url + "/users/{{ item }}"},
        "cache": True,
        **extra,
    }


def test_a_mapped_node_reuses_its_whole_output_for_the_same_list(server) -> None:
    cache = MemoryCache()
    definition = workflow(mapped_call(server.url))
    first = run(definition, {"ids": [1, 2]}, cache=cache)
    second = run(definition, {"ids": [1, 2]}, cache=cache)
    assert sorted(calls(server)) == ["/users/1", "/users/2"]
    users = second.nodes["users"]
    assert (users.state, users.cached, users.reused_from) == (
        NodeState.REUSED,
        True,
        first.run_id,
    )
    assert [user["body"]["name"] for user in users.output] == ["Ada Lovelace", "Grace Hopper"]
    assert users.output == first.nodes["users"].output

    other = run(definition, {"ids": [2, 1]}, cache=cache)  # another list: another key
    assert other.nodes["users"].state is NodeState.SUCCEEDED
    assert len(calls(server)) == 4


def test_a_mapped_node_with_a_failed_item_is_not_cached(server) -> None:
    cache = MemoryCache()
    definition = workflow(mapped_call(server.url, on_item_failure="skip"))
    for _ in range(2):
        result = run(definition, {"ids": [1, 999]}, cache=cache)
        assert result.nodes["users"].state is NodeState.SUCCEEDED
        assert result.nodes["users"].output[1] is None
    assert cache.entries == {}
    assert len(calls(server)) == 4
