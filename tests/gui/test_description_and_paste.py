"""The workflow's description in the Workflow panel, pasting workflow JSON text, and where
pasted copies land (issue 11, defects 9 and 8)."""

from __future__ import annotations

import json
from itertools import combinations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication

from flowdesk.gui.placement import clear_offset, overlaps

from .conftest import REPO
from .helpers import type_into

EXAMPLES = REPO / "resources" / "examples"
TEMPLATE_CHAIN = EXAMPLES / "template_chain.json"


def status(window) -> str:
    return window.statusBar().currentMessage()


def put_text_on_clipboard(text: str) -> None:
    QGuiApplication.clipboard().setText(text)


def node_rects(window) -> dict[str, object]:
    QApplication.processEvents()
    return {node_id: node.view.sceneBoundingRect() for node_id, node in window.canvas.nodes.items()}


def assert_no_overlaps(window) -> None:
    rects = node_rects(window)
    for (a, ra), (b, rb) in combinations(rects.items(), 2):
        assert not ra.intersects(rb), f"{a} and {b} overlap"


# --- description ---


def examples_with_instructions() -> list[str]:
    """Every example but the seed's own file, which is kept exactly as the seed wrote it."""
    names = sorted(p.name for p in EXAMPLES.glob("*.json"))
    assert len(names) == 7
    return [name for name in names if name != "parallel_api_fetcher.json"]


@pytest.mark.parametrize("example", examples_with_instructions())
def test_an_opened_example_shows_its_instructions(example, window):
    window.dialogs.confirm_answers.append(False)  # do not start the demo service
    assert window.open_example(EXAMPLES / example)
    description = window.document.definition.description
    assert description, f"{example} has no instructions"
    assert window.workflow_panel.description.toPlainText() == description
    assert window.workflow_dock.isVisible()
    assert not window.workflow_dock.visibleRegion().isEmpty()
    assert "instructions are in the Workflow panel" in status(window)


def test_an_example_without_instructions_shows_an_empty_panel(window):
    window.dialogs.confirm_answers.append(False)
    assert window.open_example(TEMPLATE_CHAIN)
    window.dialogs.confirm_answers.append(False)
    assert window.open_example(EXAMPLES / "parallel_api_fetcher.json")
    assert window.workflow_panel.description.toPlainText() == ""
    assert "instructions" not in status(window)


def test_the_panel_is_shown_again_when_an_example_is_opened(window):
    window.workflow_dock.hide()
    window.dialogs.confirm_answers.append(False)
    assert window.open_example(TEMPLATE_CHAIN)
    assert window.workflow_dock.isVisible()


def test_editing_the_description_is_one_undoable_step_and_is_saved(window, tmp_path):
    window.dialogs.confirm_answers.append(False)
    assert window.open_example(TEMPLATE_CHAIN)
    original = window.document.definition.description
    panel = window.workflow_panel
    type_into(panel.description, 'Run me with {"user_id": 2}.')
    assert window.document.definition.description == 'Run me with {"user_id": 2}.'
    assert window.document.undo_stack.undoText() == "edit description"
    window.act_undo.trigger()
    assert window.document.definition.description == original
    assert panel.description.toPlainText() == original
    window.act_redo.trigger()
    type_into(panel.description, "")  # empty: no description in the file
    window.dialogs.save_paths.append(str(tmp_path / "chain.json"))
    assert window.save()
    assert "description" not in json.loads((tmp_path / "chain.json").read_text())


def test_a_description_typed_without_leaving_the_field_is_saved(window, qtbot, tmp_path):
    panel = window.workflow_panel.description
    window.activateWindow()
    panel.setFocus()
    qtbot.waitUntil(panel.hasFocus, timeout=2000)
    qtbot.keyClicks(panel, "Typed, then Ctrl+S")
    window.dialogs.save_paths.append(str(tmp_path / "typed.json"))
    qtbot.keyClick(panel, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    saved = json.loads((tmp_path / "typed.json").read_text())
    assert saved["description"] == "Typed, then Ctrl+S"


# --- pasting JSON text ---


def test_pasting_a_workflow_document_adds_its_nodes_with_fresh_ids(window, qtbot):
    window.dialogs.confirm_answers.append(False)
    assert window.open_example(TEMPLATE_CHAIN)
    before = set(window.document.node_ids())
    put_text_on_clipboard(TEMPLATE_CHAIN.read_text(encoding="utf-8"))
    viewer = window.canvas.graph.viewer()
    viewer.setFocus()
    qtbot.keyClick(viewer, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    new_ids = set(window.document.node_ids()) - before
    assert new_ids == {f"{i}_2" for i in before}
    definition = window.document.definition
    assert definition.node("get_posts_2").dependencies == ["get_user_2"]
    assert definition.node("get_posts_2").config["query"] == {"userId": "{{ get_user_2.body.id }}"}
    assert definition.node("output_2").config == {"value": "{{ summary_2 }}"}
    assert set(window.canvas.selected_ids()) == new_ids
    assert status(window) == "Pasted 6 nodes"
    assert_no_overlaps(window)
    window.act_undo.trigger()
    assert set(window.document.node_ids()) == before


def test_pasting_a_list_of_nodes_without_layout_places_them(window):
    nodes = [
        {"id": "a", "handler": "input", "dependencies": []},
        {"id": "b", "handler": "transform", "dependencies": ["a"], "config": {"value": 1}},
        {"id": "c", "handler": "output", "dependencies": ["b", "elsewhere"]},
    ]
    put_text_on_clipboard(json.dumps(nodes))
    assert window.controller.paste() == ["a", "b", "c"]
    definition = window.document.definition
    assert definition.node("c").dependencies == ["b"]  # a node not pasted is not a dependency
    assert set(definition.layout) == {"a", "b", "c"}
    assert_no_overlaps(window)


def test_what_we_copy_can_be_pasted_back_as_text(window):
    window.controller.add_node("transform", (0, 0))
    window.canvas.select(["transform"])
    assert window.controller.copy_selected()
    text = QGuiApplication.clipboard().text()
    put_text_on_clipboard(text)  # as if it went through a text editor
    assert window.controller.paste() == ["transform_2"]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('{"name": "x", "dag": {"nodes": [}', "not JSON: Expecting value (line 1, column "),
        ("just some words", "line 1, column 1"),
        ('{"foo": 1}', "not a workflow"),
        ('{"name": "x", "dag": {"nodes": [{"id": "a"}]}}', "handler: required field is missing"),
        ("42", "is a number, not a workflow"),
        ('{"name": "x", "dag": {"nodes": []}}', "has no nodes"),
        ("   ", "empty"),
    ],
)
def test_pasting_text_that_is_not_a_workflow_says_why(text, says, window):
    put_text_on_clipboard(text)
    before = window.document.definition
    assert window.controller.paste() == []
    assert window.document.definition == before
    assert status(window).startswith("Nothing pasted: ")
    assert says in status(window)


# --- where copies land ---


def test_pasting_twice_gives_three_distinct_positions_none_overlapping(window):
    window.controller.add_node("transform", (0, 0))
    window.canvas.select(["transform"])
    assert window.controller.copy_selected()
    (first,) = window.controller.paste()
    (second,) = window.controller.paste()
    layout = window.document.definition.layout
    positions = [layout["transform"], layout[first], layout[second]]
    assert len(set(positions)) == 3
    assert_no_overlaps(window)


def test_duplicating_a_chain_twice_overlaps_nothing(window):
    window.dialogs.confirm_answers.append(False)
    assert window.open_example(EXAMPLES / "fan_out_fan_in.json")
    ids = window.document.node_ids()
    window.canvas.select(ids)
    window.controller.duplicate_selected()
    window.canvas.select(ids)
    window.controller.duplicate_selected()
    assert len(window.document.node_ids()) == 3 * len(ids)
    assert_no_overlaps(window)


def test_clear_offset_steps_past_every_node():
    column = [(0.0, 0.0), (0.0, 110.0), (0.0, 220.0)]
    dx, dy = clear_offset(column, column)
    assert (dx, dy) != (0.0, 0.0)
    for x, y in column:
        moved = (x + dx, y + dy)
        assert not any(overlaps(moved, other) for other in column)
    assert clear_offset([], [(5.0, 5.0)]) != (0.0, 0.0)
