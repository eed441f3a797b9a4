"""Open, save, import, export, recent files, unsaved-changes questions, broken files."""

from __future__ import annotations

import json

import pytest
from PySide6.QtWidgets import QApplication

from flowdesk.model import errors_only, load_workflow

from .conftest import REPO, SEED
from .helpers import canvas_inputs, wire


def test_import_then_export_keeps_the_seed_json(seed, window, dialogs, tmp_path):
    dialogs.open_paths.append(str(seed))
    assert window.import_dialog()
    assert window.document.path is None  # imported, not opened: Save asks where
    assert window.isWindowModified()
    out = tmp_path / "exported.json"
    dialogs.save_paths.append(str(out))
    assert window.export_dialog()
    assert json.loads(out.read_text()) == json.loads(SEED.read_text())
    assert "layout" not in json.loads(out.read_text())


def test_open_keeps_layout_and_save_writes_it(seed, window, tmp_path):
    path = tmp_path / "w.json"
    data = json.loads(SEED.read_text())
    data["layout"] = {"input": [10, 20]}
    path.write_text(json.dumps(data))
    assert window.open_file(path)
    assert not window.isWindowModified()
    assert window.document.definition.layout["input"] == (10, 20)
    assert set(window.document.definition.layout) == set(window.document.node_ids())
    assert tuple(window.canvas.nodes["input"].view.xy_pos) == (10, 20)
    wire(window, "get_user", "get_posts")
    assert window.windowTitle().startswith("Parallel API Fetcher (w.json)[*]")
    assert window.isWindowModified()
    window.act_save.trigger()  # has a path: no dialog
    assert not window.isWindowModified()
    saved = load_workflow(path)
    assert saved.node("get_posts").dependencies == ["input", "get_user"]
    assert saved.layout["input"] == (10, 20)


def test_malformed_file_shows_problems_and_keeps_the_document(seed, window, dialogs, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x", "dag": {"nodes": [\n  {"id": "a",, }]}}')
    assert window.open_file(seed)
    before = window.document.definition
    assert not window.open_file(bad)
    (title, _summary, lines) = dialogs.shown[-1]
    assert title == "Cannot open workflow"
    assert "line 2" in lines[0] and "malformed JSON" in lines[0]
    assert window.document.definition == before
    assert not window.open_file(tmp_path / "missing.json")
    assert "file not found" in dialogs.shown[-1][2][0]
    structure = tmp_path / "structure.json"
    structure.write_text('{"dag": {"nodes": [{"id": 3}]}}')
    assert not window.open_file(structure)
    assert any("name" in line for line in dialogs.shown[-1][2])


def test_duplicate_ids_are_renamed_and_reported(seed, window, dialogs, tmp_path):
    path = tmp_path / "dup.json"
    path.write_text(
        '{"name": "d", "dag": {"nodes": [{"id": "a", "handler": "input"},'
        '{"id": "a", "handler": "output", "dependencies": ["a"]}]}}'
    )
    assert window.open_file(path)
    assert window.document.node_ids() == ["a", "a_2"]
    assert "renamed to 'a_2'" in dialogs.shown[-1][2][0]
    assert window.isWindowModified()


def test_unsaved_changes_ask_before_open_new_and_close(seed, window, dialogs):
    assert window.open_file(seed)
    wire(window, "get_user", "get_posts")
    modified = window.document.definition

    dialogs.unsaved_answers.append("cancel")
    assert not window.new_workflow()
    assert window.document.definition == modified

    dialogs.unsaved_answers.append("cancel")
    assert not window.close()
    assert window.isVisible()

    dialogs.unsaved_answers.append("save")  # opened from a path: Save writes there, no dialog
    assert window.new_workflow()
    assert load_workflow(seed).node("get_posts").dependencies == ["input", "get_user"]
    assert window.document.node_ids() == []
    assert dialogs.asked_unsaved == 3


def test_discard_drops_changes(seed, window, dialogs):
    assert window.open_file(seed)
    wire(window, "get_user", "get_posts")
    dialogs.unsaved_answers.append("discard")
    dialogs.open_paths.append(str(seed))
    assert window.open_dialog()
    assert window.document.definition.node("get_posts").dependencies == ["input"]
    assert not window.isWindowModified()


def test_recent_files_menu(seed, window, tmp_path):
    first = tmp_path / "one.json"
    second = tmp_path / "two.json"
    first.write_text(SEED.read_text())
    second.write_text(SEED.read_text())
    assert window.open_file(first)
    assert window.open_file(second)
    assert window.recent.paths()[:2] == [str(second.resolve()), str(first.resolve())]
    window.recent_menu.aboutToShow.emit()
    actions = window.recent_menu.actions()
    assert [a.text() for a in actions[:2]] == [str(second.resolve()), str(first.resolve())]
    actions[1].trigger()
    QApplication.processEvents()
    assert window.document.path == first


def test_save_failure_is_reported(seed, window, dialogs, tmp_path):
    assert window.open_file(seed)
    dialogs.save_paths.append(str(tmp_path / "no" / "such" / "dir.json"))
    assert not window.save_as()
    assert dialogs.errors and "dir.json" in dialogs.errors[-1]


@pytest.mark.parametrize("example", sorted((REPO / "resources" / "examples").glob("*.json")))
def test_every_bundled_example_opens_without_errors(window, example, tmp_path):
    copy = tmp_path / example.name
    copy.write_text(example.read_text())
    assert window.open_file(copy)
    assert errors_only(window.validator.problems) == []
    assert len(window.canvas.nodes) == len(window.document.definition.nodes)
    for spec in window.document.definition.nodes:
        assert canvas_inputs(window, spec.id) == set(spec.dependencies)
