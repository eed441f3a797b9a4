"""Serving the app with uvicorn: the listening socket, and a shutdown that ends runs first.

On Ctrl+C or SIGTERM the server stops accepting, cancels the runs in flight (they are
recorded CANCELLED, never left RUNNING), lets the connections finish (event streams end
with their runs) and returns normally, so `flowdesk serve` exits 0.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import signal
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator

import uvicorn
from fastapi import FastAPI

GRACEFUL_SHUTDOWN_S = 5.0
"""How long connections may take to finish once the runs are stopped."""


class PortInUseError(OSError):
    """Another process listens on the port."""


def is_loopback(host: str) -> bool:
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: any free port); PortInUseError, OSError."""
    infos = socket.getaddrinfo(
        host.strip("[]"), port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT, not a listener
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        if exc.errno != errno.EADDRINUSE:
            raise
        raise PortInUseError(exc.errno, f"port {port} on {host} is already in use") from None
    return sock


def config(app: object) -> uvicorn.Config:
    """uvicorn's settings for us: our logging (no access log), our signal handling."""
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=int(GRACEFUL_SHUTDOWN_S),
    )


class ApiServer(uvicorn.Server):
    """uvicorn's server whose shutdown first stops accepting and awaits `stop_runs`."""

    def __init__(self, config: uvicorn.Config, stop_runs: Callable[[], Awaitable[None]]) -> None:
        super().__init__(config)
        self._stop_runs = stop_runs

    @classmethod
    def for_app(cls, app: FastAPI) -> ApiServer:
        """A server for an app made by `create_app`: our logging, our shutdown."""
        return cls(config(app), app.state.api.stop)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in getattr(self, "servers", []):
            server.close()  # stop accepting before the runs are cancelled
        await self._stop_runs()
        await super().shutdown(sockets=sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """SIGINT and SIGTERM start a graceful shutdown. Unlike uvicorn's, the signal is not
        raised again afterwards: a server that shut down cleanly exits 0."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
