"""The editor on the run service: resume with the current workflow, a history that lists a run
the moment it starts and picks up other processes' runs, and interrupted nodes."""

from __future__ import annotations

import asyncio

from PySide6.QtCore import QEvent
from PySide6.QtGui import QGuiApplication

from flowdesk.engine import NodeState, RunState
from flowdesk.gui.run_commands import RESUME_CURRENT_NOTE
from flowdesk.gui.run_panel import HISTORY_COLUMNS
from flowdesk.model import workflow_from_data
from flowdesk.runs import RunService
from flowdesk.store import resolve_db_location

from .test_runs import INPUT, call, finish, painted, until, write


def branches(server) -> list[dict]:
    return [
        INPUT,
        call("healthy", f"{server.url}/users/2"),
        call("broken", f"{server.url}/fail"),
        {"id": "out", "handler": "output", "dependencies": ["healthy", "broken"]},
    ]


def test_resume_with_current_workflow_reruns_only_what_was_changed(
    window, loop, server, tmp_path
) -> None:
    window.open_file(write(tmp_path, branches(server)), ask=False)
    window.runs.run()
    first = finish(window, loop)
    assert first.state is RunState.FAILED
    runs = window.runs
    # The difference between the two resumes is explained before anyone clicks.
    assert runs.panel.resume_current_button.isEnabled()
    assert RESUME_CURRENT_NOTE in runs.panel.resume_current_button.toolTip()
    assert "did not change" in runs.act_resume_current.toolTip()

    window.controller.edit_config("broken", {"url": f"{server.url}/users/1"})  # the fix
    runs.panel.select_history(first.run_id)
    runs.panel.history_selected.emit(first.run_id)
    assert "earlier version" in runs.panel.note.text()
    server.reset()
    runs.panel.resume_current_button.click()
    second = finish(window, loop)
    assert second.run_id == first.run_id
    assert second.state is RunState.COMPLETED
    assert server.paths() == ["/users/1"], "healthy kept its output; only the fix ran"
    # Kept by the resume: REUSED (from this very run) while it runs and once it has ended.
    assert painted(window, "healthy") == "REUSED"
    assert window.canvas.nodes["healthy"].view.run_badge == "this run"
    assert second.nodes["healthy"].reused_from == first.run_id
    assert second.results["out"]["broken"]["body"]["id"] == 1
    # The history keeps the first start and shows the resume beside it.
    history = runs.panel.history
    started = history.item(0, HISTORY_COLUMNS.index("Started")).text()
    assert started == first.started_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    assert history.item(0, HISTORY_COLUMNS.index("Resumed")).text()


def test_a_run_is_listed_as_running_from_its_start(window, loop, tmp_path) -> None:
    wait = {"id": "wait", "handler": "delay", "dependencies": ["input"], "config": {"seconds": 5}}
    window.open_file(write(tmp_path, [INPUT, wait]), ask=False)
    run_id = window.runs.run()
    panel = window.runs.panel
    assert panel.history.rowCount() == 1
    assert panel.selected_run_id() == run_id
    loop.run_until_complete(until(lambda: panel.history.item(0, 0).text() == "RUNNING"))
    window.runs.cancel()
    finish(window, loop)
    assert panel.history.item(0, 0).text() == "CANCELLED"


def test_runs_of_other_processes_appear_when_the_window_gains_focus(
    window, loop, tmp_path, registry
) -> None:
    window.open_file(write(tmp_path, [INPUT], name="shared"), ask=False)
    assert window.runs.panel.history.rowCount() == 0
    definition = workflow_from_data({"name": "shared", "dag": {"nodes": [INPUT]}})
    with RunService(registry, resolve_db_location().path) as elsewhere:  # another process
        handle = elsewhere.start(definition)
        asyncio.run(handle.execute())  # type: ignore[union-attr]
    window.activateWindow()
    QGuiApplication.sendEvent(window, QEvent(QEvent.Type.ActivationChange))
    assert window.isActiveWindow()
    assert window.runs.panel.history.rowCount() == 1
    assert window.runs.panel.history.item(0, 0).text() == "COMPLETED"


def test_the_timer_refreshes_the_history_while_the_panel_is_visible(
    window, loop, tmp_path, registry
) -> None:
    window.open_file(write(tmp_path, [INPUT], name="timed"), ask=False)
    window.runs_dock.show()
    window.runs_dock.raise_()
    definition = workflow_from_data({"name": "timed", "dag": {"nodes": [INPUT]}})
    with RunService(registry, resolve_db_location().path) as elsewhere:
        asyncio.run(elsewhere.start(definition).execute())  # type: ignore[union-attr]
    window.runs._refresh_timer.timeout.emit()
    assert window.runs.panel.history.rowCount() == 1


def test_a_node_that_was_running_when_its_process_died_is_shown_interrupted(
    window, loop, tmp_path
) -> None:
    window.open_file(write(tmp_path, [INPUT, call("slow", "http://127.0.0.1:9/")]), ask=False)
    service = window.service
    definition = window.document.definition
    handle = service.start(definition)
    run_id = handle.run_id  # type: ignore[union-attr]
    with service.store.writer._connect() as connection:  # what a killed process leaves
        connection.execute("UPDATE runs SET state = 'INTERRUPTED' WHERE id = ?", (run_id,))
        connection.execute(
            "UPDATE node_runs SET state = 'SUCCEEDED', output_json = '{}' "
            "WHERE run_id = ? AND node_id = 'input'",
            (run_id,),
        )
        connection.execute(
            "UPDATE node_runs SET state = 'INTERRUPTED' WHERE run_id = ? AND node_id = 'slow'",
            (run_id,),
        )
    service._active.clear()
    window.runs.refresh_history()
    window.runs.show_history_run(run_id)
    assert painted(window, "slow") == NodeState.INTERRUPTED.value
    window.canvas.select(["slow"])
    assert "INTERRUPTED" in window.runs.panel.inspector.title.text()
    assert window.runs.panel.findChild(type(window.runs.panel.status), "legend_INTERRUPTED")


def test_closing_after_discarding_changes_raises_nothing(window, qtbot) -> None:
    window.controller.add_node("input")
    assert window.document.modified
    window.dialogs.unsaved_answers.append("discard")
    window.close()  # the stack turns clean while the window is torn down
    qtbot.wait(10)
    assert not window.isVisible()


def test_a_run_ending_while_close_is_asked_lets_the_window_close(window, loop, tmp_path) -> None:
    wait = {"id": "wait", "handler": "delay", "dependencies": ["input"], "config": {"seconds": 0.2}}
    window.open_file(write(tmp_path, [INPUT, wait]), ask=False)
    window.runs.run()
    runs = window.runs

    def answer_after_the_run_ended(parent, title, question):
        loop.run_until_complete(runs.controller.task)  # the user took a while to answer
        return True

    window.dialogs.confirm = answer_after_the_run_ended
    assert runs.confirm_close() is True  # close now: there is nothing left to cancel
    assert runs.close_when_done is False


def test_close_during_a_run_closes_once_the_run_is_cancelled_and_only_then(
    window, loop, tmp_path
) -> None:
    wait = {"id": "wait", "handler": "delay", "dependencies": ["input"], "config": {"seconds": 30}}
    window.open_file(write(tmp_path, [INPUT, wait]), ask=False)
    window.runs.run()
    closed: list[bool] = []
    window.runs.close_allowed.disconnect()
    window.runs.close_allowed.connect(lambda: closed.append(True))
    window.dialogs.confirm_answers.append(True)
    assert window.runs.confirm_close() is False
    result = finish(window, loop)
    assert result.state is RunState.CANCELLED
    assert closed == [True]
    assert window.runs.close_when_done is False  # a later run never closes the window


def test_the_inspector_says_when_no_run_is_on_show(window) -> None:
    node_id = window.controller.add_node("input")
    window.canvas.select([node_id])
    assert "no run on show" in window.runs.panel.inspector.title.text()
