"""`flowdesk run`'s progress for a node with map_over: its line counts its items (`3 items`,
`2/3, 1 failed`), and the live display shows a running map's progress beside its name."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
import sys

from cli_process import run_flowdesk
from conftest import workflow

from flowdesk.cli.live import _running_text
from flowdesk.cli.progress import ProgressPrinter
from flowdesk.engine import NodeState
from flowdesk.engine.events import ItemFinished
from flowdesk.engine.scheduler import WorkflowRun

MAPPED = {
    "id": "each",
    "handler": "transform",
    "map_over": "{{ params['values'] }}",
    "config": {"value": "{{ item.name }}"},
}


def printed(definition, params) -> list[str]:
    stream = io.StringIO()
    run = WorkflowRun(definition, params=params)
    run.subscribe(ProgressPrinter(stream))
    asyncio.run(run.execute())
    return stream.getvalue().splitlines()


def line_of(lines: list[str], node_id: str) -> str:
    return next(line for line in lines if line.split()[1:2] == [node_id] and "RUNNING" not in line)


def test_a_mapped_node_line_counts_its_items() -> None:
    values = [{"name": "a"}, {"name": "b"}, {"name": "c"}]
    line = line_of(printed(workflow(MAPPED), {"values": values}), "each")
    assert "SUCCEEDED" in line and line.endswith(" 3 items")


def test_a_mapped_node_with_failed_items_says_how_many() -> None:
    values = [{"name": "a"}, {}, {"name": "c"}]
    skipping = {**MAPPED, "on_item_failure": "skip"}
    line = line_of(printed(workflow(skipping), {"values": values}), "each")
    assert "SUCCEEDED" in line and line.endswith(" 2/3, 1 failed")
    failing = line_of(printed(workflow(MAPPED), {"values": values}), "each")
    assert "FAILED" in failing and " 2/3, 1 failed  item 1 failed (1 of 3); item 1: " in failing


def test_a_cancelled_maps_line_accounts_for_every_item() -> None:
    """Esc in the middle of a map: the items it stopped are CANCELLED and those it never
    started SKIPPED; the line named the cancelled ones and left the skipped ones out."""
    slow = {
        "id": "each",
        "handler": "delay",
        "map_over": "{{ params['values'] }}",
        "config": {"seconds": "{{ 0 if item < 40 else 30 }}"},
    }
    stream = io.StringIO()
    run = WorkflowRun(workflow(slow), params={"values": list(range(100))}, max_concurrency=4)
    printer = ProgressPrinter(stream)

    def listener(event) -> None:
        printer(event)
        if isinstance(event, ItemFinished) and event.done == 40:
            run.cancel()  # the 40 quick items are done; 4 slow ones are running

    run.subscribe(listener)
    result = asyncio.run(run.execute())
    items = result.nodes["each"].items
    cancelled = sum(1 for item in items if item.state is NodeState.CANCELLED)
    skipped = sum(1 for item in items if item.state is NodeState.SKIPPED)
    assert cancelled and skipped and cancelled + skipped == 60
    line = line_of(stream.getvalue().splitlines(), "each")
    assert "CANCELLED" in line
    assert f"  40/100, {cancelled} cancelled, {skipped} skipped  " in line, line


def test_the_live_display_shows_a_running_maps_progress() -> None:
    text = _running_text([("each", 1), ("other", 2)], {"each": (37, 100)})
    assert text.plain == "  running: each 37/100, other (attempt 2)"


def test_flowdesk_run_and_runs_show_print_the_item_count(tmp_path) -> None:
    path = tmp_path / "mapped.json"
    path.write_text(json.dumps({"name": "mapped", "dag": {"nodes": [MAPPED]}}))
    params = json.dumps({"values": [{"name": str(i)} for i in range(100)]})
    done = run_flowdesk("run", str(path), "--params", params, db=tmp_path / "runs.db")
    assert done.returncode == 0, done.stderr
    assert any(
        line.endswith(" 100 items") and " each " in line for line in done.stderr.splitlines()
    )
    run_id = done.stderr.split()[1]
    shown = run_flowdesk("runs", "show", run_id, db=tmp_path / "runs.db")
    assert shown.returncode == 0, shown.stderr
    assert "      items:  100 succeeded (of 100)" in shown.stdout.splitlines()


def test_runs_show_counts_the_items_of_a_reused_mapped_node(tmp_path) -> None:
    """`run --from` reuses the mapped node: `runs show` of the new run gave it no items line."""
    total = {
        "id": "total",
        "handler": "transform",
        "dependencies": ["each"],
        "config": {"value": "{{ each | length }}"},
    }
    path = tmp_path / "mapped.json"
    path.write_text(json.dumps({"name": "mapped", "dag": {"nodes": [MAPPED, total]}}))
    params = json.dumps({"values": [{"name": str(i)} for i in range(100)]})
    env = {**os.environ, "FLOWDESK_DB": str(tmp_path / "runs.db")}

    def flowdesk(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "flowdesk", *args],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        return done

    flowdesk("run", str(path), "--params", params)
    second = flowdesk("run", str(path), "--params", params, "--from", "total")
    run_id = next(line for line in second.stderr.splitlines() if line.startswith("run ")).split()[1]
    lines = flowdesk("runs", "show", run_id).stdout.splitlines()
    each = next(i for i, line in enumerate(lines) if line.split()[1:3] == ["each", "REUSED"])
    block = lines[each + 1 : next(i for i, line in enumerate(lines) if " total " in line)]
    assert "      items:  100 succeeded (of 100)" in block, lines
