"""What a node's `cache` field means: off, on, or on with a maximum age (`{"ttl_s": N}`).

The field loads whatever JSON it holds, so validation can name a bad value together with every
other problem; `cache_policy` is the one reading of it, for validation and for the engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MAX_TTL_S = 10 * 365 * 86_400.0
"""Ten years: larger values are surely a mistake (milliseconds typed as seconds)."""


@dataclass(frozen=True)
class CachePolicy:
    """The node may take the output of an earlier execution with the same inputs."""

    ttl_s: float | None = None
    """How old (in seconds) a cached output may be; None: any age."""


class InvalidCacheValue(ValueError):
    """The node's `cache` is neither a boolean nor `{"ttl_s": seconds}`."""


def cache_policy(value: Any) -> CachePolicy | None:
    """The policy `value` (a node's `cache`) asks for; None when the node is not cached.

    Raises InvalidCacheValue saying what is wrong with it."""
    if value is None or value is False:
        return None
    if value is True:
        return CachePolicy()
    if not isinstance(value, dict):
        raise InvalidCacheValue(
            f'cache must be true, false or {{"ttl_s": seconds}}, not {_shown(value)}'
        )
    unknown = sorted(str(key) for key in value if key != "ttl_s")
    if unknown:
        raise InvalidCacheValue(
            f"unknown key(s) in cache: {', '.join(unknown)} (only ttl_s is known)"
        )
    ttl = value.get("ttl_s")
    if ttl is None:
        return CachePolicy()
    if isinstance(ttl, bool) or not isinstance(ttl, int | float):
        raise InvalidCacheValue(f"cache.ttl_s must be a number of seconds, not {_shown(ttl)}")
    if not 0 < ttl <= MAX_TTL_S:  # also refuses NaN
        raise InvalidCacheValue(
            f"cache.ttl_s must be more than 0 and at most {MAX_TTL_S:,.0f} seconds, not {ttl}"
        )
    return CachePolicy(float(ttl))


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"
