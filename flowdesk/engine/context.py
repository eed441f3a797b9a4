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


class NodeLog:
    """What a node's handler wrote for the user to read (a `python` node's prints and
    tracebacks), kept with the node run. Bounded: past `max_chars` the rest is dropped, saying
    so, so a chatty loop cannot fill memory or the store."""

    __slots__ = ("_dropped", "_parts", "_size", "max_chars")

    def __init__(self, max_chars: int = 1_000_000) -> None:
        self.max_chars = max_chars
        self._parts: list[str] = []
        self._size = 0
        self._dropped = 0

    def write(self, text: str) -> None:
        room = self.max_chars - self._size
        if len(text) > room:
            self._dropped += len(text) - max(room, 0)
            text = text[: max(room, 0)]
        if text:
            self._parts.append(text)
            self._size += len(text)

    def text(self) -> str | None:
        """Everything written, or None when nothing was."""
        if not self._parts and not self._dropped:
            return None
        tail = f"\n[log cut: {self._dropped:,} more characters]\n" if self._dropped else ""
        return "".join(self._parts) + tail


class RunResources:
    """Clients shared by every node of one run, created on first use and closed with the run."""

    def __init__(
        self, transport: httpx.AsyncBaseTransport | None = None, max_processes: int | None = None
    ) -> None:
        self._transport = transport
        self._http: httpx.AsyncClient | None = None
        self._max_processes = max_processes or max(2, os.cpu_count() or 2)
        self._process_slots: asyncio.Semaphore | None = None

    @property
    def process_slots(self) -> asyncio.Semaphore:
        """The run's small pool of child processes (`python` nodes): at most this many at once,
        the others wait their turn."""
        if self._process_slots is None:
            self._process_slots = asyncio.Semaphore(self._max_processes)
        return self._process_slots

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
    log: NodeLog | None = None
    """Where the handler writes text for the user (the node's log); None when nobody keeps
    one (`write_log` then drops the text)."""
    item_index: int | None = None
    """The item this call is for, in a node with `map_over` (None otherwise): an executor
    that names its calls tells the items of one node apart by it."""

    def write_log(self, text: str) -> None:
        if self.log is not None and text:
            self.log.write(text)

    @property
    def inputs(self) -> dict[str, Any]:
        """Outputs of the node's direct dependencies, keyed by node id (None for one that did
        not succeed: a join rule let the node run without it)."""
        return {dep: self.outputs.get(dep) for dep in self.dependencies}

    @property
    def http(self) -> httpx.AsyncClient:
        return self.resources.http
