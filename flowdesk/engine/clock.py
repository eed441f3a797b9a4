"""The time and chance a run uses (backoff, cache ages), behind one seam so tests need not wait.

A WorkflowRun takes `clock=`; the default is the real one. A test passes a clock whose
`sleep` records the delay and returns at once and whose random source is seeded, so a
retry with a 10 s backoff is checked to the millisecond in milliseconds of real time.
"""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime


class RunClock:
    """Asyncio sleeps and a random source for backoff jitter (the real ones by default)."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self.random = rng or random.Random()
        """Jitter comes from here: pass `random.Random(seed)` for repeatable delays."""

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` (cancellable, like any await)."""
        await asyncio.sleep(seconds)

    def now(self) -> datetime:
        """The time (UTC) that cached outputs are dated with and their age is measured by: a
        test passes a clock whose `now` it moves, instead of waiting for an entry to expire."""
        return datetime.now(UTC)
