"""`flowdesk runs list|show|resume|diff`: the run history in the store (diff: run_diff.py).

`runs resume RUN_ID` continues an INTERRUPTED, FAILED or CANCELLED run: nodes
that succeeded keep their stored output and do not run again. With `--with FILE`
it runs the workflow in FILE instead of the run's snapshot, keeping only the
succeeded nodes that FILE leaves unchanged (with everything upstream of them).
Resuming a COMPLETED run prints it and runs nothing (exit 0). A run id may be
shortened to any prefix that names one run.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flowdesk.cli import EXIT_OK, CliError, read_workflow
from flowdesk.cli.progress import MARKS, summary
from flowdesk.cli.run import (
    add_concurrency_option,
    add_db_option,
    add_output_options,
    execute_and_report,
    open_service,
    positive_int,
    report,
    resume_hint,
)
from flowdesk.engine import InvalidWorkflowError, NodeResult, NodeState, RunState
from flowdesk.engine.reuse import reuse_note

if TYPE_CHECKING:
    from flowdesk.store import RunSummary, StoredRun

OUTPUT_PREVIEW = 300


def register(commands: Any) -> None:
    parser = commands.add_parser("runs", help="list, inspect, resume and compare recorded runs")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="recorded runs, newest first")
    listing.add_argument("--limit", metavar="N", type=positive_int, help="show at most N runs")
    add_db_option(listing)
    add_output_options(listing)
    listing.set_defaults(handler=list_command)

    show = actions.add_parser("show", help="one run: every node's state, attempts, error, output")
    show.add_argument("run_id", metavar="RUN_ID", help="run id (or a unique prefix of it)")
    add_db_option(show)
    add_output_options(show)
    show.set_defaults(handler=show_command)

    resume = actions.add_parser(
        "resume",
        help="continue an interrupted, failed or cancelled run; succeeded nodes are reused",
    )
    resume.add_argument("run_id", metavar="RUN_ID", help="run id (or a unique prefix of it)")
    resume.add_argument(
        "--with",
        dest="with_file",
        metavar="FILE",
        help="run this workflow file instead of the run's snapshot: succeeded nodes that it "
        "leaves unchanged (with everything upstream of them) keep their output",
    )
    add_concurrency_option(resume)
    from flowdesk.cli.executors import add_executor_options

    add_executor_options(resume)
    add_db_option(resume)
    add_output_options(resume)
    resume.set_defaults(handler=resume_command)

    from flowdesk.cli import run_diff

    run_diff.register(actions)


def list_command(args: argparse.Namespace) -> int:
    with open_service(args.db, create=False) as service:
        runs = service.list_runs(limit=args.limit)
    if args.json:
        print(json.dumps([run.to_json() for run in runs]))
        return EXIT_OK
    if not runs:
        print("no runs recorded yet", file=sys.stderr)
        return EXIT_OK
    headers = ["RUN ID", "WORKFLOW", "STATUS", "STARTED", "DURATION"]
    resumed = any(run.resumed_at is not None for run in runs)
    if resumed:  # first start and latest resume side by side; the order stays by creation
        headers.insert(4, "RESUMED")
    rows = [_list_row(run, resumed=resumed) for run in runs]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    for row in (headers, *rows):
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return EXIT_OK


def _list_row(run: RunSummary, *, resumed: bool) -> list[str]:
    duration = f"{run.duration_s:.2f} s" if run.duration_s is not None else "-"
    row = [run.run_id, run.workflow, run.state.value, _local(run.started_at), duration]
    if resumed:
        row.insert(4, _local(run.resumed_at))
    return row


def show_command(args: argparse.Namespace) -> int:
    with open_service(args.db, create=False) as service:
        stored = service.load(args.run_id)
        items = {
            node.id: service.item_counts(stored.run_id, node.id)
            for node in stored.definition.nodes
            if node.map_over is not None and not args.json
        }
    if args.json:
        print(json.dumps(stored.result.to_json(), default=str))
    else:
        _print_run(stored, args.db, items)
    return EXIT_OK


def resume_command(args: argparse.Namespace) -> int:
    from flowdesk.cli.executors import open_executor

    definition = read_workflow(args.with_file) if args.with_file else None
    with (
        open_executor(args) as executor,
        open_service(
            args.db, create=False, max_concurrency=args.max_concurrency, executor=executor
        ) as service,
    ):
        stored = service.load(args.run_id)
        if stored.state is RunState.COMPLETED:
            print(
                f"flowdesk: run {stored.run_id} is already COMPLETED; nothing to resume",
                file=sys.stderr,
            )
            report(stored.result, as_json=args.json)
            return EXIT_OK
        try:
            handle = service.resume(stored.run_id, definition=definition)
        except InvalidWorkflowError as exc:  # e.g. a handler that is no longer installed
            source = args.with_file or f"run {stored.run_id}"
            lines = [f"flowdesk: run {stored.run_id} cannot be resumed:"]
            lines += [f"{source}: {problem}" for problem in exc.problems]
            raise CliError("\n".join(lines), prefixed=False) from None
        if definition is not None and definition.name != stored.result.workflow:
            print(
                f"flowdesk: note: run {stored.run_id} ran '{stored.result.workflow}'; it now "
                f"runs '{definition.name}' from {args.with_file}",
                file=sys.stderr,
            )
        return execute_and_report(service, handle, as_json=args.json, db=args.db)


def _print_run(
    stored: StoredRun, db: str | None, items: dict[str, dict[str, int]] | None = None
) -> None:
    """`items`: node id -> item counts by state, for the nodes with map_over."""
    result = stored.result
    # The duration of the latest execution, as `runs list` and the resume itself report it.
    print(summary(replace(result, started_at=stored.resumed_at or result.started_at)))
    print(f"  workflow:  {result.workflow}")
    print(f"  created:   {_local(stored.created_at)}")
    print(f"  started:   {_local(result.started_at)}")
    if stored.resumed_at is not None:
        print(f"  resumed:   {_local(stored.resumed_at)}  (execution {stored.executions})")
    print(f"  finished:  {_local(result.finished_at)}")
    if result.params:
        print(f"  params:    {json.dumps(result.params)}")
    if stored.idempotency_key is not None:
        print(f"  key:       {stored.idempotency_key}")
    width = max((len(node_id) for node_id in result.nodes), default=8)
    for node_id, node in result.nodes.items():
        mark = MARKS.get(node.state, (" ", ""))[0]
        print(f"  {mark} {node_id:<{width}} {node.state.value:<9} {_node_detail(node)}".rstrip())
        if node.state is NodeState.INTERRUPTED:
            print("      it was running when its process ended")
        if node.state is NodeState.REUSED:
            print(f"      {reuse_note(node, result.run_id)}")
        counts = (items or {}).get(node_id)
        if counts:
            print(f"      items:  {_items_note(counts)}")
        if node.error:
            print(f"      error:  {node.error}")
        if node.output is not None:
            print(f"      output: {_preview(node.output)}")
    if result.state.resumable:
        print(resume_hint(result.run_id, db))


def _items_note(counts: dict[str, int]) -> str:
    """`98 succeeded, 2 failed (of 100)`."""
    order = ("SUCCEEDED", "FAILED", "CANCELLED", "SKIPPED", "PENDING")
    shown = [*order, *sorted(set(counts) - set(order))]
    parts = [f"{counts[state]:,} {state.lower()}" for state in shown if counts.get(state)]
    return f"{', '.join(parts)} (of {sum(counts.values()):,})"


def _node_detail(node: NodeResult) -> str:
    parts = []
    if node.attempts:
        parts.append(f"{node.attempts} attempt{'s' if node.attempts != 1 else ''}")
    if node.duration_s is not None:
        parts.append(f"{node.duration_s:.2f} s")
    return ", ".join(parts)


def _preview(value: Any) -> str:
    text = json.dumps(value, default=str)
    if len(text) <= OUTPUT_PREVIEW:
        return text
    return text[:OUTPUT_PREVIEW] + f"… ({len(text):,} characters; --json shows all)"


def _local(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else "-"
