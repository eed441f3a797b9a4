"""FlowDesk benchmarks: one command, a table on stdout, the same rows as JSON.

    .venv/bin/python benchmarks/run.py [--quick] [--only engine,http,memory,editor,celery,api,map] [--json PATH]

Every ratio compares two things measured in this same process run, because
the machines are noisy; each figure is the median of several repetitions.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from dags import SHAPES, as_workflow, fan_out_fan_in  # noqa: E402
from minimal_runner import run_minimal  # noqa: E402

from flowdesk.engine import HandlerRegistry  # noqa: E402
from flowdesk.engine.scheduler import WorkflowRun  # noqa: E402
from flowdesk.model import workflow_from_data  # noqa: E402

Row = dict[str, Any]


def median_time(action: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()  # every timed section starts without the garbage of the one before
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


# -- engine overhead ---------------------------------------------------------------------------


def _execute_timed(run: WorkflowRun) -> float:
    started = time.perf_counter()
    result = asyncio.run(run.execute())
    elapsed = time.perf_counter() - started
    assert result.state.value == "COMPLETED", result.state
    return elapsed


def bench_engine(repeat: int, quick: bool) -> list[Row]:
    """FlowDesk against the minimal runner on the same DAG, without and with SQLite.

    `flowdesk_s` executes an already built run; `with_validation` counts from the first
    engine call (the compiled-plan cache lookup, which validates and plans only the first
    time a content is seen, building the run) until every output is in hand; `cold_build_s`
    is that first compile. The SQLite figure goes through the run service: the run record
    is created, the run built, executed and every result committed.
    """
    from flowdesk.engine.plan import compile_workflow
    from flowdesk.runs import RunService
    from flowdesk.runs.compiled import CompiledCache

    registry = HandlerRegistry.default()
    rows = []
    for name, make in SHAPES.items():
        if quick and "10,000" in name:
            continue
        nodes = make()
        definition = workflow_from_data(as_workflow(name, nodes))
        cache = CompiledCache(registry)
        cold = median_time(lambda d=definition: compile_workflow(d, registry), max(1, repeat // 2))
        plain, with_validation, persisted = [], [], []
        with tempfile.TemporaryDirectory() as folder:
            service = RunService(registry, Path(folder) / "bench.db", max_concurrency=10**9)
            service.compile(definition)  # warm, as for every run after a workflow's first
            try:
                for _ in range(repeat):
                    gc.collect()  # as median_time does for the minimal runner
                    started = time.perf_counter()
                    run = WorkflowRun(cache.get(definition), max_concurrency=10**9)
                    plain.append(_execute_timed(run))
                    with_validation.append(time.perf_counter() - started)
                    gc.collect()
                    started = time.perf_counter()
                    handle = service.start(definition)
                    result = asyncio.run(handle.execute())  # type: ignore[union-attr]
                    persisted.append(time.perf_counter() - started)
                    assert result.state.value == "COMPLETED", result.state
            finally:
                service.close()
        minimal = median_time(lambda nodes=nodes: asyncio.run(run_minimal(nodes)), repeat)
        execute, sqlite = statistics.median(plain), statistics.median(persisted)
        rows.append(
            {
                "benchmark": f"engine: {name}",
                "nodes": len(nodes),
                "minimal_s": minimal,
                "flowdesk_s": execute,
                "ratio": execute / minimal,
                "ratio_with_validation": statistics.median(with_validation) / minimal,
                "cold_build_s": cold,
                "nodes_per_s": len(nodes) / execute,
                "sqlite_s": sqlite,
                "ratio_sqlite": sqlite / minimal,
                "nodes_per_s_sqlite": len(nodes) / sqlite,
                "target": "ratio_with_validation <= 2.5; sqlite >= 35,000 nodes/s",
            }
        )
    return rows


# -- HTTP fan-out ------------------------------------------------------------------------------


def bench_http(repeat: int, quick: bool) -> list[Row]:
    import httpx
    from http_server import fast_server

    count, limit = (300 if quick else 1_000), 100
    registry = HandlerRegistry.default()
    with fast_server() as base:
        url = f"{base}/item"
        definition = workflow_from_data(
            as_workflow(
                "http fan-out",
                [{"id": "input", "handler": "input"}]
                + [
                    {
                        "id": f"get{i}",
                        "handler": "call_external_service",
                        "dependencies": ["input"],
                        "config": {"url": f"{url}?i={i}"},
                    }
                    for i in range(count)
                ],
            )
        )

        def flowdesk() -> None:
            run = WorkflowRun(definition, registry, max_concurrency=limit)
            result = asyncio.run(run.execute())
            assert result.state.value == "COMPLETED", result.state

        async def plain_httpx() -> None:
            semaphore = asyncio.Semaphore(limit)
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=limit)
            async with httpx.AsyncClient(limits=limits) as client:

                async def get(i: int) -> None:
                    async with semaphore:
                        (await client.get(f"{url}?i={i}")).json()

                await asyncio.gather(*(get(i) for i in range(count)))

        async def plain_aiohttp() -> None:
            import aiohttp

            semaphore = asyncio.Semaphore(limit)
            async with aiohttp.ClientSession() as session:

                async def get(i: int) -> None:
                    async with semaphore, session.get(f"{url}?i={i}") as response:
                        await response.json()

                await asyncio.gather(*(get(i) for i in range(count)))

        async def httpx_over_our_transport() -> None:
            from flowdesk.engine.transport import AiohttpTransport

            semaphore = asyncio.Semaphore(limit)
            async with httpx.AsyncClient(transport=AiohttpTransport()) as client:

                async def get(i: int) -> None:
                    async with semaphore:
                        (await client.get(f"{url}?i={i}")).json()

                await asyncio.gather(*(get(i) for i in range(count)))

        flowdesk_s = median_time(flowdesk, repeat)
        httpx_s = median_time(lambda: asyncio.run(plain_httpx()), repeat)
        transport_s = median_time(lambda: asyncio.run(httpx_over_our_transport()), repeat)
        rows = [
            {
                "benchmark": f"http: {count} GETs, {limit} in flight",
                "nodes": count + 1,
                "flowdesk_s": flowdesk_s,
                "httpx_s": httpx_s,
                "ratio": flowdesk_s / httpx_s,
                "httpx_aiohttp_transport_s": transport_s,
                "ratio_vs_same_transport": flowdesk_s / transport_s,
                "target": "ratio <= 1.3 (vs plain httpx)",
            }
        ]
        try:
            aiohttp_s = median_time(lambda: asyncio.run(plain_aiohttp()), repeat)
            rows[0]["aiohttp_s"] = aiohttp_s
            rows[0]["ratio_vs_aiohttp"] = flowdesk_s / aiohttp_s
        except ImportError:
            rows[0]["aiohttp_s"] = None
    return rows


# -- memory ------------------------------------------------------------------------------------


def bench_memory(repeat: int, quick: bool) -> list[Row]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "wide.json"
        path.write_text(json.dumps(as_workflow("wide", fan_out_fan_in(10_000))))
        probe = (
            "import resource, subprocess, sys\n"
            "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        )
        env = {**os.environ, "FLOWDESK_DB": str(Path(folder) / "runs.sqlite")}
        command = [sys.executable, "-c", probe, sys.executable, "-m", "flowdesk", "run", str(path)]
        output = subprocess.run(command, capture_output=True, text=True, check=True, env=env)
        peak_mb = int(output.stdout.strip()) / 1024
    return [
        {
            "benchmark": "memory: flowdesk run, 10,002 nodes",
            "nodes": 10_002,
            "peak_rss_mb": peak_mb,
            "target": "< 400 MB",
        }
    ]


# -- editor ------------------------------------------------------------------------------------


def bench_editor(repeat: int, quick: bool) -> list[Row]:
    """benchmarks/editor.py in a fresh process each time (offscreen Qt)."""
    samples = []
    for _ in range(max(1, repeat // 2)):
        output = subprocess.run(
            [sys.executable, str(HERE / "editor.py")],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
        )
        samples.append(json.loads(output.stdout.strip().splitlines()[-1]))
    return [
        {
            "benchmark": "editor: open 1,000-node workflow",
            "nodes": samples[0]["nodes"],
            "open_s": statistics.median(s["open_s"] for s in samples),
            "target": "< 3 s",
        },
        {
            "benchmark": "editor: 1,000-node run",
            "nodes": samples[0]["nodes"],
            "max_gap_ms": statistics.median(s["max_gap_ms"] for s in samples),
            "paint_delay_ms": statistics.median(s["paint_delay_ms"] for s in samples),
            "target": "gap < 100 ms",
        },
    ]


def bench_celery(repeat: int, quick: bool) -> list[Row]:
    """benchmarks/scaleout.py: the same DAGs in-process and on Celery workers (starts a Redis
    and workers of its own)."""
    from scaleout import bench_scaleout

    return bench_scaleout(repeat, quick)


def bench_api(repeat: int, quick: bool) -> list[Row]:
    """benchmarks/api.py in its own process: the seed example through `flowdesk serve` and
    in-process through the run service (it starts the demo service and the server itself)."""
    runs = 100 if quick else 200
    output = subprocess.run(
        [sys.executable, str(HERE / "api.py"), "--runs", str(runs), "--repeat", str(repeat)],
        capture_output=True,
        text=True,
        check=True,
    )
    figures = json.loads(output.stdout.strip().splitlines()[-1])
    return [
        {
            "benchmark": f"api: {runs} seed executions, 50 in flight, {side}",
            "runs_per_s": figures[key]["runs_per_s"],
            "median_latency_ms": figures[key]["median_latency_ms"],
            "target": target,
        }
        for side, key, target in (
            ("in-process", "in_process", ""),
            ("through the API", "api", ">= 200 runs/s, <= 2 ms/run over in-process"),
        )
    ] + [
        {
            "benchmark": "api: cost per run over in-process",
            "api_cost_ms": figures["api_cost_ms"],
            "target": "<= 2 ms",
        }
    ]


def bench_map(repeat: int, quick: bool) -> list[Row]:
    """benchmarks/map_over.py: 100,000 items of a no-op transform against as many plain nodes,
    SQLite recording, each run in its own process (its peak memory is its own)."""
    from map_over import bench_map_over

    return bench_map_over(max(1, repeat // 2), quick)


SECTIONS = {
    "engine": bench_engine,
    "http": bench_http,
    "memory": bench_memory,
    "editor": bench_editor,
    "celery": bench_celery,
    "api": bench_api,
    "map": bench_map,
}


def format_table(rows: list[Row]) -> str:
    extra = sorted({key for row in rows for key in row} - {"benchmark", "nodes", "target"})
    columns = ["benchmark", "nodes", *extra, "target"]
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.0f}" if value >= 1000 else f"{value:.4g}"
    return str(value)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller shapes, fewer repetitions")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions per figure")
    parser.add_argument("--json", default=str(HERE / "results" / "latest.json"), help="JSON output")
    args = parser.parse_args()
    repeat = args.repeat or (3 if args.quick else 5)
    rows: list[Row] = []
    for name in args.only.split(","):
        section = SECTIONS[name.strip()]
        rows += section(repeat, args.quick)
        print(f"[{name} done]", file=sys.stderr, flush=True)
    sections: dict[str, list[Row]] = {}
    for row in rows:
        sections.setdefault(row["benchmark"].split(":")[0], []).append(row)
    print("\n\n".join(format_table(section) for section in sections.values()))
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
