"""Runs submitted to execute on the running event loop: at most N at once, the rest wait in order.

A long-lived front-end (the REST API) accepts every trigger at once and lets this queue
hold the runs beyond its limit, instead of refusing them or starting them all together.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flowdesk.runs.service import RunHandle

log = logging.getLogger(__name__)


class RunQueue:
    """Executes handles on the loop of the first `submit`; `limit` None means no limit."""

    def __init__(self, limit: int | None = None) -> None:
        if limit is not None and limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self._waiting: deque[RunHandle] = deque()
        self._running: dict[str, tuple[RunHandle, asyncio.Task[None]]] = {}

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def running(self) -> int:
        return len(self._running)

    def submit(self, handle: RunHandle) -> None:
        """Execute `handle` as soon as a slot is free (now, when one is)."""
        self._waiting.append(handle)
        self._pump()

    def cancel(self, run_id: str) -> bool:
        """Cancel a run executing or waiting here; False when it is neither.

        A waiting run starts at once, beyond the limit: cancelled before it starts, it
        only records itself CANCELLED, so nobody waits for a slot to see that happen.
        """
        for handle in self._waiting:
            if handle.run_id == run_id:
                self._waiting.remove(handle)
                handle.cancel()
                self._start(handle)
                return True
        if run_id not in self._running:
            return False
        self._running[run_id][0].cancel()
        return True

    async def stop(self) -> None:
        """Cancel every run here, waiting or executing, and wait until each has recorded its end."""
        while self._waiting:
            handle = self._waiting.popleft()
            handle.cancel()
            self._start(handle)
        for handle, _ in self._running.values():
            handle.cancel()
        while self._running:
            tasks = [task for _, task in self._running.values()]
            await asyncio.gather(*tasks, return_exceptions=True)

    def _pump(self) -> None:
        while self._waiting and (self.limit is None or len(self._running) < self.limit):
            self._start(self._waiting.popleft())

    def _start(self, handle: RunHandle) -> None:
        task = asyncio.get_running_loop().create_task(self._execute(handle))
        self._running[handle.run_id] = (handle, task)

    async def _execute(self, handle: RunHandle) -> None:
        try:
            await handle.execute()
        except Exception:  # the run could not start (its claim refused, the store failing)
            log.exception("run %s could not be executed", handle.run_id)
        finally:
            del self._running[handle.run_id]
            self._pump()
