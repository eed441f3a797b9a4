"""`flowdesk runs diff RUN_A RUN_B`: two recorded runs side by side, node by node.

Exit 0 when every node has the same state and output in both runs, 1 when any differs, 2 for
bad input (an unknown or ambiguous run id, a missing database).
"""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from flowdesk.cli import EXIT_OK, EXIT_RUN_FAILED, CliError
from flowdesk.engine.states import NodeState

if TYPE_CHECKING:
    from flowdesk.runs.compare import NodeComparison, PathChange, RunComparison

EXIT_DIFFERENT = EXIT_RUN_FAILED
VALUE_PREVIEW = 120
PATHS_SHOWN = 30
"""Per node, in the text form; --json has both outputs whole."""

MARKS = {"output": "~", "state": "!", "only_a": "-", "only_b": "+"}


def register(actions: Any) -> None:
    from flowdesk.cli.run import add_db_option

    diff = actions.add_parser(
        "diff",
        help="compare two runs node by node: states and outputs (exit 1 when they differ)",
    )
    diff.add_argument("run_a", metavar="RUN_A", help="run id (or a unique prefix of it)")
    diff.add_argument("run_b", metavar="RUN_B", help="run id (or a unique prefix of it)")
    diff.add_argument(
        "--ignore",
        metavar="PATH",
        action="append",
        default=[],
        help="an output path whose differences do not count, in every node, with what is under "
        "it; * matches any text: '$.headers.date', '$.items[*].id' (repeatable)",
    )
    add_db_option(diff)
    diff.add_argument(
        "--json",
        action="store_true",
        help='print {"identical": bool, "nodes": {id: {"change", "a", "b"}}} on stdout',
    )
    diff.set_defaults(handler=diff_command)


def diff_command(args: argparse.Namespace) -> int:
    from flowdesk.cli.run import open_service
    from flowdesk.runs.compare import compare_runs, ignore_pattern_problem

    for pattern in args.ignore:
        problem = ignore_pattern_problem(pattern)
        if problem is not None:
            raise CliError(f"--ignore {pattern!r}: {problem}")
    with open_service(args.db, create=False) as service:
        a, b = service.load(args.run_a), service.load(args.run_b)
    comparison = compare_runs(a, b, ignore=args.ignore)
    if args.json:
        print(json.dumps(comparison.to_json(), default=str))
    else:
        print_comparison(comparison)
    return EXIT_OK if comparison.identical else EXIT_DIFFERENT


def print_comparison(comparison: RunComparison) -> None:
    print(f"a: run {comparison.run_a} ({comparison.workflow_a})")
    print(f"b: run {comparison.run_b} ({comparison.workflow_b})")
    differing = comparison.differing
    width = max((len(node.node_id) for node in differing), default=0)
    for node in differing:
        print(f"{MARKS[node.change]} {node.node_id:<{width}}  {_headline(node)}")
        if node.change == "state":
            for label, side in (("a", node.a), ("b", node.b)):
                if side is not None and side.error:
                    # A SKIPPED node's text is why it did not run ("condition false"), not an error.
                    what = "skipped" if side.status is NodeState.SKIPPED else "error"
                    print(f"    {what} in {label}: {_clip(side.error)}")
        _print_paths(node.paths)
    print(summary_line(comparison))


def summary_line(comparison: RunComparison) -> str:
    total = len(comparison.nodes)
    if comparison.identical:
        return f"identical: {total} node{'s' if total != 1 else ''}, same states and outputs"
    parts = [
        f"{count} {label}"
        for change, label in (
            ("output", "output"),
            ("state", "state"),
            ("only_a", "only in a"),
            ("only_b", "only in b"),
        )
        if (count := comparison.count(change))
    ]
    differ = len(comparison.differing)
    return f"{differ} of {total} nodes differ: {', '.join(parts)}"


def _headline(node: NodeComparison) -> str:
    if node.change == "only_a":
        assert node.a is not None
        return f"only in a ({node.a.status.value})"
    if node.change == "only_b":
        assert node.b is not None
        return f"only in b ({node.b.status.value})"
    assert node.a is not None and node.b is not None
    if node.change == "state":
        return f"state {node.a.status.value} -> {node.b.status.value}"
    return "output differs"


def _print_paths(paths: tuple[PathChange, ...]) -> None:
    for change in paths[:PATHS_SHOWN]:
        if change.kind == "added":
            print(f"    + {change.location}: {_preview(change.new)}")
        elif change.kind == "removed":
            print(f"    - {change.location}: {_preview(change.old)}")
        else:
            print(f"    ~ {change.location}")
            print(f"        - {_preview(change.old)}")
            print(f"        + {_preview(change.new)}")
    if len(paths) > PATHS_SHOWN:
        print(f"    … {len(paths) - PATHS_SHOWN} more paths differ (--json shows both outputs)")


def _preview(value: Any) -> str:
    return _clip(json.dumps(value, default=str))


def _clip(text: str) -> str:
    if len(text) <= VALUE_PREVIEW and "\n" not in text:
        return text
    return text.splitlines()[0][:VALUE_PREVIEW] + f"… ({len(text):,} characters)"
