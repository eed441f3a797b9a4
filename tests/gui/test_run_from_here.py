"""Run > Run from here (Shift+F5) in the editor: the selected node and what follows it run, the
rest is painted REUSED and not called again, and a refusal is shown, naming the node."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QImage, QKeySequence, QPainter

from flowdesk.engine import RunState
from flowdesk.gui import theme

from .helpers import select
from .test_runs import INPUT, call, finish, painted, write


def chain(server) -> list[dict]:
    return [
        INPUT,
        call("user", f"{server.url}/users/1"),
        {
            "id": "name",
            "handler": "transform",
            "dependencies": ["user"],
            "config": {"value": "{{ user.body.name }}"},
        },
        {"id": "out", "handler": "output", "dependencies": ["name"]},
    ]


def colour_count(window, node_id: str, state: str) -> int:
    """Pixels of the node, drawn alone at scale 1, in the colour of `state` (outline and pill)."""
    view = window.canvas.nodes[node_id].view
    rect = view.sceneBoundingRect()
    image = QImage(int(rect.width()), int(rect.height()), QImage.Format.Format_ARGB32)
    image.fill(0)
    painter = QPainter(image)
    view.scene().render(painter, QRectF(image.rect()), rect)
    painter.end()
    wanted = QColor(*theme.STATE_COLORS[state]).rgb()
    return sum(
        1
        for x in range(image.width())
        for y in range(image.height())
        if image.pixel(x, y) == wanted
    )


def press_shift_f5(window, qtbot) -> None:
    viewer = window.canvas.graph.viewer()
    window.activateWindow()
    viewer.setFocus()
    qtbot.waitUntil(viewer.hasFocus, timeout=1000)
    qtbot.keyClick(viewer, Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier)


def test_shift_f5_runs_from_the_selected_node_and_paints_the_rest_reused(
    window, loop, server, tmp_path, qtbot
) -> None:
    runs = window.runs
    assert runs.act_run_from.shortcut() == QKeySequence("Shift+F5")
    assert runs.act_run_from in window.menuBar().actions()[2].menu().actions()  # Run menu
    window.open_file(write(tmp_path, chain(server)), ask=False)
    window.runs.run()
    first = finish(window, loop)
    assert first.state is RunState.COMPLETED
    select(window, "name")
    assert runs.act_run_from.isEnabled()
    server.reset()

    press_shift_f5(window, qtbot)
    assert runs.active, "Shift+F5 started a run"
    assert not runs.act_run_from.isEnabled(), "one run at a time"
    second = finish(window, loop)

    assert second.state is RunState.COMPLETED and second.run_id != first.run_id
    assert server.paths() == [], "the reused call was not made again"
    assert painted(window, "user") == "REUSED" and painted(window, "input") == "REUSED"
    assert painted(window, "name") == "SUCCEEDED"
    assert window.canvas.nodes["user"].view.run_badge == f"from {first.run_id[:8]}"
    assert second.nodes["user"].reused_from == first.run_id
    # Painted in the REUSED colour, which reads apart from SUCCEEDED's green.
    assert colour_count(window, "user", "REUSED") > 50
    assert colour_count(window, "user", "SUCCEEDED") == 0
    assert colour_count(window, "name", "SUCCEEDED") > 50
    # The inspector says where the output came from; the run log too.
    select(window, "user")
    title = runs.panel.inspector.title.text()
    assert "REUSED" in title and f"reused from run {first.run_id[:8]}" in title
    log = "\n".join(entry.text for entry in runs.controller.board.log)
    assert f"user REUSED: reused from run {first.run_id[:8]}" in log
    # The history lists the new run; showing it from the store paints the same.
    runs.panel.select_history(second.run_id)
    runs.panel.history_selected.emit(second.run_id)
    assert painted(window, "user") == "REUSED"


def test_a_refusal_is_shown_and_starts_nothing(window, loop, server, tmp_path, dialogs) -> None:
    window.open_file(write(tmp_path, chain(server)), ask=False)
    select(window, "name")
    assert window.runs.run_from_here() is None
    assert dialogs.errors == [
        "cannot run from 'name': no earlier run of workflow 'gui run' has stored outputs to "
        "reuse (run the whole workflow first)"
    ]
    assert window.statusBar().currentMessage().startswith("Cannot run from 'name': no earlier")
    assert not window.runs.active
    window.runs.run()
    first = finish(window, loop)
    window.controller.edit_config("user", {"url": f"{server.url}/users/2"})
    select(window, "name")
    assert window.runs.run_from_here() is None
    assert dialogs.errors[-1] == (
        f"cannot run from 'name': upstream node 'user' changed since run {first.run_id}"
    )
    assert window.service.list_runs(workflow="gui run")[0].run_id == first.run_id


def test_shift_f5_without_one_node_selected_says_what_it_needs(
    window, loop, server, tmp_path, qtbot
) -> None:
    runs, status = window.runs, window.statusBar()
    window.open_file(write(tmp_path, chain(server)), ask=False)
    window.canvas.select([])
    assert runs.act_run_from.isEnabled(), "enabled, so Shift+F5 can say what it needs"
    press_shift_f5(window, qtbot)
    assert not runs.active
    assert status.currentMessage().startswith("Run from here: select one node to run from")
    window.canvas.select(["user", "name"])
    press_shift_f5(window, qtbot)
    assert not runs.active
    assert status.currentMessage() == (
        "Run from here: 2 nodes are selected; select just the one to run from"
    )
    # Off while a run is active.
    runs.run()
    assert runs.active and not runs.act_run_from.isEnabled()
    finish(window, loop)
    assert runs.act_run_from.isEnabled()
