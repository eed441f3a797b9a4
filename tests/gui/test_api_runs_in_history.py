"""Runs started through the REST API by another process appear in the editor's history."""

from __future__ import annotations

import json
import signal
import time

import httpx
from api.helpers import ServeProcess

from .test_runs import INPUT, painted, write

WAIT = {"id": "wait", "handler": "delay", "dependencies": ["input"], "config": {"seconds": 30}}


def _refreshed_until(window, text: str) -> None:
    """What the Runs panel's timer does every few seconds, until the first row says `text`."""
    deadline = time.monotonic() + 20
    while True:
        window.runs._refresh_timer.timeout.emit()
        history = window.runs.panel.history
        if history.rowCount() and history.item(0, 0).text() == text:
            return
        assert time.monotonic() < deadline, f"the history never showed {text}"
        time.sleep(0.05)


def test_a_run_of_flowdesk_serve_is_listed_running_then_cancelled(
    window, loop, tmp_path, private_store
) -> None:
    window.open_file(write(tmp_path, [INPUT, WAIT], name="served"), ask=False)
    window.runs_dock.show()
    window.runs_dock.raise_()
    assert window.runs.panel.history.rowCount() == 0
    server = ServeProcess(private_store)  # another process on the editor's database
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            definition = json.loads((tmp_path / "wf.json").read_text())
            execution_id = client.post("/workflows", json=definition).json()["execution_id"]
            _refreshed_until(window, "PENDING")
            client.post(f"/workflows/{execution_id}/trigger")
            deadline = time.monotonic() + 20
            while client.get(f"/workflows/{execution_id}").json()["nodes"]["wait"]["status"] != (
                "RUNNING"
            ):
                assert time.monotonic() < deadline
                time.sleep(0.02)
        _refreshed_until(window, "RUNNING")
        assert window.runs.panel.selected_run_id() in (None, execution_id)
        window.runs.show_history_run(execution_id)  # inspected, not painted live
        assert painted(window, "wait") == "RUNNING"
        assert painted(window, "input") == "SUCCEEDED"
    finally:
        code, stderr = server.stop(signal.SIGTERM)
    assert code == 0, stderr
    _refreshed_until(window, "CANCELLED")
