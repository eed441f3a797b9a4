"""`flowdesk worker`: a Celery worker (prefork) that runs FlowDesk handler calls from the queue.

The handlers it can run are those installed here: the built-ins and the `flowdesk.handlers`
entry-point plugins. Runs are orchestrated by the process that started them (`flowdesk run
--executor celery`, `flowdesk serve --executor celery`, the editor); this process only
executes. Ctrl+C stops it after its running tasks (twice: at once).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from typing import Any

from flowdesk.cli import EXIT_OK, CliError, default_registry
from flowdesk.cli.run import positive_int


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "worker",
        help="execute handler calls of runs started with --executor celery",
        description="A Celery worker for FlowDesk: takes handler calls from the queue on the "
        "broker and runs them with the handlers installed here.",
    )
    add_broker_option(parser)
    parser.add_argument(
        "--concurrency",
        metavar="N",
        type=positive_int,
        default=os.cpu_count() or 1,
        help="worker processes (default: the number of CPUs)",
    )
    add_queue_option(parser)
    parser.add_argument(
        "--name",
        metavar="NAME",
        help="the worker's name, unique among workers (default flowdesk-<pid>@<host>)",
    )
    parser.add_argument(
        "--loglevel",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="Celery's log level (default INFO)",
    )
    parser.set_defaults(handler=worker_command)


def add_broker_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--broker",
        metavar="URL",
        help="Redis broker URL (default: $FLOWDESK_BROKER, else redis://127.0.0.1:6379/0)",
    )


def add_queue_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--queue", metavar="Q", default="flowdesk", help="queue to use (default flowdesk)"
    )


def worker_command(args: argparse.Namespace) -> int:
    from flowdesk.scaleout import (
        BrokerUnreachable,
        HandlerHost,
        ScaleoutSettings,
        broker_url,
        check_broker,
        make_app,
        register_task,
        visibility_timeout_from_env,
    )

    url = broker_url(args.broker)
    try:
        settings = ScaleoutSettings(
            broker_url=url, queue=args.queue, visibility_timeout_s=visibility_timeout_from_env()
        )
        check_broker(url)
    except (BrokerUnreachable, ValueError) as exc:
        raise CliError(str(exc)) from None
    registry = default_registry()  # loaded before the pool forks: every process has it
    app = make_app(settings)
    register_task(app, HandlerHost(registry))
    name = args.name or f"flowdesk-{os.getpid()}@{socket.gethostname()}"
    handlers = ", ".join(spec.name for spec in registry)
    print(
        f"flowdesk: worker {name} on queue '{settings.queue}' at {settings.shown_broker}, "
        f"{args.concurrency} process(es); handlers: {handlers}",
        file=sys.stderr,
        flush=True,
    )
    app.worker_main(
        [
            "worker",
            "--pool=prefork",
            f"--concurrency={args.concurrency}",
            f"--queues={settings.queue}",
            f"--hostname={name}",
            f"--loglevel={args.loglevel}",
            "--without-gossip",
        ]
    )
    return EXIT_OK
