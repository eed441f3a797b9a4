"""`flowdesk run FILE`: run a workflow headless with live progress, or one JSON object.

Every run is recorded in the store (`--db PATH`, `FLOWDESK_DB`, or the user data
directory); with `--idempotency-key K` a second call returns the first run. `--from NODE`
runs from that node, reusing every other node's stored output (`RunService.start_from`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flowdesk.cli import (
    EXIT_OK,
    EXIT_RUN_FAILED,
    CliError,
    default_registry,
    read_workflow,
)
from flowdesk.cli.progress import progress_listener
from flowdesk.engine import (
    DEFAULT_MAX_CONCURRENCY,
    InvalidWorkflowError,
    Listener,
    RunResult,
    RunState,
)
from flowdesk.model.loading import UnsupportedJsonError, read_json

if TYPE_CHECKING:
    from flowdesk.engine import Executor
    from flowdesk.model import WorkflowDefinition
    from flowdesk.runs import RunHandle, RunService
    from flowdesk.store import StoredRun


def register(commands: Any) -> None:
    parser = commands.add_parser("run", help="run a workflow and show its progress")
    parser.add_argument("file", metavar="FILE", help="workflow JSON file")
    given = parser.add_mutually_exclusive_group()
    given.add_argument("--params", metavar="JSON", help="run parameters as a JSON object")
    given.add_argument("--params-file", metavar="F", help="file holding the parameters as JSON")
    add_concurrency_option(parser)
    parser.add_argument(
        "--idempotency-key",
        metavar="K",
        help="run at most once per key and workflow: a repeated key returns the first run",
    )
    parser.add_argument(
        "--from",
        dest="from_node",
        metavar="NODE",
        help="run NODE and everything downstream of it; every other node reuses its stored "
        "output from the latest run of this workflow that has them (REUSED)",
    )
    parser.add_argument(
        "--reuse",
        metavar="RUN_ID",
        help="with --from: take the stored outputs from this run (an id or unique prefix)",
    )
    add_db_option(parser)
    add_output_options(parser)
    from flowdesk.cli.executors import add_executor_options

    add_executor_options(parser)
    parser.set_defaults(handler=run_command)


def add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="run history database (default: $FLOWDESK_DB, else the user data directory)",
    )


@contextmanager
def open_service(
    db: str | None,
    *,
    create: bool = True,
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
    executor: Executor | None = None,
    **options: Any,
) -> Iterator[RunService]:
    """The run service for --db/FLOWDESK_DB/the default file; every StoreError is a CliError.
    Its runs' handlers run through `executor` (this process when None); `options` go to
    RunService as they are.

    With create=False a file the user named (--db, FLOWDESK_DB) must exist already, so that a
    mistyped path is an error rather than an empty history; the default file is always created.
    """
    from flowdesk.runs import RunService  # SQLAlchemy: ~0.2 s
    from flowdesk.store import StoreError, resolve_db_location

    location = resolve_db_location(db)
    service = RunService(
        default_registry(),
        location.path,
        create=create or not location.explicit,
        max_concurrency=max_concurrency,
        executor=executor,
        **options,
    )
    try:
        yield service
    except StoreError as exc:
        raise CliError(str(exc)) from None
    finally:
        try:
            service.close()
        except StoreError as exc:
            raise CliError(str(exc)) from None


def add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print the run as one JSON object on stdout"
    )


def add_concurrency_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-concurrency",
        metavar="N",
        type=positive_int,
        default=DEFAULT_MAX_CONCURRENCY,
        help=f"most nodes running at once (default {DEFAULT_MAX_CONCURRENCY})",
    )


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def read_params(args: argparse.Namespace) -> dict[str, Any]:
    """The run's params from --params or --params-file; a JSON object or a clear error."""
    if args.params_file:
        source = args.params_file
        try:
            text = Path(source).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise CliError(f"--params-file {source}: cannot read: {reason}") from None
    elif args.params is not None:
        source, text = "--params", args.params
    else:
        return {}
    try:
        params = read_json(text)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"{source}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except UnsupportedJsonError as exc:
        raise CliError(f"{source}: {exc}") from None
    if not isinstance(params, dict):
        raise CliError(f"{source}: params must be a JSON object, not {type(params).__name__}")
    return params


def _is_text(value: str) -> bool:
    """False for an argument whose bytes were not UTF-8 (Python keeps them as lone surrogates,
    which cannot be stored)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def run_command(args: argparse.Namespace) -> int:
    from flowdesk.cli.executors import open_executor
    from flowdesk.store import StoredRun

    definition = read_workflow(args.file)
    params = read_params(args)
    key = args.idempotency_key
    if key is not None and not _is_text(key):
        raise CliError("--idempotency-key: not valid UTF-8 text")
    check_from_options(args)
    with (
        open_executor(args) as executor,
        open_service(args.db, max_concurrency=args.max_concurrency, executor=executor) as service,
    ):
        try:
            if args.from_node is not None:
                given = args.params is not None or args.params_file is not None
                started = start_from(service, definition, args, params if given else None)
            else:
                started = service.start(definition, params, idempotency_key=key)
        except InvalidWorkflowError as exc:
            lines = [f"{args.file}: {problem}" for problem in exc.problems]
            raise CliError("\n".join(lines), prefixed=False) from None
        if isinstance(started, StoredRun):
            return report_existing(started, key, params, as_json=args.json)
        return execute_and_report(service, started, as_json=args.json, db=args.db)


def check_from_options(args: argparse.Namespace) -> None:
    """--reuse needs --from, and a run from here has no idempotency key."""
    if args.reuse is not None and args.from_node is None:
        raise CliError("--reuse RUN_ID needs --from NODE (the node to run from)")
    if args.from_node is not None and args.idempotency_key is not None:
        raise CliError("--from and --idempotency-key cannot be used together")
    for option, value in (("--from", args.from_node), ("--reuse", args.reuse)):
        if value is not None and not _is_text(value):
            raise CliError(f"{option}: not valid UTF-8 text")


def start_from(
    service: RunService,
    definition: WorkflowDefinition,
    args: argparse.Namespace,
    params: dict[str, Any] | None,
) -> RunHandle:
    """Run from here (`--from NODE [--reuse RUN_ID]`); a refusal is bad input (exit 2)."""
    from flowdesk.runs import RunFromRefused

    try:
        handle = service.start_from(
            definition, args.from_node, reuse_run_id=args.reuse, params=params
        )
    except RunFromRefused as exc:
        raise CliError(str(exc)) from None
    if handle.reused:
        reusing = f"reusing {len(handle.reused)} stored output(s) of run {handle.source_run_id}"
    else:
        reusing = "nothing to reuse: every node runs"
    print(f"flowdesk: running from '{args.from_node}': {reusing}", file=sys.stderr)
    return handle


def report_existing(
    stored: StoredRun, key: str | None, params: dict[str, Any], *, as_json: bool
) -> int:
    """A repeated idempotency key: show the first run, execute nothing."""
    note = f"run {stored.run_id} already has idempotency key '{key}' ({stored.state.value})"
    if stored.result.params != params:
        note += "; its params differ from these, which are ignored"
    note += "; nothing was executed"
    if stored.state.resumable:
        note += f" (continue it with: flowdesk runs resume {stored.run_id})"
    print(f"flowdesk: {note}", file=sys.stderr)
    report(stored.result, as_json=as_json)
    return exit_code(stored.result)


def execute_and_report(
    service: RunService, handle: RunHandle, *, as_json: bool, db: str | None = None
) -> int:
    """Run to the end on a fresh event loop; Ctrl+C cancels the run cleanly (exit 1).

    A resumed run is reported as stored, so `runs resume --json` prints what `runs show
    --json` prints (its first start, not this execution's)."""
    from flowdesk.store import RunNotResumableError, StoreError

    with progress_display(enabled=not as_json or sys.stderr.isatty()) as listener:
        if listener is not None:
            handle.subscribe(listener)
        try:
            result = asyncio.run(_execute_cancellable(handle))
        except RunNotResumableError:  # another process took the run first: nothing ran here
            raise
        except StoreError as exc:  # the store failed mid-run: the run stopped, INTERRUPTED
            stopped = (
                "stopped, INTERRUPTED"
                if handle.result.state is RunState.INTERRUPTED
                else "did not start"
            )
            raise CliError(
                f"{exc}; run {handle.run_id} {stopped}; {resume_hint(handle.run_id, db)}"
            ) from None
    if handle.resumed:
        result = service.load(handle.run_id).result
    report(result, as_json=as_json)
    if result.state.resumable:
        print(resume_hint(result.run_id, db), file=sys.stderr)
    return exit_code(result)


def resume_hint(run_id: str, db: str | None) -> str:
    """The command that resumes `run_id`, with the --db it was given (FLOWDESK_DB stays set)."""
    where = f" --db {shlex.quote(db)}" if db else ""
    return f"resume with: flowdesk runs resume {run_id}{where}"


@contextmanager
def progress_display(*, enabled: bool) -> Iterator[Listener | None]:
    """The progress on stderr (live on a terminal, a line per change otherwise), or None when
    --json output goes to a pipe."""
    if not enabled:
        yield None
        return
    with progress_listener(sys.stderr) as listener:
        yield listener


async def _execute_cancellable(handle: RunHandle) -> RunResult:
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, handle.cancel)
        loop.add_signal_handler(signal.SIGTERM, handle.cancel)
    except (NotImplementedError, RuntimeError):  # pragma: no cover - not on Windows
        pass
    return await handle.execute()


def report(result: RunResult, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.to_json(), default=str))
    elif result.results:
        print(json.dumps(result.results, indent=2, default=str))


def exit_code(result: RunResult) -> int:
    """0 COMPLETED; 1 for any other state a run can be in (FAILED, CANCELLED, INTERRUPTED, and
    RUNNING when a repeated idempotency key finds the run still going in another process)."""
    if result.state is RunState.COMPLETED:
        return EXIT_OK
    return EXIT_RUN_FAILED
