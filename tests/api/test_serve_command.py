"""`flowdesk serve` as a user runs it: shutdown on a signal, a restart, and refusals to start."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx

from flowdesk.runs import RunService

from .helpers import ServeProcess, waiting


def test_a_signal_cancels_runs_in_flight_and_answers_survive_a_restart(db, registry) -> None:
    create_key, trigger_key = {"Idempotency-Key": "create"}, {"Idempotency-Key": "trigger"}
    first = ServeProcess(db)
    with httpx.Client(base_url=first.url, timeout=30) as client:
        created = client.post("/workflows", json=waiting(), headers=create_key)
        execution_id = created.json()["execution_id"]
        triggered = client.post(f"/workflows/{execution_id}/trigger", headers=trigger_key)
        assert triggered.status_code == 202
        deadline = time.monotonic() + 20
        while client.get(f"/workflows/{execution_id}").json()["nodes"]["wait"]["status"] != (
            "RUNNING"
        ):
            assert time.monotonic() < deadline
            time.sleep(0.02)
    code, stderr = first.stop(signal.SIGTERM)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    with RunService(registry, db) as service:
        stored = service.get(execution_id)
    assert stored.state.value == "CANCELLED", "never left RUNNING"
    assert {n: r.state.value for n, r in stored.result.nodes.items()} == {
        "input": "SUCCEEDED",
        "wait": "CANCELLED",
        "output": "SKIPPED",
    }

    second = ServeProcess(db)
    with httpx.Client(base_url=second.url, timeout=30) as client:
        again = client.post("/workflows", json=waiting(), headers=create_key)
        assert (again.status_code, again.json()) == (201, created.json())
        assert again.headers["Idempotent-Replayed"] == "true"
        retried = client.post(f"/workflows/{execution_id}/trigger", headers=trigger_key)
        assert (retried.status_code, retried.json()) == (202, triggered.json())
        assert client.get(f"/workflows/{execution_id}").json()["status"] == "CANCELLED"
        other = client.post("/workflows", json=waiting(name="other"), headers=create_key)
        assert other.status_code == 422
        assert len(client.get("/runs").json()["runs"]) == 1
    code, stderr = second.stop(signal.SIGINT)
    assert code == 0, stderr


def _serve(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowdesk", "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_another_address_needs_a_token(tmp_path) -> None:
    env = {**os.environ, "FLOWDESK_DB": str(tmp_path / "x.db"), "FLOWDESK_API_TOKEN": ""}
    refused = _serve("--host", "0.0.0.0", "--port", "0", env=env)
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1
    assert "0.0.0.0" in refused.stderr and "token" in refused.stderr
    assert not (tmp_path / "x.db").exists()


def test_a_port_in_use_is_one_line_naming_it(tmp_path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused = _serve("--port", str(port), "--db", str(tmp_path / "x.db"))
    assert refused.returncode == 2
    assert refused.stderr.count("\n") == 1
    assert f"port {port}" in refused.stderr and "in use" in refused.stderr
