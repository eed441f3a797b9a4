"""The store failing under a run, through the real command line (issue 12, points 9 and 10):
a node output SQLite cannot hold fails that node only; another process holding the write lock
mid-run stops the run INTERRUPTED, as the display and the file both say, and resume finishes it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import closing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cli_process import run_flowdesk

MAX_LENGTH = 20_000
"""FLOWDESK_DB_MAX_LENGTH for these runs: SQLite refuses any value (or row) longer than this."""


def flowdesk_env(db: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "FLOWDESK_DB": str(db), **extra}
    env.pop("FLOWDESK_DEBUG", None)
    return env


def flowdesk(*args: str, db: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return run_flowdesk(*args, env=flowdesk_env(db, **extra))


def write(tmp_path: Path, name: str, nodes: list[dict]) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"name": name, "dag": {"nodes": nodes}}))
    return str(path)


def stored_states(db: Path, run_id: str) -> tuple[str, dict[str, str]]:
    with closing(sqlite3.connect(db)) as connection:
        (run_state,) = connection.execute(
            "SELECT state FROM runs WHERE id = ?", (run_id,)
        ).fetchone()
        nodes = dict(
            connection.execute("SELECT node_id, state FROM node_runs WHERE run_id = ?", (run_id,))
        )
    return run_state, nodes


# -- point 9: a value too large for SQLite -----------------------------------------------------


def test_an_output_sqlite_cannot_hold_fails_its_node_and_the_run_goes_on(tmp_path) -> None:
    nodes = [
        {"id": "input", "handler": "input"},
        {"id": "small", "handler": "transform", "dependencies": ["input"], "config": {"value": 1}},
        {
            "id": "huge",
            "handler": "transform",
            "dependencies": ["input"],
            "config": {"value": "{{ 'x' * params.n }}"},
        },
        {
            "id": "after",
            "handler": "transform",
            "dependencies": ["huge"],
            "config": {"value": "{{ huge | length }}"},
        },
        {"id": "out", "handler": "output", "dependencies": ["small", "after"]},
    ]
    db = tmp_path / "runs.db"
    env = {"FLOWDESK_DB_MAX_LENGTH": str(MAX_LENGTH)}
    params = json.dumps({"n": 3 * MAX_LENGTH})
    result = flowdesk("run", write(tmp_path, "big", nodes), "--params", params, db=db, **env)

    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    [failed] = [line for line in result.stderr.splitlines() if "FAILED" in line and "huge" in line]
    assert "result too large to store: string or blob too big" in failed
    assert "damaged" not in result.stderr
    run_id = result.stderr.splitlines()[-1].split()[-1]

    shown = flowdesk("runs", "show", run_id, "--json", db=db)
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert report["status"] == "FAILED"
    states = {node_id: node["status"] for node_id, node in report["nodes"].items()}
    assert states == {
        "input": "SUCCEEDED",
        "small": "SUCCEEDED",
        "huge": "FAILED",
        "after": "SKIPPED",
        "out": "SKIPPED",
    }
    assert report["nodes"]["huge"]["output"] is None
    assert report["nodes"]["huge"]["error"] == (
        f"result too large to store: string or blob too big for database {db}"
    )
    assert report["nodes"]["small"]["output"] == 1
    assert stored_states(db, run_id)[0] == "FAILED"


def test_params_sqlite_cannot_hold_are_refused_before_anything_runs(tmp_path) -> None:
    nodes = [{"id": "input", "handler": "input"}]
    db = tmp_path / "runs.db"
    params = json.dumps({"text": "x" * 2 * MAX_LENGTH})
    result = flowdesk(
        "run",
        write(tmp_path, "params", nodes),
        "--params",
        params,
        db=db,
        FLOWDESK_DB_MAX_LENGTH=str(MAX_LENGTH),
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [f"flowdesk: string or blob too big for database {db}"]


# -- point 10: another process takes the write lock mid-run --------------------------------------


class HeldService:
    """A loopback HTTP endpoint that answers /hold only once the test lets it."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        self.calls = 0
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                service.calls += 1
                service.arrived.set()
                service.release.wait(30)
                body = b'{"held": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hold"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def held_service() -> Iterator[HeldService]:
    service = HeldService()
    try:
        yield service
    finally:
        service.close()


class LockHolder:
    """Another process holding SQLite's write lock (BEGIN IMMEDIATE) until told to let go."""

    def __init__(self, db: Path) -> None:
        code = (
            "import sqlite3, sys\n"
            f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
            "c.execute('BEGIN IMMEDIATE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.readline()\n"
            "c.execute('COMMIT')\n"
        )
        self.process = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout.readline().strip() == "locked"

    def release(self) -> None:
        if self.process.poll() is None:
            self.process.communicate("\n", timeout=30)


def wait_for(condition, what: str) -> None:
    event = threading.Event()
    for _ in range(500):
        if condition():
            return
        event.wait(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_lock_taken_mid_run_interrupts_it_cleanly_and_resume_finishes_it(
    tmp_path, held_service
) -> None:
    nodes = [
        {"id": "input", "handler": "input"},
        {"id": "first", "handler": "transform", "dependencies": ["input"], "config": {"value": 1}},
        {
            "id": "held",
            "handler": "call_external_service",
            "dependencies": ["first"],
            "config": {"url": held_service.url},
        },
        {
            "id": "then",
            "handler": "transform",
            "dependencies": ["held"],
            "config": {"value": "{{ held.body.held }}"},
        },
        {"id": "out", "handler": "output", "dependencies": ["then"]},
    ]
    workflow = write(tmp_path, "held", nodes)
    db = tmp_path / "runs.db"
    cli = subprocess.Popen(
        [sys.executable, "-m", "flowdesk", "run", workflow],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=flowdesk_env(db, FLOWDESK_DB_TIMEOUT="0.5"),
    )
    holder = None
    try:
        assert held_service.arrived.wait(30), "the run never called the service"

        def held_marked_running() -> bool:
            with closing(sqlite3.connect(db)) as connection:
                row = connection.execute(
                    "SELECT state FROM node_runs WHERE node_id = 'held'"
                ).fetchone()
            return row == ("RUNNING",)

        wait_for(held_marked_running, "the held node to be marked RUNNING")
        holder = LockHolder(db)
        held_service.release.set()  # the node now finishes while another process holds the lock
        _out, err = cli.communicate(timeout=60)
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.communicate()
        held_service.release.set()
        if holder is not None and cli.returncode != 2:
            holder.release()

    assert cli.returncode == 2, err
    assert "Traceback" not in err
    lines = err.splitlines()
    run_id = lines[0].split()[1]
    # The progress display: the held node and the run INTERRUPTED, nothing else started.
    assert any("held" in line and "INTERRUPTED" in line for line in lines), err
    assert any(line.startswith(f"run {run_id} INTERRUPTED") for line in lines), err
    assert not any("then" in line for line in lines), err
    # The reason, in one line, last.
    reason = lines[-1]
    assert reason.startswith(f"flowdesk: database {db} is locked by another process"), reason
    assert f"run {run_id} stopped, INTERRUPTED" in reason
    assert reason.endswith(f"resume with: flowdesk runs resume {run_id}")
    assert sum("locked" in line for line in lines) == 1, "the reason is said once"

    holder.release()  # (opening the store while it is held would wait for the lock)
    shown = flowdesk("runs", "show", run_id, "--json", db=db)
    report = json.loads(shown.stdout)
    assert report["status"] == "INTERRUPTED"
    states = {node_id: node["status"] for node_id, node in report["nodes"].items()}
    assert states == {
        "input": "SUCCEEDED",
        "first": "SUCCEEDED",
        "held": "INTERRUPTED",
        "then": "PENDING",
        "out": "PENDING",
    }

    resumed = flowdesk("runs", "resume", run_id, "--json", db=db)
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["status"] == "COMPLETED"
    assert report["results"] == {"out": {"then": True}}
    assert held_service.calls == 2  # once interrupted, once resumed; `first` kept its output
    assert stored_states(db, run_id) == (
        "COMPLETED",
        dict.fromkeys(("input", "first", "held", "then", "out"), "SUCCEEDED"),
    )
