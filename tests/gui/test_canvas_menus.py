"""Right-click menus, node tooltips and the modifier hint on the canvas, as a user meets them."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, Qt, QTimer
from PySide6.QtGui import QAction, QContextMenuEvent, QFocusEvent
from PySide6.QtWidgets import QApplication, QMenu

from flowdesk.engine import NodeState

from .helpers import scene_center, select


def texts(menu: QMenu) -> list[str]:
    return [a.text().replace("&", "") for a in menu.actions() if not a.isSeparator()]


def empty_point(window) -> QPointF:
    """A scene point left of every node."""
    left = min(n.view.sceneBoundingRect().left() for n in window.canvas.nodes.values())
    return QPointF(left - 300, 0)


def test_canvas_menu_offers_what_users_expect(seed, window):
    assert window.open_file(seed)
    window.canvas.select([])
    menu = window.canvas.context_menu_at(empty_point(window))
    assert texts(menu) == [
        "Add node (search)…",
        "Paste",
        "Zoom to fit",
        "Auto layout",
        "Select all",
    ]
    assert all(a.isEnabled() for a in menu.actions())
    menu.close()
    # With nodes selected, the canvas menu also acts on them.
    window.canvas.select(["get_user"])
    menu = window.canvas.context_menu_at(empty_point(window))
    assert {"Copy", "Duplicate", "Delete"} <= set(texts(menu))
    menu.close()


def test_node_menu_selects_the_node_and_acts_on_it(seed, window):
    assert window.open_file(seed)
    select(window, "input")
    center = window.canvas.nodes["get_user"].view.sceneBoundingRect().center()
    menu = window.canvas.context_menu_at(center)
    assert window.canvas.selected_ids() == ["get_user"]
    assert window.canvas.menu_node_id == "get_user"
    assert texts(menu) == [
        "Copy",
        "Duplicate",
        "Delete",
        "Run from here",  # the node commands' hook (gui/run_commands.py)
        "Zoom to fit",
        "Auto layout",
        "Select all",
    ]
    delete = next(a for a in menu.actions() if a.text() == "De&lete")
    delete.trigger()
    menu.close()
    assert not window.document.has_node("get_user")


def test_run_from_here_hook_adds_to_every_node_menu(seed, window):
    """The hook a later issue uses for "Run from here": the action knows the node clicked."""
    assert window.open_file(seed)
    clicked: list[str | None] = []
    action = QAction("Run from here", window)
    action.triggered.connect(lambda: clicked.append(window.canvas.menu_node_id))
    window.canvas.add_node_menu_action(action)
    center = window.canvas.nodes["get_posts"].view.sceneBoundingRect().center()
    menu = window.canvas.context_menu_at(center)
    assert "Run from here" in texts(menu)
    action.trigger()
    menu.close()
    assert clicked == ["get_posts"]
    assert "Run from here" not in texts(window.canvas.context_menu_at(empty_point(window)))


def test_a_real_right_click_shows_our_menu_not_nodegraphqts(seed, window, qtbot):
    assert window.open_file(seed)
    viewer = window.canvas.graph.viewer()
    # NodeGraphQt's own menus (its greyed Undo/Redo) are empty and never shown.
    assert viewer.context_menus()["graph"].actions() == []
    shown: list[list[str]] = []

    def close_popup() -> None:
        popup = QApplication.activePopupWidget()
        if isinstance(popup, QMenu):
            shown.append(texts(popup))
            popup.close()

    QTimer.singleShot(50, close_popup)
    point = scene_center(window, "output")
    event = QContextMenuEvent(
        QContextMenuEvent.Reason.Mouse, point, viewer.viewport().mapToGlobal(point)
    )
    viewer.contextMenuEvent(event)
    assert shown and shown[0][:3] == ["Copy", "Duplicate", "Delete"]
    assert "Undo" not in shown[0] and window.canvas.selected_ids() == ["output"]


def test_node_tooltips_describe_the_node(seed, window):
    assert window.open_file(seed)
    view = window.canvas.nodes["get_user"].view
    tip = view.toolTip()
    assert "get_user" in tip and "call_external_service" in tip
    window.canvas.paint_run_states({"get_user": (NodeState.RUNNING, "attempt 2")})
    assert "state: RUNNING (attempt 2)" in view.toolTip()
    # What Qt shows over the title: the first item there with a tooltip.
    scene = window.canvas.graph.viewer().scene()
    title = view.sceneBoundingRect().topLeft() + QPointF(view.boundingRect().width() / 2, 12)
    tips = [item.toolTip() for item in scene.items(title) if item.toolTip()]
    assert tips and tips[0] == view.toolTip()
    assert all("double-click to edit node name" not in t for t in tips)
    port_tip = window.canvas.nodes["get_user"].input_ports()[0].view.toolTip()
    assert "multi" not in port_tip and "Dependencies" in port_tip


def test_run_states_arrive_as_node_states(seed, window):
    assert window.open_file(seed)
    window.canvas.paint_run_states({"input": (NodeState.SUCCEEDED, ""), "output": (None, "")})
    assert window.canvas.run_state_of("input") is NodeState.SUCCEEDED
    assert window.canvas.run_state_of("output") is None


def test_modifier_hint_does_not_stay_after_a_shortcut_opens_a_dialog(seed, window, qtbot):
    """Ctrl pressed on the canvas shows NodeGraphQt's "CTRL: Deselect Nodes" hint; a shortcut
    that opens a dialog takes the key release away, so the hint stayed on the canvas and Ctrl
    counted as held (a later rubber band deselected)."""
    assert window.open_file(seed)
    viewer = window.canvas.graph.viewer()
    hint = viewer._cursor_text
    # Qt 6 reports Ctrl as held for its own press when the native event says "not yet".
    qtbot.keyPress(viewer, Qt.Key.Key_Control)
    assert viewer.CTRL_state and hint.isVisible() and "CTRL" in hint.toPlainText()
    # The dialog takes the focus (and with it the key release).
    QApplication.sendEvent(viewer, QFocusEvent(QEvent.Type.FocusOut))
    assert not hint.isVisible() and not viewer.CTRL_state
    # A Ctrl shortcut such as Ctrl+C never shows the drag hint at all.
    qtbot.keyPress(viewer, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert not hint.isVisible()
    qtbot.keyRelease(viewer, Qt.Key.Key_Control)  # the next test starts with no key held
