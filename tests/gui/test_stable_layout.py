"""The editor's layout at 1400x900 stays put while you look at a run: selecting an item or
opening a comparison never resizes the Runs dock (the canvas stayed where it was), the
inspector's tabs and the history's Run column stay in sight, and zoom to fit frames the ports."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QApplication

from flowdesk.engine import RunState
from flowdesk.gui.item_list import OUTPUT_COLUMN
from flowdesk.store import RunSummary

from .helpers import select
from .test_compare_runs import NODES, run_with, select_runs
from .test_map_in_editor import mapped, numbers, open_nodes
from .test_runs import finish, write


def settle(window) -> None:
    for _ in range(3):
        QApplication.processEvents()


def show_runs(window) -> None:
    window.resize(1400, 900)
    window.runs_dock.raise_()
    settle(window)


def test_clicking_an_item_and_switching_nodes_keeps_the_runs_dock_and_panes(
    window, loop, tmp_path
) -> None:
    long_output = mapped(config={"value": "{{ ('x' * 300) if item == 1 else item }}"})
    open_nodes(window, tmp_path, [numbers(30), long_output])
    show_runs(window)
    window.runs.run()
    finish(window, loop)
    panel = window.runs.panel
    select(window, "numbers")
    settle(window)
    dock_height = window.runs_dock.height()
    canvas_height = window.canvas.graph.viewer().height()
    widths = panel.splitter.sizes()

    select(window, "each")
    settle(window)
    items = panel.inspector.items
    table = items.table
    assert panel.splitter.sizes() == widths, "the inspector or the log changed width"
    # Room for rows: at least six of them are in view.
    assert table.rowAt(table.viewport().height() - 1) >= 5, "fewer than six rows in view"
    # Long outputs are elided, not scrolled to.
    header = table.horizontalHeader()
    assert table.horizontalScrollBar().maximum() == 0
    assert header.sectionSize(OUTPUT_COLUMN) >= 80, "no room left for the output"
    assert table.model().index(1, 5).data() != ""

    items.select_item(1)
    settle(window)
    assert items.detail.isVisible()
    assert window.runs_dock.height() == dock_height, "selecting an item resized the dock"
    assert window.canvas.graph.viewer().height() == canvas_height
    assert panel.splitter.sizes() == widths
    # Every tab of the inspector is in view: no scroll arrows hiding Log.
    bar = panel.inspector.tabs.tabBar()
    for index in range(bar.count()):
        if bar.isTabVisible(index):
            assert bar.rect().contains(bar.tabRect(index)), bar.tabText(index)


def test_opening_a_comparison_keeps_the_runs_dock_height(window, loop, tmp_path) -> None:
    window.open_file(write(tmp_path, NODES), ask=False)
    show_runs(window)
    first = run_with(window, loop, '{"name": "Ada"}')
    second = run_with(window, loop, '{"name": "Grace"}')
    select(window, "greet")
    settle(window)
    dock_height = window.runs_dock.height()
    select_runs(window, first.run_id, second.run_id)
    assert loop.run_until_complete(window.compare.compare_selected()) is not None
    settle(window)
    assert window.runs.panel.comparing
    assert window.runs_dock.height() == dock_height, "opening compare resized the dock"
    ignore = window.compare.compare_view.ignore
    metrics = ignore.fontMetrics()
    assert metrics.horizontalAdvance(ignore.placeholderText()) + 12 <= ignore.width()
    assert "$." in ignore.placeholderText() and "ignore" in ignore.toolTip().lower()


def test_long_params_leave_the_run_column_in_view(window, tmp_path) -> None:
    show_runs(window)
    moment = datetime(2026, 11, 25, 22, 27, 54, tzinfo=UTC)
    long_params = {"user_id": 1, "last_name": "Ada Lovelace " * 20}
    runs = [
        RunSummary("a" * 32, "wf", RunState.COMPLETED, moment, moment, moment, long_params),
        RunSummary("b" * 32, "wf", RunState.COMPLETED, moment, moment, moment, {"n": 1}),
    ]
    panel = window.runs.panel
    panel.show_history(runs)
    settle(window)
    table = panel.history
    run_column = table.columnCount() - 1
    header = table.horizontalHeader()
    right = header.sectionViewportPosition(run_column) + header.sectionSize(run_column)
    assert right <= table.viewport().width()
    assert table.horizontalScrollBar().maximum() == 0
    assert header.sectionSize(run_column) > table.fontMetrics().horizontalAdvance("a" * 12)
    params = table.item(0, 4)
    assert params.toolTip() == params.text() and "Lovelace" in params.toolTip()


def test_zoom_to_fit_leaves_a_margin_around_every_port(window, tmp_path) -> None:
    # A chain wider than the canvas, so fitting zooms out to the nodes' own extent.
    chain = [{"id": "n0", "handler": "transform", "config": {"value": 0}}] + [
        {"id": f"n{i}", "handler": "transform", "dependencies": [f"n{i - 1}"], "config": {}}
        for i in range(1, 12)
    ]
    window.open_file(write(tmp_path, chain), ask=False)
    show_runs(window)
    window.canvas.fit()
    settle(window)
    viewer = window.canvas.graph.viewer()
    assert viewer.get_zoom() < 0, "the chain fits at 100 %: nothing is tested"
    shown = viewer.mapToScene(viewer.viewport().rect()).boundingRect()
    for node_id, node in window.canvas.nodes.items():
        for port in node.input_ports() + node.output_ports():
            rect: QRectF = port.view.sceneBoundingRect()
            assert shown.adjusted(10, 10, -10, -10).contains(rect), f"{node_id}: port cut"
