"""`map_over` in the editor: the Advanced group's map fields, a mapped node's progress badge
(`37/100` while it runs, `100 items` or `98/100, 2 failed` after) and the inspector's pages
of items, live from a run in this window or from the store for a run opened from history."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from flowdesk.engine import NodeState
from flowdesk.engine.events import ItemFinished, MapStarted, NodeStarted, RunStarted
from flowdesk.engine.results import ItemResult
from flowdesk.engine.states import RunState
from flowdesk.gui.item_list import PAGE_SIZE, ItemList, LiveItems
from flowdesk.gui.map_progress import MapProgress, progress_text
from flowdesk.gui.run_state import RunBoard
from flowdesk.model import errors_only

from .helpers import select, type_into
from .test_runs import finish, until

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def open_nodes(window, tmp_path, nodes, name: str = "map in editor") -> None:
    path = tmp_path / "wf.json"
    path.write_text(json.dumps({"name": name, "dag": {"nodes": nodes}}))
    assert window.open_file(str(path), ask=False)


def numbers(count: int) -> dict:
    return {"id": "numbers", "handler": "transform", "config": {"value": list(range(count))}}


def mapped(**extra) -> dict:
    return {
        "id": "each",
        "handler": "transform",
        "dependencies": ["numbers"],
        "map_over": "{{ numbers }}",
        "config": {"value": "{{ item * 2 }}"},
        **extra,
    }


# -- the Node panel ---------------------------------------------------------------------------


def test_map_fields_are_validated_live_written_and_undoable(window, tmp_path) -> None:
    other = {"id": "other", "handler": "transform", "config": {"value": [1]}}
    each = {"id": "each", "handler": "transform", "dependencies": ["numbers"]}
    open_nodes(window, tmp_path, [numbers(3), other, each])
    select(window, "each")
    advanced = window.config_form.advanced

    type_into(advanced.map_over, "{{ other }}")  # not upstream of each
    assert "not upstream" in advanced.map_message.text()
    assert not advanced.map_message.isHidden()
    assert window.document.definition.node("each").map_over is None
    widget, reason = window.config_form.pending_error()
    assert widget is advanced.map_over
    assert "map over" in reason

    type_into(advanced.map_over, "{{ numbers }}")
    assert advanced.map_message.isHidden()
    assert window.document.definition.node("each").map_over == "{{ numbers }}"

    type_into(advanced.max_items, "lots")
    assert "whole number" in advanced.max_items_message.text()
    assert window.document.definition.node("each").max_items == 10_000
    type_into(advanced.max_items, "2,500")
    assert advanced.max_items_message.isHidden()
    assert window.document.definition.node("each").max_items == 2500

    failure = advanced.item_failure
    assert [failure.itemData(i) for i in range(failure.count())] == [None, "skip"]
    failure.setCurrentIndex(1)
    failure.activated.emit(1)
    saved = window.document.definition.to_json_dict()["dag"]["nodes"][2]
    assert saved["map_over"] == "{{ numbers }}"
    assert saved["max_items"] == 2500
    assert saved["on_item_failure"] == "skip"

    window.act_undo.trigger()  # on item failure
    window.act_undo.trigger()  # max items
    window.act_undo.trigger()  # map over
    node = window.document.definition.to_json_dict()["dag"]["nodes"][2]
    assert {"map_over", "max_items", "on_item_failure"}.isdisjoint(node)
    assert advanced.map_over.text() == ""
    assert advanced.max_items.text() == ""
    assert failure.currentIndex() == 0


def test_a_cleared_max_items_leaves_nothing_behind(window, tmp_path) -> None:
    open_nodes(window, tmp_path, [numbers(3), mapped(max_items=5)])
    select(window, "each")
    advanced = window.config_form.advanced
    assert advanced.max_items.text() == "5"
    type_into(advanced.max_items, "")
    type_into(advanced.map_over, "")
    node = window.document.definition.to_json_dict()["dag"]["nodes"][1]
    assert {"map_over", "max_items", "on_item_failure"}.isdisjoint(node)
    # Not even the warning about a max_items set on a node without map_over.
    problems = window.validator.validate_now()
    assert not [p for p in problems if p.location in ("max_items", "map_over")]


def test_an_unknown_item_failure_value_is_shown_and_named(window, tmp_path) -> None:
    open_nodes(window, tmp_path, [numbers(3), mapped(on_item_failure="retry")])
    select(window, "each")
    failure = window.config_form.advanced.item_failure
    assert failure.currentText() == "retry (unknown)"
    problems = errors_only(window.validator.validate_now())
    assert any("on_item_failure" in p.message and "'retry'" in p.message for p in problems)


# -- progress words and the run board (Qt-free) -----------------------------------------------


def test_progress_badge_words() -> None:
    assert progress_text(MapProgress(100, 37), NodeState.RUNNING) == "37/100"
    assert progress_text(MapProgress(100, 37, 2), NodeState.RUNNING) == "37/100, 2 failed"
    assert progress_text(MapProgress(100, 100), NodeState.SUCCEEDED) == "100 items"
    assert progress_text(MapProgress(1, 1), NodeState.SUCCEEDED) == "1 item"
    assert progress_text(MapProgress(0), NodeState.SUCCEEDED) == "0 items"
    assert progress_text(MapProgress(100, 100, 2), NodeState.FAILED) == "98/100, 2 failed"
    assert progress_text(MapProgress(10_000, 10_000, 10), NodeState.SUCCEEDED) == (
        "9,990/10,000, 10 failed"
    )
    counts = {"SUCCEEDED": 7, "FAILED": 2, "PENDING": 1}
    assert MapProgress.of_counts(counts) == MapProgress(10, 9, 2)
    items = [ItemResult(0, NodeState.SUCCEEDED), ItemResult(1, NodeState.FAILED), ItemResult(2)]
    assert MapProgress.of_items(items) == MapProgress(3, 2, 1)


def test_the_board_counts_items_without_a_log_line_each() -> None:
    board = RunBoard()
    board(RunStarted("r1", "wf", {}, ("each",), NOW))
    board(NodeStarted("r1", "each", 1, NOW))
    board(MapStarted("r1", "each", 1000, NOW))
    board.take_dirty()
    for index in range(1000):
        state = NodeState.FAILED if index % 100 == 0 else NodeState.SUCCEEDED
        item = ItemResult(index, state, 1, index, None, NOW, NOW)
        board(ItemFinished("r1", "each", item, index + 1, index // 100 + 1, 1000))
    assert board.progress["each"] == MapProgress(1000, 1000, 10)
    assert board.nodes["each"].items[500].output == 500
    assert board.take_dirty() == ({"each"}, False)  # one node to repaint, whatever the count
    texts = [entry.text for entry in board.log]
    assert "each maps over 1,000 items" in texts
    assert len(texts) == 3  # run started, each started, each maps over: nothing per item


# -- the item list ----------------------------------------------------------------------------


def test_the_item_list_pages_and_shows_an_item_whole(qtbot) -> None:
    items = [
        ItemResult(i, NodeState.SUCCEEDED, 1, {"n": i, "text": "x" * 500}, None, NOW, NOW)
        for i in range(250)
    ]
    items[130] = ItemResult(130, NodeState.FAILED, 3, None, "HTTP 500: boom " * 20, NOW, NOW)
    view = ItemList()
    qtbot.addWidget(view)
    view.show_source(LiveItems(("r", "each", "live"), lambda: items))
    assert view.range_label.text().startswith("items 1–100 of 250")  # noqa: RUF001
    assert not view.prev_button.isEnabled() and view.next_button.isEnabled()
    assert view.model.rowCount() == PAGE_SIZE
    row_output = view.model.index(0, 5).data()
    assert row_output.startswith('{"n": 0') and row_output.endswith("…")

    view.next_button.click()
    assert view.range_label.text().startswith("items 101–200 of 250")  # noqa: RUF001
    view.table.selectRow(30)  # item 130, as a click on its row
    assert view.detail_title.text().startswith("<b>item 130</b> · FAILED · 3 attempts")
    assert view.detail_error.text() == "HTTP 500: boom " * 20  # whole, not cut
    assert not view.detail_error.isHidden()

    view.go_to(10_000)  # past the end: the last page
    assert view.range_label.text().startswith("items 201–250 of 250")  # noqa: RUF001
    assert view.model.rowCount() == 50 and not view.next_button.isEnabled()
    # The same items shown again (the next refresh of a live run) keep their page.
    view.show_source(LiveItems(("r", "each", "live"), lambda: items))
    assert view.offset == 200


# -- runs in the editor -----------------------------------------------------------------------


def test_a_10000_item_map_ends_with_its_badge_and_pages_of_items(window, loop, tmp_path) -> None:
    total = 10_000
    each = mapped(on_item_failure="skip", config={"value": "{{ 1000 // (item % 1000) }}"})
    open_nodes(window, tmp_path, [numbers(total), each])
    select(window, "each")  # the inspector follows the run live
    window.runs.run()
    result = finish(window, loop)

    assert result.state is RunState.COMPLETED
    assert window.canvas.run_state_of("each") == "SUCCEEDED"
    assert window.canvas.map_badge_of("each") == "9,990/10,000, 10 failed"
    assert window.canvas.map_badge_of("numbers") is None
    inspector = window.runs.panel.inspector
    items = inspector.items
    assert inspector.tabs.currentWidget() is items
    assert "9,990/10,000, 10 failed" in inspector.title.text()
    assert items.range_label.text().startswith("items 1–100 of 10,000")  # noqa: RUF001
    assert items.model.rowCount() == PAGE_SIZE
    items.next_button.click()
    assert items.range_label.text().startswith("items 101–200 of 10,000")  # noqa: RUF001
    items.go_to(total)
    assert items.range_label.text().startswith("items 9,901–10,000 of 10,000")  # noqa: RUF001
    items.select_item(3000)
    assert items.detail_title.text().startswith("<b>item 3000</b> · FAILED")
    assert "ZeroDivisionError" in items.detail_error.text()
    # The 10,000 outputs are built into the Output tree only once its tab is shown.
    assert inspector.output.topLevelItemCount() == 0
    inspector.tabs.setCurrentWidget(inspector.output)
    assert inspector.output.text_of() == "[10000 items]"
    select(window, "numbers")  # a plain node: no Items tab, its own output
    assert not inspector.tabs.isTabVisible(inspector.tabs.indexOf(items))
    assert inspector.tabs.currentWidget() is inspector.output
    assert inspector.output.text_of("[499]") == "499"
    log = window.runs.panel.log.toPlainText()
    assert "each maps over 10,000 items" in log
    assert "each SUCCEEDED (9,990/10,000, 10 failed; failed items are null in the output)" in log
    assert len(log.splitlines()) < 20  # no line per item


def test_a_running_map_shows_done_of_total_and_running_items(window, loop, tmp_path) -> None:
    each = {
        "id": "each",
        "handler": "delay",
        "dependencies": ["numbers"],
        "map_over": "{{ numbers }}",
        "config": {"seconds": "{{ 0.01 if item < 40 else 30 }}"},  # cancelled before
    }
    open_nodes(window, tmp_path, [numbers(50), each])
    select(window, "each")
    window.runs.run()
    controller = window.runs.controller

    def badge_moving() -> bool:
        badge = window.canvas.map_badge_of("each")
        return window.canvas.run_state_of("each") == "RUNNING" and badge not in (None, "0/50")

    loop.run_until_complete(until(badge_moving))
    done, _, total = window.canvas.map_badge_of("each").partition("/")
    assert total == "50" and 0 < int(done) < 50
    items = window.runs.panel.inspector.items
    loop.run_until_complete(until(lambda: "RUNNING" in _states(items)))
    assert items.range_label.text().startswith("items 1–50 of 50")  # noqa: RUF001
    # Cancelled from a callback on the running loop, as the editor's Esc is: stopping and
    # restarting the qasync loop mid-map (run_until_complete in turns) ran task steps with no
    # running loop under load ("RuntimeError: no running event loop" in asyncio.sleep).
    loop.call_soon(controller.cancel)
    result = finish(window, loop)
    assert result.state is RunState.CANCELLED
    assert window.canvas.run_state_of("each") == "CANCELLED"
    assert "/50" in window.canvas.map_badge_of("each")


def cancel_at_item_40(controller) -> None:
    """Press Esc once 40 items are final, from the running loop as the editor does (a test that
    stopped the qasync loop mid-map to cancel from outside saw task steps with no running loop
    under load, "RuntimeError: no running event loop", a test artefact)."""

    def on_event(event) -> None:
        if isinstance(event, ItemFinished) and event.done >= 40:
            controller.cancel()

    controller.handle.subscribe(on_event)


def _states(items: ItemList) -> set[str]:
    return {items.model.index(row, 1).data() for row in range(items.model.rowCount())}


def test_a_run_from_history_reads_its_items_from_the_store(window, loop, tmp_path) -> None:
    each = mapped(on_item_failure="skip", config={"value": "{{ 10 // (item % 100) }}"})
    open_nodes(window, tmp_path, [numbers(250), each])
    first = window.runs.run()
    finish(window, loop)
    window.runs.run()  # a second run: the first is then only in the store
    finish(window, loop)
    window.runs.show_history_run(first)

    assert window.runs.controller.board.run_id == first
    assert window.canvas.map_badge_of("each") == "247/250, 3 failed"
    select(window, "each")
    items = window.runs.panel.inspector.items
    assert items.source is not None and items.source.key == (first, "each", "stored")
    assert items.range_label.text().startswith("items 1–100 of 250")  # noqa: RUF001
    items.next_button.click()
    assert items.model.items[0].index == 100
    items.select_item(200)
    assert items.detail_title.text().startswith("<b>item 200</b> · FAILED")
    assert "ZeroDivisionError" in items.detail_error.text()
    items.select_item(7)
    assert items.detail_output.text_of() == "1"  # 10 // 7, loaded from the store


def test_a_mapped_node_skipped_by_its_condition_has_no_badge(window, loop, tmp_path) -> None:
    open_nodes(window, tmp_path, [numbers(3), mapped(when="{{ numbers | length > 5 }}")])
    select(window, "each")
    window.runs.run()
    finish(window, loop)
    view = window.canvas.nodes["each"].view
    assert view.condition_false
    assert window.canvas.map_badge_of("each") is None
    assert not view.shows_map_bar  # the handler name stays on the node
    inspector = window.runs.panel.inspector
    assert "condition false" in inspector.title.text()
    assert not inspector.tabs.isTabVisible(inspector.tabs.indexOf(inspector.items))


def test_the_wheel_over_a_choice_scrolls_the_panel_instead_of_changing_it(window, tmp_path):
    """Scrolling the Node panel past "On item failure" switched it to skip without a word."""
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    open_nodes(window, tmp_path, [numbers(3), mapped()])
    select(window, "each")
    combo = window.config_form.advanced.item_failure
    before = combo.currentIndex()
    undo_before = window.document.undo_stack.count()
    for _ in range(3):
        wheel = QWheelEvent(
            QPointF(5, 5),
            QPointF(combo.mapToGlobal(QPoint(5, 5))),
            QPoint(0, 0),
            QPoint(0, -120),
            Qt.MouseButton.NoButton,
            Qt.KeyboardModifier.NoModifier,
            Qt.ScrollPhase.NoScrollPhase,
            False,
        )
        QApplication.sendEvent(combo, wheel)
    assert combo.currentIndex() == before
    assert window.document.undo_stack.count() == undo_before
    assert window.document.definition.node("each").on_item_failure is None


# -- a cancelled map, and a map that failed before its items ------------------------------------


def test_cancelled_and_skipped_items_are_not_called_failed() -> None:
    stopped = MapProgress(250, 250, 0, 32, 90)
    assert stopped.succeeded == 128
    assert progress_text(stopped, NodeState.CANCELLED) == "128/250, 32 cancelled, 90 skipped"
    assert progress_text(MapProgress(250, 128, 2, 30), NodeState.RUNNING) == (
        "128/250, 2 failed, 30 cancelled"
    )
    counts = {"SUCCEEDED": 128, "CANCELLED": 32, "SKIPPED": 90}
    assert MapProgress.of_counts(counts) == stopped
    items = [
        ItemResult(0, NodeState.SUCCEEDED),
        ItemResult(1, NodeState.FAILED),
        ItemResult(2, NodeState.CANCELLED),
        ItemResult(3, NodeState.SKIPPED),
        ItemResult(4),
    ]
    assert MapProgress.of_items(items) == MapProgress(5, 4, 1, 1, 1)


def test_the_board_tells_cancelled_items_from_failed_ones() -> None:
    """ItemFinished counts FAILED items in `failed`; the board counts the cancelled ones."""
    board = RunBoard()
    board(RunStarted("r1", "wf", {}, ("each",), NOW))
    board(MapStarted("r1", "each", 10, NOW))
    states = [NodeState.SUCCEEDED, NodeState.FAILED, NodeState.CANCELLED, NodeState.CANCELLED]
    failed = 0
    for index, state in enumerate(states):
        failed += state is NodeState.FAILED
        board(ItemFinished("r1", "each", ItemResult(index, state), index + 1, failed, 10))
    assert board.progress["each"] == MapProgress(10, 4, 1, 2)
    assert progress_text(board.progress["each"], NodeState.RUNNING) == (
        "4/10, 1 failed, 2 cancelled"
    )


def test_a_cancelled_map_says_cancelled_and_skipped_not_failed(window, loop, tmp_path) -> None:
    """Esc at item 40 of 100: the badge said `40/100, 60 failed` on a red bar."""
    from .test_run_from_here import colour_count

    each = {
        "id": "each",
        "handler": "delay",
        "dependencies": ["numbers"],
        "map_over": "{{ numbers }}",
        "config": {"seconds": "{{ 0.001 if item < 40 else 30 }}"},
    }
    open_nodes(window, tmp_path, [numbers(100), each])
    select(window, "each")
    run_id = window.runs.run()
    controller = window.runs.controller
    cancel_at_item_40(controller)
    result = finish(window, loop)
    assert result.state is RunState.CANCELLED
    items = result.nodes["each"].items
    cancelled = sum(1 for item in items if item.state is NodeState.CANCELLED)
    skipped = sum(1 for item in items if item.state is NodeState.SKIPPED)
    assert cancelled and skipped and cancelled + skipped == 60  # 32 run at once: some never start
    words = f"40/100, {cancelled} cancelled, {skipped} skipped"
    assert window.canvas.map_badge_of("each") == words
    _text, succeeded, failed = controller.map_badge("each")
    assert (succeeded, failed) == (0.4, 0.0)  # no red: the rest of the bar stays empty
    assert colour_count(window, "each", "FAILED") == 0
    assert colour_count(window, "each", "SUCCEEDED") > 0
    inspector = window.runs.panel.inspector
    assert inspector.tabs.tabText(inspector.tabs.indexOf(inspector.items)) == f"Items ({words})"
    window.runs.show_history_run(run_id)  # counted from the store: the same words
    assert window.canvas.map_badge_of("each") == words


def test_a_map_that_failed_before_its_items_says_why_it_has_none(window, loop, tmp_path):
    """map_over gave a number: the Items tab said "no items yet", as if they might come."""
    open_nodes(window, tmp_path, [numbers(3), mapped(map_over="{{ numbers[0] }}")])
    select(window, "each")
    run_id = window.runs.run()
    result = finish(window, loop)
    assert result.nodes["each"].state is NodeState.FAILED
    inspector = window.runs.panel.inspector
    items = inspector.items
    select(window, "numbers")
    select(window, "each")
    assert inspector.tabs.isTabVisible(inspector.tabs.indexOf(items))
    expected = "no items: map_over must give a list, not a number"
    assert items.range_label.text() == expected
    window.runs.show_history_run(run_id)
    select(window, "each")
    assert items.range_label.text() == expected


def test_a_map_over_max_items_says_so_instead_of_no_items_yet(window, loop, tmp_path) -> None:
    open_nodes(window, tmp_path, [numbers(30), mapped(max_items=10)])
    select(window, "each")
    window.runs.run()
    finish(window, loop)
    items = window.runs.panel.inspector.items
    assert items.range_label.text() == (
        "no items: map_over gave 30 items, more than max_items (10)"
    )


def test_the_empty_item_list_words() -> None:
    from flowdesk.engine import NodeResult
    from flowdesk.gui.item_list import no_items_text

    assert no_items_text(None) == "no items yet"
    assert no_items_text(NodeResult("each", NodeState.RUNNING)) == "no items yet"
    assert no_items_text(NodeResult("each", NodeState.SUCCEEDED)) == (
        "no items: map_over gave an empty list"
    )
    cancelled = NodeResult("each", NodeState.CANCELLED)
    assert no_items_text(cancelled) == (
        "no items: the node ended CANCELLED before its list was known"
    )
