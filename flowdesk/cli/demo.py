"""`flowdesk demo-server`: the local demo service the bundled examples call."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from flowdesk.cli import EXIT_OK, CliError
from flowdesk.demo import DEFAULT_PORT, DemoServer


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "demo-server", help="serve the demo HTTP endpoints the examples use, on 127.0.0.1"
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})"
    )
    parser.set_defaults(handler=run_demo_server)


def run_demo_server(args: argparse.Namespace) -> int:
    try:
        server = DemoServer(port=args.port)
    except OSError as exc:
        raise CliError(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}") from None
    print(f"FlowDesk demo service on {server.url} (Ctrl+C to stop)", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return EXIT_OK
