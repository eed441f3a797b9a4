"""map_over at scale: 100,000 items of a no-op transform, recorded in SQLite, against the same
number of plain nodes, with the peak memory of each.

    .venv/bin/python benchmarks/map_over.py [--items N] [--repeat R]

Each measurement runs in a fresh process (so its peak RSS is its own) through the run
service, as `flowdesk run` would: the run record is created, then the run is timed from
`execute()` until its end is committed (every item row and the node's output). The plain
shape is a fan-out of N `transform` nodes between a source and a sink (benchmarks/dags.py),
compiled before the clock starts. Medians of R repetitions; the last line is JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

TARGET_ITEMS_PER_S = 20_000
TARGET_PEAK_MB = 500


def mapped_workflow(items: int, config: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": "map",
        "dag": {
            "nodes": [
                {"id": "source", "handler": "transform", "config": {"value": "{{ params.xs }}"}},
                {
                    "id": "each",
                    "handler": "transform",
                    "dependencies": ["source"],
                    "map_over": "{{ source }}",
                    "max_items": items,
                    "config": config,
                },
            ]
        },
    }


SHAPES = {
    "map, config {{ item }}": lambda n: (mapped_workflow(n, {"value": "{{ item }}"}), True),
    "map, constant config": lambda n: (mapped_workflow(n, {"value": 1}), True),
    "plain nodes (fan-out/fan-in)": lambda n: (_plain(n), False),
}


def _plain(items: int) -> dict[str, Any]:
    from dags import as_workflow, fan_out_fan_in

    return as_workflow("plain", fan_out_fan_in(items))


def child(shape: str, items: int) -> dict[str, Any]:
    """One run of `shape` in this process: seconds and the process's peak RSS."""
    from flowdesk.engine import HandlerRegistry
    from flowdesk.model import workflow_from_data
    from flowdesk.runs import RunService

    data, mapped = SHAPES[shape](items)
    definition = workflow_from_data(data)
    params = {"xs": list(range(items))} if mapped else {}
    with tempfile.TemporaryDirectory() as folder:
        service = RunService(HandlerRegistry.default(), Path(folder) / "bench.db")
        try:
            service.compile(definition)  # warm: a workflow is compiled once per content
            handle = service.start(definition, params)
            started = time.perf_counter()
            result, max_gap = asyncio.run(_execute_watching_the_loop(handle))
            seconds = time.perf_counter() - started
            assert result.state.value == "COMPLETED", (result.state, result.nodes)
            if mapped:
                counts = service.item_counts(result.run_id, "each")
                assert counts == {"SUCCEEDED": items}, counts
            transactions = service.store.writer.transactions
        finally:
            service.close()
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seconds": seconds,
        "peak_mb": peak_kb / 1024,
        "transactions": transactions,
        "max_gap_ms": max_gap * 1000,
    }


async def _execute_watching_the_loop(handle: Any) -> tuple[Any, float]:
    """The run's result and the longest the event loop went without serving a 1 ms timer
    meanwhile (what an editor on the same loop would feel)."""
    longest = 0.0
    stop = asyncio.Event()

    async def watch() -> None:
        nonlocal longest
        while not stop.is_set():
            before = time.perf_counter()
            await asyncio.sleep(0.001)
            longest = max(longest, time.perf_counter() - before - 0.001)

    watcher = asyncio.create_task(watch())
    try:
        return await handle.execute(), longest
    finally:
        stop.set()
        await watcher


def measure(shape: str, items: int, repeat: int) -> dict[str, Any]:
    samples = []
    for _ in range(repeat):
        output = subprocess.run(
            [sys.executable, __file__, "--child", shape, "--items", str(items)],
            capture_output=True,
            text=True,
            check=True,
        )
        samples.append(json.loads(output.stdout.strip().splitlines()[-1]))
    seconds = statistics.median(s["seconds"] for s in samples)
    return {
        "benchmark": f"map_over: {shape}",
        "items": items,
        "seconds": seconds,
        "per_s": items / seconds,
        "peak_mb": max(s["peak_mb"] for s in samples),
        "transactions": statistics.median(s["transactions"] for s in samples),
        "max_gap_ms": statistics.median(s["max_gap_ms"] for s in samples),
    }


def bench_map_over(repeat: int, quick: bool, items: int | None = None) -> list[dict[str, Any]]:
    """The rows `benchmarks/run.py --only map` prints."""
    items = items or (20_000 if quick else 100_000)
    rows = [measure(shape, items, repeat) for shape in SHAPES]
    for row in rows:
        row["target"] = (
            f">= {TARGET_ITEMS_PER_S:,} items/s, < {TARGET_PEAK_MB} MB"
            if "map," in row["benchmark"]
            else "(reference)"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.items)))
        return
    rows = bench_map_over(args.repeat, False, args.items)
    width = max(len(row["benchmark"]) for row in rows)
    print(
        f"{'benchmark':<{width}}  {'items':>8}  {'seconds':>8}  {'per s':>8}  {'peak MB':>8}"
        f"  {'loop gap ms':>11}"
    )
    for row in rows:
        print(
            f"{row['benchmark']:<{width}}  {row['items']:>8,}  {row['seconds']:>8.2f}  "
            f"{row['per_s']:>8,.0f}  {row['peak_mb']:>8.0f}  {row['max_gap_ms']:>11.1f}"
        )
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
