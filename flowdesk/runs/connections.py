"""One HTTP connection pool for every run of a long-lived process (the REST API's server).

Each run opens its own httpx client and closes it at its end, which closes the client's
transport. A server running many small runs against the same services then opens and
closes connections all day (three per run of the seed example). Handed to the run service
as its transport, this pool outlives the runs: they keep its connections alive between them,
and its owner closes it once.
"""

from __future__ import annotations

import httpx


class SharedConnections(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        from flowdesk.engine.transport import AiohttpTransport  # aiohttp: only when used

        self._pool = AiohttpTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._pool.handle_async_request(request)

    async def aclose(self) -> None:
        """A run's client closing: the pool stays open for the next run."""

    async def close(self) -> None:
        """Close every connection (the server is stopping)."""
        await self._pool.aclose()
