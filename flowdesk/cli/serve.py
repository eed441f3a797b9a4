"""`flowdesk serve`: the REST API, a FastAPI app served by uvicorn in this process.

Runs execute on the engine in the server's event loop and are recorded in the same store as
the editor's and the command line's (`--db`, FLOWDESK_DB, the default file). Ctrl+C or
SIGTERM cancels the runs in flight and exits 0.
"""

from __future__ import annotations

import argparse
import os
import sys
from contextlib import closing
from typing import Any

from flowdesk.cli import EXIT_OK, CliError
from flowdesk.cli.run import add_db_option, open_service, positive_int

TOKEN_ENV = "FLOWDESK_API_TOKEN"
DEFAULT_PORT = 8000
DEFAULT_MAX_RUNS = 32


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "serve",
        help="serve the REST API: create, trigger, follow and fetch executions over HTTP",
        description="Serve the REST API on the run service; docs at /docs, schema at "
        "/openapi.json. Runs are recorded in the same database as the editor's.",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1; any other address needs a token)",
    )
    parser.add_argument(
        "--port",
        type=port_number,
        default=DEFAULT_PORT,
        help=f"port to listen on (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    add_db_option(parser)
    parser.add_argument(
        "--token",
        metavar="T",
        help=f"require 'Authorization: Bearer T' on every endpoint but /healthz "
        f"(default: ${TOKEN_ENV})",
    )
    parser.add_argument(
        "--max-concurrency",
        metavar="N",
        type=positive_int,
        default=DEFAULT_MAX_RUNS,
        help=f"executions running at once; later triggers wait their turn (default "
        f"{DEFAULT_MAX_RUNS})",
    )
    from flowdesk.cli.executors import add_executor_options

    add_executor_options(parser)
    parser.set_defaults(handler=serve_command)


def port_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be between 0 and 65535")
    return value


def serve_command(args: argparse.Namespace) -> int:
    from flowdesk.api import (
        ApiServer,
        PortInUseError,
        configure_api_logging,
        create_app,
        is_loopback,
        listen,
    )

    token = args.token or os.environ.get(TOKEN_ENV) or None
    if not token and not is_loopback(args.host):
        raise CliError(
            f"refusing to serve on {args.host} without a token: give --token T or set "
            f"{TOKEN_ENV} (or serve on 127.0.0.1)"
        )
    try:
        sock = listen(args.host, args.port)
    except PortInUseError:
        raise CliError(
            f"port {args.port} on {args.host} is already in use; choose another with --port"
        ) from None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise CliError(f"cannot listen on {args.host} port {args.port}: {reason}") from None
    from flowdesk.cli.executors import open_executor

    with (
        closing(sock),
        open_executor(args) as executor,
        open_service(
            args.db, executor=executor, max_active_runs=args.max_concurrency, share_connections=True
        ) as service,
    ):
        service.store  # noqa: B018 - open it now: a bad database stops us before serving
        configure_api_logging()
        app = create_app(service, token=token)
        host, port = sock.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        print(
            f"flowdesk: serving http://{shown}:{port} (database {service.db_path}); Ctrl+C stops",
            file=sys.stderr,
            flush=True,
        )
        ApiServer.for_app(app).run(sockets=[sock])
    return EXIT_OK
