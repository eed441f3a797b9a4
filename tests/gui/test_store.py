"""Saving workflows to, and opening them from, the local store."""

from __future__ import annotations

from flowdesk.store import Store

from .helpers import wire


def test_save_to_store_and_open_from_store(seed, window, dialogs, private_store):
    assert window.library.db_path == private_store
    assert window.open_file(seed)
    wire(window, "get_user", "get_posts")
    assert window.save_to_store()
    with Store.open(private_store) as store:
        stored = store.definitions.load("Parallel API Fetcher")
    assert stored == window.document.definition
    # The file is still where Save writes, so the file's unsaved mark stays.
    assert window.isWindowModified()

    dialogs.unsaved_answers.append("discard")
    assert window.new_workflow()
    dialogs.store_choices.append("Parallel API Fetcher")
    assert window.open_from_store_dialog()
    assert "Parallel API Fetcher  (5 nodes" in dialogs.store_choices_shown[0]
    assert window.document.definition == stored
    assert window.document.path is None and window.document.store_name == "Parallel API Fetcher"
    assert "(local store)" in window.windowTitle()
    assert not window.isWindowModified()

    # Save (Ctrl+S) of a workflow from the store writes back to the store.
    wire(window, "get_user", "get_comments")
    window.act_save.trigger()
    assert not window.isWindowModified()
    with Store.open(private_store) as store:
        assert (
            "get_user"
            in store.definitions.load("Parallel API Fetcher").node("get_comments").dependencies
        )


def test_replacing_another_saved_workflow_asks(seed, window, dialogs, private_store):
    assert window.open_file(seed)
    assert window.save_to_store()
    window.new_workflow(ask=False)
    window.controller.rename_workflow("Parallel API Fetcher")
    window.controller.add_node("input")
    dialogs.confirm_answers.append(False)
    assert not window.save_to_store()
    assert "already in the local store" in dialogs.confirmations[0]
    with Store.open(private_store) as store:
        assert len(store.definitions.load("Parallel API Fetcher").nodes) == 5


def test_empty_store_and_store_errors(window, dialogs, tmp_path, qtbot, monkeypatch):
    assert not window.open_from_store_dialog()
    assert "no saved workflows" in window.statusBar().currentMessage()
    (tmp_path / "not-a-db").write_text("this is not sqlite " * 100)
    monkeypatch.setenv("FLOWDESK_DB", str(tmp_path / "not-a-db"))
    from flowdesk.gui.main_window import MainWindow

    broken = MainWindow(dialogs=dialogs, settings=window.recent.settings)
    qtbot.addWidget(broken)
    assert not broken.open_from_store_dialog()
    assert "not a FlowDesk database" in dialogs.errors[-1]
    assert "Run history unavailable" in broken.statusBar().currentMessage()
