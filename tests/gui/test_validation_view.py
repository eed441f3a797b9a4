"""Live validation: problems in the list and on the nodes, clicking a problem selects its node."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from .helpers import select, type_into


def test_problem_shows_on_node_and_in_list(seed, window, qtbot):
    assert window.open_file(seed)
    assert window.problems.item(0).text() == "No problems."
    select(window, "get_user")
    # A template naming a node that is not upstream: valid config, invalid workflow.
    type_into(window.config_form.fields["url"].widget, "http://x/{{ get_posts.body }}")
    # Debounced: shows up shortly after the edit, without an explicit call.
    qtbot.waitUntil(
        lambda: window.problems.count() >= 1 and "get_posts" in window.problems.item(0).text(),
        timeout=2000,
    )
    item = window.canvas.nodes["get_user"].view
    assert item.problem_is_error
    assert "not upstream" in item.toolTip()
    assert "problem" not in window.canvas.nodes["get_posts"].view.toolTip()
    assert window.problems_dock.windowTitle() == "Problems (1)"

    select(window, "input")
    window.problems.itemClicked.emit(window.problems.item(0))
    assert window.canvas.selected_ids() == ["get_user"]
    assert window.config_form.node_id == "get_user"

    # Fixing it (wire get_posts -> get_user) clears the outline.
    from .helpers import wire

    wire(window, "get_posts", "get_user")
    qtbot.waitUntil(lambda: not window.canvas.nodes["get_user"].view.problem_text, timeout=2000)
    assert window.problems.item(0).text() == "No problems."


def test_unknown_handler_and_missing_dependency_from_file(seed, window, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(
        '{"name": "bad", "dag": {"nodes": ['
        '{"id": "a", "handler": "nope"},'
        '{"id": "b", "handler": "output", "dependencies": ["a", "ghost"]}]}}'
    )
    assert window.open_file(path)  # invalid but parseable: it opens
    QApplication.processEvents()
    texts = [window.problems.item(i).text() for i in range(window.problems.count())]
    assert any("unknown handler 'nope'" in t for t in texts)
    assert any("missing node 'ghost'" in t for t in texts)
    assert window.canvas.nodes["a"].view.problem_is_error
    assert "problem" in window.statusBar().currentMessage()
