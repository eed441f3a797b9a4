"""`--executor local|celery`, `--broker URL`, `--worker-wait S`: where the handler calls of a
command's runs execute. Shared by `flowdesk run` and `flowdesk serve`."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from flowdesk.cli import CliError
from flowdesk.cli.worker import add_broker_option, add_queue_option

if TYPE_CHECKING:
    from flowdesk.engine import Executor

DEFAULT_WORKER_WAIT_S = 30.0


def add_executor_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--executor",
        choices=["local", "celery"],
        default="local",
        help="where handlers run: in this process (default) or on `flowdesk worker`s",
    )
    add_broker_option(parser)
    add_queue_option(parser)
    parser.add_argument(
        "--worker-wait",
        metavar="S",
        type=positive_seconds,
        default=DEFAULT_WORKER_WAIT_S,
        help="with --executor celery: how long a node waits for a live worker before it fails "
        f"(default {DEFAULT_WORKER_WAIT_S:g})",
    )


def positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value


@contextmanager
def open_executor(args: argparse.Namespace) -> Iterator[Executor | None]:
    """None for --executor local; else a Celery executor whose broker answered (CliError,
    exit 2, naming the URL, before anything is recorded or run), closed at the end."""
    if args.executor != "celery":
        if args.broker:
            raise CliError("--broker is for --executor celery (handlers run in this process)")
        yield None
        return
    from flowdesk.scaleout import (
        BrokerUnreachable,
        CeleryExecutor,
        ScaleoutSettings,
        broker_url,
        visibility_timeout_from_env,
    )

    try:
        settings = ScaleoutSettings(
            broker_url=broker_url(args.broker),
            queue=args.queue,
            worker_wait_s=args.worker_wait,
            visibility_timeout_s=visibility_timeout_from_env(),
        )
        executor = CeleryExecutor(settings)
        executor.check()
    except (BrokerUnreachable, ValueError) as exc:
        raise CliError(str(exc)) from None
    executor.start()
    try:
        yield executor
    finally:
        executor.close()
