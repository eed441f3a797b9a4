"""The REST API against the run service it fronts: the seed's example, executions end to end.

    .venv/bin/python benchmarks/api.py [--runs 200] [--in-flight 50] [--repeat 3]

Both sides run the seed README's example workflow, unchanged, against the demo service
(`flowdesk demo-server` on 127.0.0.1:8911, its own process), N executions with at most M
in flight, timed from creation until COMPLETED:

- in-process: `RunService.create`, `trigger` and `execute` on one event loop;
- API: `flowdesk serve` in its own process (--max-concurrency M) and an aiohttp client here:
  POST /workflows, POST /trigger, then the event stream until its `run` event.

It prints a table (runs/s and the median latency; the medians of --repeat alternating
rounds) and, last, the same figures as one JSON line for benchmarks/run.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from flowdesk.demo import DEFAULT_PORT  # noqa: E402

SEED_EXAMPLE = (REPO / "tests" / "data" / "seed_example.json").read_text()
PARAMS = {"user_id": 123}
WARM_UP = 20


DEMO_SERVICE = f"""
import sys
from flowdesk.cli import main

sys.exit(main(["demo-server", "--port", "{DEFAULT_PORT}"]))
"""


@contextlib.contextmanager
def process(args: list[str], *, ready: Callable[[subprocess.Popen[str]], Any]) -> Iterator[Any]:
    """A Python subprocess, what `ready` read from it once it listens; stopped after."""
    child = subprocess.Popen([sys.executable, *args], stderr=subprocess.PIPE, text=True)
    try:
        yield ready(child)
    finally:
        child.terminate()
        child.communicate(timeout=60)


def demo_ready(child: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", DEFAULT_PORT)):
            return
        if child.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the demo service did not start on port {DEFAULT_PORT}")
        time.sleep(0.05)


def server_url(child: subprocess.Popen[str]) -> str:
    assert child.stderr is not None
    line = child.stderr.readline()
    found = re.search(r"http://127\.0\.0\.1:\d+", line)
    if not found:
        raise SystemExit(f"flowdesk serve did not start: {line}{child.stderr.read()}")
    return found.group(0)


async def timed_runs(
    execute: Callable[[], Awaitable[None]], runs: int, in_flight: int
) -> tuple[float, list[float]]:
    """(seconds for all, each execution's seconds) with at most `in_flight` at once."""
    slots = asyncio.Semaphore(in_flight)
    latencies: list[float] = []

    async def one() -> None:
        async with slots:
            started = time.perf_counter()
            await execute()
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(runs)))
    return time.perf_counter() - started, latencies


def in_process(runs: int, in_flight: int) -> tuple[float, list[float]]:
    from flowdesk.engine import HandlerRegistry
    from flowdesk.model import parse_workflow
    from flowdesk.runs import RunService

    definition = parse_workflow(SEED_EXAMPLE)
    with tempfile.TemporaryDirectory() as folder:
        service = RunService(
            HandlerRegistry.default(), Path(folder) / "bench.db", share_connections=True
        )
        try:

            async def execute() -> None:
                handle = await service.trigger(await service.create(definition), PARAMS)
                result = await handle.execute()
                errors = [node.error for node in result.nodes.values() if node.error]
                assert result.state.value == "COMPLETED", errors

            async def measure() -> tuple[float, list[float]]:
                try:
                    await timed_runs(execute, WARM_UP, in_flight)
                    return await timed_runs(execute, runs, in_flight)
                finally:
                    await service.stop_runs()  # closes the shared connections

            return asyncio.run(measure())
        finally:
            service.close()


def through_api(url: str, runs: int, in_flight: int) -> tuple[float, list[float]]:
    async def measure() -> tuple[float, list[float]]:
        connector = aiohttp.TCPConnector(limit=in_flight * 2)
        async with aiohttp.ClientSession(url, connector=connector) as http:

            async def execute() -> None:
                async with http.post("/workflows", data=SEED_EXAMPLE) as created:
                    assert created.status == 201, await created.text()
                    execution_id = (await created.json())["execution_id"]
                trigger = f"/workflows/{execution_id}/trigger"
                async with http.post(trigger, json={"params": PARAMS}) as triggered:
                    assert triggered.status == 202, await triggered.text()
                async with http.get(f"/workflows/{execution_id}/events") as events:
                    text = await events.text()  # the stream ends after its `run` event
                last = text.rstrip().rsplit("data: ", 1)[-1]
                assert json.loads(last)["status"] == "COMPLETED", last

            await timed_runs(execute, WARM_UP, in_flight)
            return await timed_runs(execute, runs, in_flight)

    return asyncio.run(measure())


def figures(total_s: float, latencies: list[float]) -> dict[str, float]:
    return {
        "runs_per_s": len(latencies) / total_s,
        "median_latency_ms": statistics.median(latencies) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--in-flight", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    samples: dict[str, list[dict[str, float]]] = {"in-process": [], "API": []}
    with tempfile.TemporaryDirectory() as folder:
        serve = ["-m", "flowdesk", "serve", "--port", "0", "--db", str(Path(folder) / "api.db")]
        serve += ["--max-concurrency", str(args.in_flight)]
        with (
            process(["-c", DEMO_SERVICE], ready=demo_ready),
            process(serve, ready=server_url) as url,
        ):
            for _ in range(args.repeat):  # alternating, so a slow minute hits both
                samples["in-process"].append(figures(*in_process(args.runs, args.in_flight)))
                samples["API"].append(figures(*through_api(url, args.runs, args.in_flight)))
    rows = {
        name: {key: statistics.median(s[key] for s in runs) for key in runs[0]}
        for name, runs in samples.items()
    }
    inside, api = rows["in-process"], rows["API"]
    cost_ms = 1000 / api["runs_per_s"] - 1000 / inside["runs_per_s"]
    print(f"{args.runs} executions of the seed example, {args.in_flight} in flight")
    print(f"{'':12}{'runs/s':>10}{'median create->COMPLETED':>28}")
    for name, row in rows.items():
        print(f"{name:12}{row['runs_per_s']:>10.0f}{row['median_latency_ms']:>25.1f} ms")
    print(
        f"API cost per run: {cost_ms:.2f} ms of throughput (target <= 2 ms), "
        f"{api['median_latency_ms'] - inside['median_latency_ms']:.1f} ms of median latency; "
        f"API runs/s target >= 200"
    )
    print(json.dumps({"in_process": inside, "api": api, "api_cost_ms": cost_ms}))


if __name__ == "__main__":
    main()
