# ruff: noqa: F811 - pytest fixtures imported from the editor tests are parameters here
"""The editor with Run > Execute on > Celery workers: the canvas is painted live from a run whose
handlers execute on a real worker, the status bar counts the workers, and an unreachable broker
is a dialog before anything runs."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from gui.conftest import (  # noqa: F401 - the editor's fixtures, autouse ones included
    collect_qt_garbage_here,
    dialogs,
    loop,
    private_store,
    release_clipboard,
    window,
)

from flowdesk.engine import RunState

from .helpers import closed_port_url

pytestmark = pytest.mark.usefixtures("shared_worker", "plugins_installed")


async def until(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


def open_naps(window, tmp_path) -> None:
    nodes = [
        {"id": "input", "handler": "input"},
        *(
            {"id": f"nap{i}", "handler": "nap", "dependencies": ["input"], "config": {"seconds": 1}}
            for i in range(2)
        ),
        {"id": "output", "handler": "output", "dependencies": ["nap0", "nap1"]},
    ]
    path = tmp_path / "naps.json"
    path.write_text(json.dumps({"name": "naps on workers", "dag": {"nodes": nodes}}))
    window.open_file(str(path), ask=False)


def painted(window, node_id: str) -> str | None:
    return window.canvas.nodes[node_id].view.run_state


def test_the_editor_paints_a_run_executed_by_workers(window, loop, redis_url, tmp_path) -> None:
    window.execute_on.use_celery(redis_url)
    loop.run_until_complete(until(lambda: window.execute_on.executor.live_workers() == 1))
    window.execute_on.show_workers()
    assert window.execute_on.workers_label.text() == "Workers: 1"
    assert window.execute_on.act_celery.isChecked()
    open_naps(window, tmp_path)
    seen: dict[str, set[str]] = {"nap0": set(), "nap1": set()}

    def watch() -> bool:
        for node in seen:
            seen[node].add(painted(window, node))
        return False

    run_id = window.runs.run()
    assert run_id is not None
    controller = window.runs.controller
    loop.run_until_complete(until(lambda: watch() or not controller.active))
    loop.run_until_complete(controller.task)
    loop.run_until_complete(until(lambda: not controller.painting))
    result = controller.board.result
    assert result.state is RunState.COMPLETED
    for node in ("nap0", "nap1"):
        assert "RUNNING" in seen[node]  # amber while a worker had it
        assert painted(window, node) == "SUCCEEDED"
        assert result.nodes[node].output["worker_pid"] > 0
    stored = window.service.load(run_id)
    assert stored.state is RunState.COMPLETED
    assert window.execute_on.menu.isEnabled()  # locked only while the run was active


def test_an_unreachable_broker_is_a_dialog_and_nothing_runs(
    window, dialogs, loop, tmp_path
) -> None:
    url = closed_port_url()
    window.execute_on.use_celery(url)
    open_naps(window, tmp_path)
    assert window.runs.run() is None
    assert len(dialogs.errors) == 1
    assert dialogs.errors[0].startswith(f"cannot reach the broker at {url}")
    assert window.service.list_runs() == []
    window.execute_on.use_local()
    assert window.service.executor is None
    assert window.execute_on.workers_label.isHidden()
