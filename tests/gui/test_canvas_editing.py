"""Wiring, undo/redo, cycles, moves, delete, copy/paste, rename: through the real window."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QApplication

from .helpers import canvas_inputs, select, type_into, unwire, wire


def open_seed(seed, window) -> None:
    assert window.open_file(seed)
    QApplication.processEvents()


def deps(window, node_id: str) -> list[str]:
    return window.document.definition.node(node_id).dependencies


def test_wire_undo_redo(seed, window):
    open_seed(seed, window)
    assert "get_user" not in deps(window, "get_posts")
    wire(window, "get_user", "get_posts")
    assert deps(window, "get_posts") == ["input", "get_user"]
    assert canvas_inputs(window, "get_posts") == {"input", "get_user"}
    assert window.isWindowModified()

    window.act_undo.trigger()
    assert deps(window, "get_posts") == ["input"]
    assert canvas_inputs(window, "get_posts") == {"input"}
    assert not window.isWindowModified()

    window.act_redo.trigger()
    assert deps(window, "get_posts") == ["input", "get_user"]
    assert canvas_inputs(window, "get_posts") == {"input", "get_user"}
    # NodeGraphQt's own undo stack never sees our edits.
    assert window.canvas.graph.undo_stack().count() == 0


def test_unwire_removes_dependency_and_undo_restores(seed, window):
    open_seed(seed, window)
    unwire(window, "get_user", "output")
    assert deps(window, "output") == ["get_posts", "get_comments"]
    assert canvas_inputs(window, "output") == {"get_posts", "get_comments"}
    window.act_undo.trigger()
    assert deps(window, "output") == ["get_user", "get_posts", "get_comments"]
    assert canvas_inputs(window, "output") == {"get_user", "get_posts", "get_comments"}


def test_wire_closing_a_cycle_is_refused_with_a_message(seed, window):
    open_seed(seed, window)
    before = window.document.definition
    wire(window, "output", "input")
    assert window.document.definition == before
    assert canvas_inputs(window, "input") == set()
    assert "cycle" in window.statusBar().currentMessage()
    assert window.document.undo_stack.count() == 0
    wire(window, "get_user", "get_user")
    assert "itself" in window.statusBar().currentMessage()
    assert canvas_inputs(window, "get_user") == {"input"}


def test_real_mouse_drag_between_ports_adds_dependency(seed, window, qtbot):
    open_seed(seed, window)
    viewer = window.canvas.graph.viewer()
    viewport = viewer.viewport()
    out_view = window.canvas.nodes["get_user"].output_ports()[0].view
    in_view = window.canvas.nodes["get_posts"].input_ports()[0].view
    start = viewer.mapFromScene(out_view.sceneBoundingRect().center())
    end = viewer.mapFromScene(in_view.sceneBoundingRect().center())
    qtbot.mousePress(viewport, Qt.MouseButton.LeftButton, pos=start)
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QMouseEvent

    for step in range(1, 11):
        point = start + (end - start) * step / 10
        move = QMouseEvent(
            QEvent.Type.MouseMove,
            QPointF(point),
            QPointF(viewport.mapToGlobal(point)),
            Qt.MouseButton.NoButton,
            Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier,
        )
        QApplication.sendEvent(viewport, move)
    qtbot.mouseRelease(viewport, Qt.MouseButton.LeftButton, pos=end)
    assert "get_user" in deps(window, "get_posts")
    assert canvas_inputs(window, "get_posts") == {"input", "get_user"}


def test_move_delete_and_undo(seed, window):
    open_seed(seed, window)
    view = window.canvas.nodes["get_user"].view
    old = tuple(view.xy_pos)
    # What the viewer reports after the user drags a node.
    view.xy_pos = [old[0] + 100, old[1] + 50]
    window.canvas.graph.viewer().moved_nodes.emit({view: list(old)})
    assert window.document.definition.layout["get_user"] == (old[0] + 100, old[1] + 50)
    window.act_undo.trigger()
    assert tuple(window.canvas.nodes["get_user"].view.xy_pos) == old
    assert window.document.definition.layout["get_user"] == old

    select(window, "get_user")
    window.canvas.graph.viewer().setFocus()
    window.act_delete.trigger()
    assert not window.document.has_node("get_user")
    assert "get_user" not in window.canvas.nodes
    assert deps(window, "output") == ["get_posts", "get_comments"]
    window.act_undo.trigger()
    assert window.document.has_node("get_user")
    assert canvas_inputs(window, "output") == {"get_user", "get_posts", "get_comments"}
    assert canvas_inputs(window, "get_user") == {"input"}


def test_delete_key_on_canvas(seed, window, qtbot):
    open_seed(seed, window)
    select(window, "get_comments")
    viewer = window.canvas.graph.viewer()
    viewer.setFocus()
    qtbot.keyClick(viewer, Qt.Key.Key_Delete)
    assert not window.document.has_node("get_comments")


def test_copy_paste_and_duplicate_keep_config_and_inner_wires(seed, window):
    open_seed(seed, window)
    window.canvas.select(["input", "get_user"])
    assert window.controller.copy_selected()
    new_ids = window.controller.paste()
    assert new_ids == ["input_2", "get_user_2"]
    pasted = window.document.definition.node("get_user_2")
    assert pasted.config == window.document.definition.node("get_user").config
    assert pasted.dependencies == ["input_2"]
    assert canvas_inputs(window, "get_user_2") == {"input_2"}
    assert window.canvas.selected_ids() == ["input_2", "get_user_2"] or set(
        window.canvas.selected_ids()
    ) == {"input_2", "get_user_2"}

    select(window, "get_posts")
    (dup,) = window.controller.duplicate_selected()
    assert dup == "get_posts_2"
    assert window.document.definition.node(dup).dependencies == ["input"]
    window.act_undo.trigger()
    assert not window.document.has_node(dup)


def test_rename_rewrites_templates_and_undo_restores(seed, window):
    open_seed(seed, window)
    select(window, "get_posts")
    type_into(window.config_form.fields["url"].widget, "http://x/{{ get_user.body.id }}/posts")
    wire(window, "get_user", "get_posts")
    select(window, "get_user")
    type_into(window.config_form.id_edit, "fetch_user")
    definition = window.document.definition
    assert definition.node("get_posts").config["url"] == "http://x/{{ fetch_user.body.id }}/posts"
    assert definition.node("get_posts").dependencies == ["input", "fetch_user"]
    assert "fetch_user" in definition.layout and "get_user" not in definition.layout
    assert window.canvas.nodes["fetch_user"].view.name == "fetch_user"
    assert canvas_inputs(window, "get_posts") == {"input", "fetch_user"}

    window.act_undo.trigger()
    assert (
        window.document.definition.node("get_posts")
        .config["url"]
        .endswith("{{ get_user.body.id }}/posts")
    )
    assert window.canvas.nodes["get_user"].view.name == "get_user"
    assert canvas_inputs(window, "get_posts") == {"input", "get_user"}


def test_rename_refuses_duplicate_and_invalid_ids(seed, window):
    open_seed(seed, window)
    select(window, "get_user")
    type_into(window.config_form.id_edit, "get_posts")
    assert "already exists" in window.config_form.id_message.text()
    type_into(window.config_form.id_edit, "2bad id")
    assert "not a valid id" in window.config_form.id_message.text()
    type_into(window.config_form.id_edit, "params")
    assert "reserved" in window.config_form.id_message.text()
    assert window.document.has_node("get_user")
    assert window.document.undo_stack.count() == 0


def test_rename_in_place_on_canvas(seed, window):
    open_seed(seed, window)
    node = window.canvas.nodes["get_user"]
    window.canvas.graph.viewer().node_name_changed.emit(node.id, "user")
    assert window.document.has_node("user")
    window.canvas.graph.viewer().node_name_changed.emit(node.id, "get_posts")
    assert window.document.has_node("user")
    assert node.view.name == "user"
    assert "already exists" in window.statusBar().currentMessage()


def test_auto_layout_orders_columns_by_depth_and_undoes(seed, window):
    open_seed(seed, window)
    before = window.document.definition.layout
    window.act_layout.trigger()
    layout = window.document.definition.layout
    assert layout["input"][0] < layout["get_user"][0] < layout["output"][0]
    assert layout["get_user"][0] == layout["get_posts"][0]
    assert tuple(window.canvas.nodes["output"].view.xy_pos) == layout["output"]
    window.act_undo.trigger()
    assert window.document.definition.layout == before


def test_palette_double_click_and_drop_add_nodes(seed, window):
    from .helpers import drop_handler

    node_id = drop_handler(window, "delay", (50, 50))
    assert node_id == "delay"
    x, y = window.document.definition.layout["delay"]
    assert abs(x - 50) <= 2 and abs(y - 50) <= 2  # view <-> scene mapping rounds to pixels
    item = window.palette.handler_items()["delay"]
    window.palette.tree.itemActivated.emit(item, 0)
    assert window.document.has_node("delay_2")
    window.act_undo.trigger()
    window.act_undo.trigger()
    assert window.document.node_ids() == []


def test_palette_lists_plugin_handlers_with_their_own_look(qtbot, dialogs, tmp_path):
    from pydantic import BaseModel
    from PySide6.QtCore import QSettings

    from flowdesk.engine.handlers import BUILTIN_HANDLERS
    from flowdesk.engine.registry import HandlerSpec, registry_of
    from flowdesk.gui import theme
    from flowdesk.gui.main_window import MainWindow

    class ShoutConfig(BaseModel):
        text: str
        loud: bool = True

    async def shout(config, context):
        return config.text.upper()

    plugin = HandlerSpec("shout", ShoutConfig, shout, "Upper-cases text.", "Plugins")
    registry = registry_of([*BUILTIN_HANDLERS, plugin])
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    window = MainWindow(registry=registry, dialogs=dialogs, settings=settings)
    qtbot.addWidget(window, before_close_func=lambda w: w.document.undo_stack.setClean())
    assert "shout" in window.palette.handler_items()
    node_id = window.controller.add_node("shout", (0, 0))
    view = window.canvas.nodes[node_id].view
    assert view.accent == theme.accent_for("shout", "Plugins")
    assert view.accent != theme.accent_for("input", "Data")
    assert view.handler_name == "shout"
    select(window, node_id)
    assert set(window.config_form.fields) == {"text", "loud"}
    window.config_form.fields["loud"].widget.click()
    assert window.document.definition.node(node_id).config == {"loud": False}
