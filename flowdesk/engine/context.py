"""What a running handler can see: its node, the run's params, upstream outputs, shared clients."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx


class HandlerError(Exception):
    """A handler failed in a way the user should read as is (no traceback)."""


class RunResources:
    """Clients shared by every node of one run, created on first use and closed with the run."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._transport = transport
        self._http: httpx.AsyncClient | None = None

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = self._make_client()
        return self._http

    async def open_http(self) -> None:
        """Create the client in a worker thread: loading TLS certificates takes ~50 ms, which
        would otherwise stall the event loop (and the editor) at the first request."""
        if self._http is None:
            client = await asyncio.to_thread(self._make_client)
            if self._http is None:
                self._http = client
            else:  # pragma: no cover - a handler created one meanwhile
                await client.aclose()

    def _make_client(self) -> httpx.AsyncClient:
        transport = self._transport
        if transport is None and os.environ.get("FLOWDESK_HTTP_TRANSPORT", "aiohttp") != "httpx":
            from flowdesk.engine.transport import AiohttpTransport  # imported only when needed

            transport = AiohttpTransport()
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=100)
        return httpx.AsyncClient(transport=transport, limits=limits, follow_redirects=True)

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


@dataclass(slots=True)  # not frozen: a frozen dataclass costs ~1 µs more per node to build
class NodeContext:
    run_id: str
    node_id: str
    attempt: int
    params: Mapping[str, Any]
    resources: RunResources
    dependencies: Sequence[str]
    outputs: Mapping[str, Any]
    """Every output of the run so far: `inputs` picks the direct dependencies' from it when a
    handler asks (most never do; a node with 50 dependencies paid ~5 µs for it up front)."""

    @property
    def inputs(self) -> dict[str, Any]:
        """Outputs of the node's direct dependencies, keyed by node id."""
        return {dep: self.outputs[dep] for dep in self.dependencies}

    @property
    def http(self) -> httpx.AsyncClient:
        return self.resources.http
