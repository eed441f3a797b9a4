"""Build the seed example in the real window by hand, save it, reopen it, compare."""

from __future__ import annotations

import json

from PySide6.QtWidgets import QApplication

from flowdesk.model import dump_workflow, load_workflow

from .conftest import SEED
from .helpers import canvas_inputs, drop_handler, select, type_into, wire

URL = "http://localhost:8911/document/policy/list"


def rename(window, node_id: str, new_id: str) -> None:
    select(window, node_id)
    assert window.config_form.node_id == node_id
    type_into(window.config_form.id_edit, new_id)
    assert window.document.has_node(new_id)


def test_build_seed_save_and_reopen(seed, window, dialogs, tmp_path):
    type_into(window.name_edit, "Parallel API Fetcher")
    first = drop_handler(window, "input", (0, 0))
    assert first == "input"
    for index, name in enumerate(["get_user", "get_posts", "get_comments"]):
        node_id = drop_handler(window, "call_external_service", (260, index * 120))
        rename(window, node_id, name)
        type_into(window.config_form.fields["url"].widget, URL)
    # The last one comes from the Tab search, like a keyboard user would add it.
    window.open_search()
    window.search.edit.setText("outp")
    window.search.choose_current()
    assert window.document.has_node("output")
    for name in ["get_user", "get_posts", "get_comments"]:
        wire(window, "input", name)
        wire(window, name, "output")
    assert canvas_inputs(window, "output") == {"get_user", "get_posts", "get_comments"}

    built = json.loads(dump_workflow(window.document.definition, include_layout=False))
    assert built == json.loads(SEED.read_text())
    assert window.isWindowModified()

    target = tmp_path / "fetcher.json"
    dialogs.save_paths.append(str(target))
    window.act_save.trigger()
    assert not window.isWindowModified()
    assert "Parallel API Fetcher" in window.windowTitle()
    saved = load_workflow(target)
    assert saved.layout is not None and set(saved.layout) == set(window.document.node_ids())

    before = window.document.definition
    window.new_workflow()
    assert window.document.node_ids() == []
    assert window.open_file(target)
    QApplication.processEvents()
    assert window.document.definition == before
    assert canvas_inputs(window, "output") == {"get_user", "get_posts", "get_comments"}
    assert window.recent.paths()[0] == str(target.resolve())
