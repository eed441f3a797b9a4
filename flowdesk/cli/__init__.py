"""The `flowdesk` command line: one module per command; this one holds what they share.

The same engine as the editor, and no Qt import unless the editor opens.

Exit codes: 0 success (or the run COMPLETED), 1 the run ended FAILED or
CANCELLED, 2 bad input (a store that cannot be used included), with a one-line
reason on stderr and no traceback; 3 only for a bug in FlowDesk itself.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from flowdesk import __version__
from flowdesk.logs import configure_logging
from flowdesk.model import (
    WorkflowDefinition,
    WorkflowLoadError,
    load_workflow,
)

if TYPE_CHECKING:
    from flowdesk.engine import HandlerRegistry

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3


class CliError(Exception):
    """Bad input: printed on stderr (one line per problem), exit code 2."""

    def __init__(self, message: str, *, prefixed: bool = True) -> None:
        super().__init__(message)
        self.prefixed = prefixed


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowdesk", description="Draw, check and run DAG workflows locally."
    )
    parser.add_argument("--version", action="version", version=f"flowdesk {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    from flowdesk.cli import broker, cache, demo, gui, run, runs, secrets, serve, validate, worker

    for command in (gui, validate, run, runs, cache, secrets, serve, worker, broker, demo):
        command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    configure_logging()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            args = parser.parse_args(["gui", *(argv or [])])
        return int(args.handler(args))
    except CliError as exc:
        print(f"flowdesk: {exc}" if exc.prefixed else str(exc), file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("flowdesk: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`flowdesk runs show X | head`): not an error worth a message.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:
        if os.environ.get("FLOWDESK_DEBUG"):
            raise
        print(
            f"flowdesk: internal error: {type(exc).__name__}: {exc} "
            "(set FLOWDESK_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def read_workflow(path: str) -> WorkflowDefinition:
    """Load a file or raise CliError with every problem, one per line, prefixed by the path."""
    try:
        return load_workflow(path)
    except WorkflowLoadError as exc:
        lines = "\n".join(f"{path}: {problem}" for problem in exc.problems)
        raise CliError(lines, prefixed=False) from None


def default_registry() -> HandlerRegistry:
    """Built-ins and installed plugins; imported here so `flowdesk --help` stays quick."""
    from flowdesk.engine import HandlerRegistry

    return HandlerRegistry.default()


if __name__ == "__main__":
    sys.exit(main())
