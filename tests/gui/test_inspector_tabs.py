"""The inspector never leaves its hidden Items tab current: after a run, a node's Output is on
show at once (it was a blank area, no tab selected, until a tab was clicked)."""

from __future__ import annotations

from flowdesk.engine import NodeResult, NodeState
from flowdesk.gui.item_list import LiveItems
from flowdesk.gui.run_panel import NodeInspector

from .helpers import select
from .test_map_in_editor import mapped, numbers, open_nodes
from .test_runs import finish


def test_a_new_inspector_shows_output_not_the_hidden_items_tab(qtbot) -> None:
    inspector = NodeInspector()
    qtbot.addWidget(inspector)
    inspector.show()
    tabs = inspector.tabs
    assert not tabs.isTabVisible(tabs.indexOf(inspector.items))
    inspector.show_node("a", NodeResult(node_id="a", state=NodeState.SUCCEEDED, output=[7]))
    assert tabs.currentWidget() is inspector.output
    assert tabs.tabBar().currentIndex() == tabs.indexOf(inspector.output)
    assert inspector.output.isVisible() and inspector.output.text_of("[0]") == "7"

    each = NodeResult(node_id="each", state=NodeState.SUCCEEDED, output=[1])
    inspector.show_node("each", each, items=LiveItems(("r", "each", "live"), lambda: None))
    assert tabs.currentWidget() is inspector.items
    inspector.show_node("a", NodeResult(node_id="a", state=NodeState.SUCCEEDED, output=[7]))
    assert tabs.currentWidget() is inspector.output and inspector.output.isVisible()


def test_after_a_run_the_selected_nodes_output_is_on_show(window, loop, tmp_path) -> None:
    open_nodes(window, tmp_path, [numbers(3), mapped()])
    window.runs.run()
    finish(window, loop)
    inspector = window.runs.panel.inspector
    select(window, "numbers")
    assert inspector.tabs.currentWidget() is inspector.output
    assert inspector.output.isVisible()
    assert inspector.output.text_of("[2]") == "2"
    select(window, "each")
    assert inspector.tabs.currentWidget() is inspector.items and inspector.items.isVisible()
    select(window, "numbers")
    assert inspector.output.isVisible()
