"""A long node id is elided on its node, whole in its tooltip, in-place rename and the saved file."""

from __future__ import annotations

import json

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QFocusEvent, QKeyEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from flowdesk.gui.canvas import TITLE_CHARS

from .conftest import REPO

LONG = "fetch_the_customer_records_from_the_regional_billing_service_and_merge"  # 70
LONG_RENAMED = "merge_the_customer_records_from_the_regional_billing_service_into_one"
MARGIN = 40.0  # px a long id's node may be wider than a short one's (160 px)


def open_with_long_id(window, tmp_path) -> None:
    """Template Chain with `get_posts` renamed to a 70-character id (and its templates)."""
    assert len(LONG) == 70
    text = (REPO / "resources" / "examples" / "template_chain.json").read_text(encoding="utf-8")
    path = tmp_path / "long.json"
    path.write_text(text.replace("get_posts", LONG), encoding="utf-8")
    assert window.open_file(path)
    QApplication.processEvents()


def title_of(window, node_id: str):
    return window.canvas.nodes[node_id].view.text_item


def press(item, key: Qt.Key) -> None:
    item.keyPressEvent(QKeyEvent(QEvent.Type.KeyPress, key, Qt.KeyboardModifier.NoModifier))


def type_in_place(item, text: str) -> None:
    """Replace what the title field holds, as the user's typing does."""
    cursor = item.textCursor()
    cursor.select(cursor.SelectionType.Document)
    cursor.insertText(text)


def test_a_long_id_keeps_the_node_narrow_elided_with_the_whole_id_in_the_tooltip(
    window, tmp_path
) -> None:
    open_with_long_id(window, tmp_path)
    long_view = window.canvas.nodes[LONG].view
    short_width = window.canvas.nodes["summary"].view.boundingRect().width()
    assert long_view.boundingRect().width() <= short_width + MARGIN
    title = long_view.text_item.toPlainText()
    assert "…" in title and len(title) <= TITLE_CHARS
    assert title.startswith(LONG[:10]) and title.endswith(LONG[-4:])
    # The title sits inside its node.
    title_rect = long_view.text_item.mapRectToParent(long_view.text_item.boundingRect())
    assert long_view.boundingRect().contains(title_rect)
    assert LONG in long_view.toolTip() and LONG in long_view.text_item.toolTip()
    # Short ids are shown whole; the canvas still maps the node to its whole id.
    assert title_of(window, "summary").toPlainText() == "summary"
    assert window.canvas.node_at(long_view.sceneBoundingRect().center()) == LONG
    assert long_view.name == LONG and window.canvas.nodes[LONG].name() == LONG


def test_auto_layout_measures_the_narrow_node(window, tmp_path) -> None:
    open_with_long_id(window, tmp_path)
    boxes = window.canvas.node_boxes()
    width = boxes.size(LONG)[0]
    assert width == window.canvas.nodes[LONG].view.boundingRect().width()
    assert width <= boxes.size("summary")[0] + MARGIN


def test_renaming_in_place_edits_and_commits_the_whole_id(window, tmp_path) -> None:
    open_with_long_id(window, tmp_path)
    title = title_of(window, LONG)
    title.set_editable(True)  # what a double-click on the title does
    assert title.toPlainText() == LONG, "the field starts from the whole id"
    type_in_place(title, LONG_RENAMED)
    press(title, Qt.Key.Key_Return)
    document = window.document
    assert document.has_node(LONG_RENAMED) and not document.has_node(LONG)
    assert "{{ " + LONG_RENAMED + ".body[0].id }}" in json.dumps(document.definition.to_json_dict())
    title = title_of(window, LONG_RENAMED)
    assert "…" in title.toPlainText(), "elided again once the edit is committed"
    # Leaving the title after the edit must not commit the elided text as an id.
    title.focusOutEvent(QFocusEvent(QEvent.Type.FocusOut))
    assert window.document.has_node(LONG_RENAMED)
    assert window.document.undo_stack.count() == 1


def test_double_clicking_the_title_opens_the_whole_id_above_the_neighbours(
    window, tmp_path
) -> None:
    open_with_long_id(window, tmp_path)
    view = window.canvas.nodes[LONG].view
    neighbour = window.canvas.nodes["get_comments"].view
    viewer = window.canvas.graph.viewer()
    point = viewer.mapFromScene(view.text_item.sceneBoundingRect().center())
    QTest.mouseDClick(viewer.viewport(), Qt.MouseButton.LeftButton, pos=point)
    title = view.text_item
    assert title.editing and title.toPlainText() == LONG
    assert title.textCursor().selectedText() == LONG, "typing replaces the whole id"
    # The field runs over the next node: it must be drawn above it, whatever the selection.
    assert view.zValue() > neighbour.zValue()
    window.canvas.select([])
    assert view.zValue() > neighbour.zValue()
    press(title, Qt.Key.Key_Return)  # unchanged: nothing to commit
    assert not title.editing and "…" in title.toPlainText()
    assert neighbour.zValue() <= view.zValue() <= neighbour.zValue() + 1, "stacked as before"
    assert window.document.undo_stack.count() == 0


def test_leaving_an_unchanged_long_title_renames_nothing(window, tmp_path) -> None:
    open_with_long_id(window, tmp_path)
    title = title_of(window, LONG)
    title.set_editable(True)
    title.focusOutEvent(QFocusEvent(QEvent.Type.FocusOut))  # clicked elsewhere, nothing typed
    assert window.document.has_node(LONG) and window.document.undo_stack.count() == 0
    assert "…" in title.toPlainText()
    title.focusOutEvent(QFocusEvent(QEvent.Type.FocusOut))  # not editing: the elided text
    assert window.document.has_node(LONG) and window.document.undo_stack.count() == 0


def test_escape_and_a_refused_rename_show_the_elided_id_again(window, tmp_path) -> None:
    open_with_long_id(window, tmp_path)
    title = title_of(window, LONG)
    title.set_editable(True)
    type_in_place(title, "something_else")
    press(title, Qt.Key.Key_Escape)
    assert window.document.has_node(LONG) and "…" in title.toPlainText()
    title.set_editable(True)
    type_in_place(title, "summary")  # taken
    press(title, Qt.Key.Key_Return)
    assert window.document.has_node(LONG) and window.document.has_node("summary")
    assert "already exists" in window.statusBar().currentMessage()
    assert "…" in title.toPlainText() and window.document.undo_stack.count() == 0


def test_a_short_title_is_centred_again_after_an_edit(window, tmp_path) -> None:
    open_with_long_id(window, tmp_path)
    title = title_of(window, "summary")
    before = title.pos()
    title.set_editable(True)
    assert title.pos() != before, "the field starts at the node's left edge"
    press(title, Qt.Key.Key_Escape)
    assert title.pos() == before and title.toPlainText() == "summary"


def test_renaming_a_short_id_to_a_long_one_keeps_the_node_narrow(window, tmp_path) -> None:
    open_with_long_id(window, tmp_path)
    view = window.canvas.nodes["summary"].view
    width = view.boundingRect().width()
    title = view.text_item
    title.set_editable(True)
    type_in_place(title, LONG_RENAMED)
    press(title, Qt.Key.Key_Return)
    assert window.canvas.nodes[LONG_RENAMED].view is view
    assert view.boundingRect().width() <= width + MARGIN
    title_rect = title.mapRectToParent(title.boundingRect())
    assert view.boundingRect().contains(title_rect)
    assert LONG_RENAMED in view.toolTip()


def test_saving_writes_the_whole_ids(window, dialogs, tmp_path) -> None:
    open_with_long_id(window, tmp_path)
    title = title_of(window, "summary")
    title.set_editable(True)
    type_in_place(title, LONG_RENAMED)
    press(title, Qt.Key.Key_Return)
    target = tmp_path / "saved.json"
    dialogs.save_paths.append(str(target))
    assert window.save_as()
    saved = json.loads(target.read_text(encoding="utf-8"))
    ids = {node["id"] for node in saved["dag"]["nodes"]}
    assert {LONG, LONG_RENAMED} <= ids and not any("…" in i for i in ids)
    assert set(saved["layout"]) == ids
