"""The node cache (`"cache": true` on a node): the protocol a store implements, and the key.

A cached node's key is an HMAC, under the cache's own random salt, of everything its output
depends on: its handler, its resolved config (masked, plus its templates when it reads
secrets), the run's params (handlers such as `python` and `input` read them) and its direct
dependencies' outputs. A node with `map_over` is keyed by its raw config and its resolved list
instead of a resolved config. Secret values enter the key only as scrypt digests under the
same salt: the store keeps the key and never a value, and a weak secret cannot be guessed from
a key at the speed of a plain hash. The engine finds an entry before calling the handler and
stores one when the node SUCCEEDED (`WorkflowRun._run_node`); it knows no SQL.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol

from flowdesk.engine.clock import RunClock
from flowdesk.engine.results import NodeResult
from flowdesk.engine.states import NodeState
from flowdesk.model.node_cache import CachePolicy, InvalidCacheValue, cache_policy
from flowdesk.model.secret_refs import ResolvedSecrets

log = logging.getLogger(__name__)

KEY_VERSION = 1
"""Part of every key: a change to what a key covers makes old entries misses, never wrong hits."""
SCRYPT_COST = {"n": 2**14, "r": 8, "p": 1, "maxmem": 64 * 2**20}
"""About 16 MB and tens of milliseconds per secret and run: cheap once, costly per guess."""


class CacheEntry(NamedTuple):
    """A stored output: what the node produced, in which run, and when (UTC)."""

    output: Any
    run_id: str
    created_at: datetime


class NodeCache(Protocol):
    """Where cached outputs live (the store's `node_cache` table). Only keys are given to it:
    it never sees a config, an input or a secret."""

    async def salt(self) -> bytes:
        """Random bytes of this cache's own (one per database), made on first use: the HMAC
        key of every cache key and the salt of every secret's digest."""
        ...

    async def lookup(self, key: str) -> CacheEntry | None:
        """The entry stored under `key`; None when there is none or it cannot be read (a
        damaged entry is a miss, never an error)."""
        ...

    async def store(
        self,
        key: str,
        handler: str,
        output: Any,
        run_id: str,
        node_id: str,
        created_at: datetime,
    ) -> None:
        """Keep `output` under `key`, replacing any older entry; raises when it cannot (the
        engine logs that and goes on: a cache that cannot be written is only slower)."""
        ...


class NullNodeCache:
    """No cache: every lookup misses and nothing is kept (runs without a store)."""

    async def salt(self) -> bytes:
        return b""

    async def lookup(self, key: str) -> CacheEntry | None:
        return None

    async def store(
        self,
        key: str,
        handler: str,
        output: Any,
        run_id: str,
        node_id: str,
        created_at: datetime,
    ) -> None:
        return None


def complete_success(result: NodeResult) -> bool:
    """Whether a node's output is worth caching: it SUCCEEDED, and if it mapped items, every
    item did (an output with a failed item's null would keep that failure for good)."""
    if result.state is not NodeState.SUCCEEDED:
        return False
    return result.items is None or all(item.state is NodeState.SUCCEEDED for item in result.items)


def cache_key(
    salt: bytes,
    handler: str,
    config: Any,
    inputs: Mapping[str, Any],
    params: Mapping[str, Any],
    secret_digests: Mapping[str, str] | None = None,
    templates: Any = None,
) -> str:
    """The key of a node's output: HMAC-SHA256 under `salt` of canonical JSON of the rest.

    `config` is the resolved config with secret values masked (or, for a `map_over` node,
    its raw config and resolved list); `secret_digests` maps each secret the node reads to
    `secret_digest` of its value, and `templates` is the raw config when there are any (the
    masked config alone cannot tell which secret went where)."""
    material = {
        "v": KEY_VERSION,
        "handler": handler,
        "config": config,
        "inputs": inputs,
        "params": params,
        "secrets": dict(secret_digests or {}),
        "templates": templates,
    }
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(salt, text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()


def secret_digest(salt: bytes, value: str) -> str:
    """scrypt of a secret value under the cache's salt: changes with the value, and each guess
    at a low-entropy secret costs as much as computing it once."""
    return hashlib.scrypt(value.encode("utf-8"), salt=salt or b"\0", dklen=32, **SCRYPT_COST).hex()


class RunCache:
    """One run's use of a NodeCache: finds entries for cached nodes and keeps their outputs.

    Keys are computed on a worker thread (inputs may be megabytes, a secret's digest takes
    tens of milliseconds), each secret's digest once per run. A node whose lookup missed is
    remembered until it ends: `keep` stores its output if it SUCCEEDED."""

    def __init__(
        self,
        cache: NodeCache | None,
        clock: RunClock,
        secrets: ResolvedSecrets | None = None,
    ) -> None:
        self._cache: NodeCache = cache or NullNodeCache()
        self.enabled = cache is not None and not isinstance(cache, NullNodeCache)
        self._clock = clock
        self._secrets = dict(secrets.values) if secrets else {}
        self._digests: dict[str, str] = {}
        self._salt: bytes | None = None
        self._missed: dict[str, tuple[str, str]] = {}
        """Node id -> (key, handler) of a node that looked and found nothing."""

    def policy(self, raw: Any) -> CachePolicy | None:
        """The node's policy, or None when the node is not cached (or there is no cache)."""
        if not self.enabled or raw is None:
            return None
        try:
            return cache_policy(raw)
        except InvalidCacheValue:  # validation refuses it before a run; never cache on a guess
            return None

    async def find(
        self,
        node_id: str,
        handler: str,
        raw_cache: Any,
        config: Any,
        inputs: Mapping[str, Any],
        params: Mapping[str, Any],
        secret_names: frozenset[str],
        templates: Any = None,
    ) -> CacheEntry | None:
        """The usable entry for this execution of the node, or None (it then runs, and `keep`
        stores its output). An entry older than the node's `ttl_s` by the run's clock, or one
        the cache cannot read, is a miss; so is any failure of the cache itself (logged)."""
        policy = self.policy(raw_cache)
        if policy is None:
            return None
        try:
            salt = await self._get_salt()
            digests = await self._secret_digests(salt, secret_names)
            key = await asyncio.to_thread(
                cache_key,
                salt,
                handler,
                config,
                inputs,
                params,
                digests,
                templates if secret_names else None,
            )
            entry = await self._cache.lookup(key)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("node '%s': the cache could not be read (%s); running it", node_id, exc)
            return None
        self._missed[node_id] = (key, handler)
        if entry is None or not self._fresh(entry, policy):
            return None
        del self._missed[node_id]
        return entry

    def waiting(self, node_id: str) -> bool:
        """Whether the node looked in the cache and missed (its outcome is still to be kept)."""
        return node_id in self._missed

    async def keep(self, node_id: str, output: Any, run_id: str, succeeded: bool) -> None:
        """Store the output of a node that missed, if it succeeded; never raises."""
        key, handler = self._missed.pop(node_id, (None, ""))
        if key is None or not succeeded:
            return
        try:
            await self._cache.store(key, handler, output, run_id, node_id, self._clock.now())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("node '%s': its output was not cached (%s)", node_id, exc)

    def _fresh(self, entry: CacheEntry, policy: CachePolicy) -> bool:
        if policy.ttl_s is None:
            return True
        try:
            age = self._clock.now() - entry.created_at
        except TypeError:  # a naive time from a hand-edited entry: unreadable, so a miss
            return False
        return timedelta(0) <= age <= timedelta(seconds=policy.ttl_s)

    async def _get_salt(self) -> bytes:
        if self._salt is None:
            self._salt = await self._cache.salt()
        return self._salt

    async def _secret_digests(self, salt: bytes, names: frozenset[str]) -> dict[str, str]:
        """name -> digest of the value of each secret the node reads (a secret that is not set
        cannot get here: its template failed the node)."""
        for name in names - self._digests.keys():
            value = self._secrets.get(name)
            if value is not None:
                self._digests[name] = await asyncio.to_thread(secret_digest, salt, value)
        return {name: self._digests[name] for name in sorted(names) if name in self._digests}
