"""`flowdesk cache list|clear`: the outputs nodes with `"cache": true` keep for later runs.

The cache lives in the run history database (`--db`, FLOWDESK_DB, or the default file), in
the run service's store; `--workflow NAME` narrows either command to the entries stored by runs
of that workflow.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flowdesk.cli import EXIT_OK
from flowdesk.cli.run import add_db_option, open_service

if TYPE_CHECKING:
    from flowdesk.store import CachedOutput


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "cache", help='list or clear the outputs that nodes with "cache": true keep'
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser("list", help="cached outputs, newest first")
    _add_workflow_option(listing)
    add_db_option(listing)
    listing.add_argument("--json", action="store_true", help="print a JSON list on stdout")
    listing.set_defaults(handler=list_command)

    clearing = actions.add_parser(
        "clear", help="remove cached outputs, so cached nodes run again; says how many"
    )
    _add_workflow_option(clearing)
    add_db_option(clearing)
    clearing.add_argument("--json", action="store_true", help='print {"removed": N} on stdout')
    clearing.set_defaults(handler=clear_command)


def _add_workflow_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workflow",
        metavar="NAME",
        help="only the outputs stored by runs of this workflow (its name, as in `runs list`)",
    )


def list_command(args: argparse.Namespace) -> int:
    with open_service(args.db, create=False) as service:
        entries = service.cached_outputs(args.workflow)
    if args.json:
        print(json.dumps([entry.to_json() for entry in entries]))
        return EXIT_OK
    if not entries:
        print(_nothing(args.workflow), file=sys.stderr)
        return EXIT_OK
    headers = ["STORED", "WORKFLOW", "NODE", "HANDLER", "RUN ID", "SIZE"]
    rows = [_row(entry) for entry in entries]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    for row in (headers, *rows):
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return EXIT_OK


def clear_command(args: argparse.Namespace) -> int:
    with open_service(args.db, create=False) as service:
        removed = service.clear_cache(args.workflow)
    if args.json:
        print(json.dumps({"removed": removed}))
        return EXIT_OK
    noun = "cached output" if removed == 1 else "cached outputs"
    scope = f" of workflow '{args.workflow}'" if args.workflow is not None else ""
    print(f"removed {removed} {noun}{scope}")
    return EXIT_OK


def _nothing(workflow: str | None) -> str:
    scope = f" for workflow '{workflow}'" if workflow is not None else ""
    return f'no cached outputs{scope} (nodes with "cache": true store theirs when they succeed)'


def _row(entry: CachedOutput) -> list[str]:
    return [
        _local(entry.created_at),
        entry.workflow if entry.workflow is not None else "-",
        entry.node_id,
        entry.handler,
        entry.run_id,
        _size(entry.size),
    ]


def _local(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _size(chars: int) -> str:
    if chars < 1000:
        return f"{chars} B"
    if chars < 1_000_000:
        return f"{chars / 1000:.1f} kB"
    return f"{chars / 1_000_000:.1f} MB"
