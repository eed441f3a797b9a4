"""canvas.py leans on NodeGraphQt internals: fail loudly if an upgrade removes or renames one.

pyproject.toml pins NodeGraphQt to the minor version these were written against;
move the pin only with this test passing. Also: no other module touches NodeGraphQt.
"""

from __future__ import annotations

import inspect
import re
import tomllib
from importlib.metadata import version

from NodeGraphQt import BaseNode, NodeGraph
from NodeGraphQt.qgraphics.node_base import NodeItem
from NodeGraphQt.qgraphics.node_text_item import NodeTextItem
from NodeGraphQt.widgets.viewer import NodeViewer

from flowdesk.gui.canvas import (
    CanvasView,
    FlowGraph,
    FlowNode,
    FlowNodeItem,
    FlowTitleItem,
    FlowViewer,
)

from .conftest import REPO

# Private methods and slots canvas.py overrides, per NodeGraphQt class.
OVERRIDDEN = {
    NodeGraph: {
        "_on_connection_changed",
        "_on_connection_sliced",
        "_on_insert_node",
        "_on_nodes_moved",
        "_on_search_triggered",
        "_on_node_data_dropped",
        "_on_node_name_changed",
    },
    NodeViewer: set(),
    NodeItem: {"_tooltip_disable"},
    BaseNode: set(),
    NodeTextItem: set(),
}
# Public event handlers FlowViewer overrides (a rename would silently drop ours).
VIEWER_EVENTS = {"contextMenuEvent", "keyPressEvent", "focusOutEvent"}
# What FlowTitleItem overrides or calls on NodeGraphQt's title (the in-place rename field).
TITLE_MEMBERS = {"set_editable", "set_node_name", "keyPressEvent", "focusOutEvent"}
# Private members canvas.py reads or calls.
VIEWER_MEMBERS = {"_cursor_text", "_scene_range", "_update_scene"}
NODE_ITEM_MEMBERS = {"_text_item"}
SUBCLASSES = {
    NodeGraph: FlowGraph,
    NodeViewer: FlowViewer,
    NodeItem: FlowNodeItem,
    BaseNode: FlowNode,
    NodeTextItem: FlowTitleItem,
}


def private_names(cls: type) -> set[str]:
    return {name for name in vars(cls) if name.startswith("_") and not name.startswith("__")}


def test_overridden_private_members_exist_and_are_all_listed() -> None:
    """Every private name a subclass defines that NodeGraphQt also has is a listed override,
    and every listed override still exists: so no upgrade can silently add or drop one."""
    for base, ours in SUBCLASSES.items():
        clashing = {name for name in private_names(ours) if hasattr(base, name)}
        assert clashing == OVERRIDDEN[base], base.__name__
        for name in OVERRIDDEN[base]:
            assert callable(getattr(base, name)), f"{base.__name__}.{name}"


def test_nodegraph_still_connects_the_slots_we_override() -> None:
    """The overrides only run because NodeGraph connects its viewer's signals to them."""
    wiring = inspect.getsource(NodeGraph._wire_signals)
    for name in OVERRIDDEN[NodeGraph]:
        assert f"self.{name})" in wiring, name


def test_viewer_events_and_private_members_used_exist(qapp) -> None:
    for name in VIEWER_EVENTS:
        assert name in vars(NodeViewer), name
    graph = FlowGraph()
    viewer = graph.viewer()
    for name in VIEWER_MEMBERS:
        assert hasattr(viewer, name), name
    assert callable(viewer._update_scene)
    for state in ("ALT_state", "CTRL_state", "SHIFT_state", "RMB_state"):
        assert hasattr(viewer, state), state
    graph.register_node(FlowNode)
    node = graph.create_node(FlowNode.type_, push_undo=False)
    for name in NODE_ITEM_MEMBERS:
        assert hasattr(node.view, name), name
    for name in TITLE_MEMBERS:
        assert name in vars(NodeTextItem), name
    # FlowNodeItem's title replaces NodeItem's, whose name setter and draw_node it relies on.
    assert isinstance(node.view.text_item, FlowTitleItem)
    assert isinstance(vars(NodeItem)["name"], property)
    for name in ("draw_node", "inputs", "outputs"):
        assert hasattr(NodeItem, name), name


def test_nodegraphqt_is_pinned_to_the_minor_version_it_was_written_against() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    pins = [d for d in pyproject["project"]["dependencies"] if d.startswith("NodeGraphQt")]
    assert pins == ["NodeGraphQt>=0.6.44,<0.7"]
    assert version("NodeGraphQt").startswith("0.6.")


def test_only_canvas_touches_nodegraphqt() -> None:
    """No other editor module imports NodeGraphQt, reaches for its viewer or node items, or
    spells its mime type; CanvasView has methods for what they need."""
    pattern = re.compile(r"(import|from) NodeGraphQt|\.viewer\(\)|\.view\b|nodegraphqt/")
    offenders = []
    for path in sorted((REPO / "flowdesk").rglob("*.py")):
        if path.name == "canvas.py" or "model" in path.parts:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line) and not line.lstrip().startswith("#"):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert offenders == []
    assert hasattr(CanvasView, "add_canvas_action") and hasattr(CanvasView, "widget")
