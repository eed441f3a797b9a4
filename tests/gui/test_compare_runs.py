"""Compare mode in the editor: two real runs from the history painted node by node, a node's two
outputs and resolved configs as a side-by-side JSON diff, a run against the edited workflow, and
the diff tree of nested JSON."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from flowdesk.engine import RunState
from flowdesk.gui import theme
from flowdesk.gui.diff_rows import MAX_ROWS, diff_rows

from .helpers import select
from .test_runs import finish, painted, write

# No HTTP: outputs that depend only on the params, so two runs differ exactly where we say.
NODES = [
    {"id": "const", "handler": "transform", "dependencies": [], "config": {"value": {"n": 1}}},
    {
        "id": "greet",
        "handler": "transform",
        "dependencies": [],
        "config": {"value": {"name": "{{ params.name }}", "fixed": True}},
    },
    {
        "id": "tail",
        "handler": "transform",
        "dependencies": ["const"],
        "config": {"value": "{{ const.n + 1 }}"},
    },
]


def run_with(window, loop, params: str):
    window.dialogs.params_answers.append(params)
    assert window.runs.run() is not None
    result = finish(window, loop)
    assert result.state is RunState.COMPLETED
    return result


def select_runs(window, *run_ids: str) -> None:
    """Select history rows as Ctrl+click does."""
    panel = window.runs.panel
    history = panel.history
    history.clearSelection()
    for row in range(history.rowCount()):
        if history.item(row, 0).data(Qt.ItemDataRole.UserRole) in run_ids:
            index = history.model().index(row, 0)
            history.selectionModel().select(
                index,
                history.selectionModel().SelectionFlag.Select
                | history.selectionModel().SelectionFlag.Rows,
            )
    QApplication.processEvents()
    assert sorted(panel.selected_run_ids()) == sorted(run_ids)


def compared_summary(view) -> str:
    assert view.compared is not None
    assert view.summary.text() == f"<b>{view.compared.summary()}</b>"
    return view.compared.summary()


def background(tree, *keys: str) -> tuple[int, int, int]:
    colour: QColor = tree.item_at(*keys).background(1).color()
    return colour.red(), colour.green(), colour.blue()


def test_two_runs_differing_in_one_output_paint_that_node_and_diff_its_keys(
    window, loop, tmp_path
) -> None:
    window.open_file(write(tmp_path, NODES), ask=False)
    first = run_with(window, loop, '{"name": "Ada"}')
    second = run_with(window, loop, '{"name": "Grace"}')
    panel = window.runs.panel
    select_runs(window, first.run_id, second.run_id)
    # Two runs selected: compare, but no command that needs exactly one run.
    assert panel.compare_button.isEnabled()
    assert not panel.rerun_button.isEnabled() and not panel.compare_current_button.isEnabled()
    assert window.compare.act_compare.isEnabled()

    panel.compare_button.click()
    assert loop.run_until_complete(window.compare.pending) is not None  # compared off-thread
    canvas = window.canvas
    assert canvas.compare_mark_of("greet") == "output differs"
    assert canvas.compare_mark_of("const") == "same"
    assert canvas.compare_mark_of("tail") == "same"
    view = window.compare.compare_view
    assert panel.comparing and view.isVisible() and not panel.inspector.isVisible()
    assert compared_summary(view) == "1 of 3 nodes differ: 1 output differs"
    # A legend says which colour means what.
    for mark in ("same", "output", "state", "only_a", "only_b"):
        assert view.legend.findChild(type(view.summary), f"compare_legend_{mark}") is not None
    assert first.run_id[:8] in view.header.text() and second.run_id[:8] in view.header.text()

    select(window, "greet")
    tree = view.output_diff
    assert tree.kind_at("name") == "changed"
    assert (tree.item_at("name").text(1), tree.item_at("name").text(2)) == ("Ada", "Grace")
    assert background(tree, "name") == theme.DIFF_COLORS["changed"]
    assert tree.kind_at("fixed") == "same"
    assert tree.item_at("fixed").background(1).style() == Qt.BrushStyle.NoBrush
    # The two resolved configs, side by side too.
    assert view.config_diff.kind_at("value", "name") == "changed"
    assert view.config_diff.kind_at("value", "fixed") == "same"

    # Paths typed in the ignore field no longer count; they stay visible, greyed.
    view.ignore.setText("$.name")
    view.ignore.editingFinished.emit()
    loop.run_until_complete(window.compare.pending)
    assert canvas.compare_mark_of("greet") == "same"
    assert tree.kind_at("name") == "ignored"
    view.ignore.setText("")
    view.ignore.editingFinished.emit()
    loop.run_until_complete(window.compare.pending)
    assert canvas.compare_mark_of("greet") == "output differs"

    # Picking a node in the compare list selects it on the canvas.
    view.node_chosen.emit("const")
    assert canvas.selected_ids() == ["const"]
    assert view.output_diff.kind_at("n") == "same"

    # Esc (Close compare) goes back to the run on show, painted by its states.
    assert window.compare.act_close.isEnabled() and not window.runs.act_cancel.isEnabled()
    window.compare.act_close.trigger()
    assert canvas.compare_mark_of("greet") is None
    assert painted(window, "greet") == "SUCCEEDED"
    assert not panel.comparing and panel.inspector.isVisible() and not view.isVisible()
    assert not window.compare.act_close.isEnabled()


def test_identical_runs_are_all_the_same(window, loop, tmp_path) -> None:
    window.open_file(write(tmp_path, NODES), ask=False)
    first = run_with(window, loop, '{"name": "Ada"}')
    second = run_with(window, loop, '{"name": "Ada"}')
    select_runs(window, first.run_id, second.run_id)
    # The selection of two survives the history's refresh (it runs every few seconds).
    window.runs.refresh_history()
    assert len(window.runs.panel.selected_run_ids()) == 2
    # Closed before the comparison is done: it never shows.
    pending = window.compare.compare_selected()
    window.compare.close()
    assert loop.run_until_complete(pending) is None
    assert window.canvas.compare_mark_of("greet") is None and not window.runs.panel.comparing
    compared = loop.run_until_complete(window.compare.compare_selected())
    assert compared is not None and compared.comparison.identical
    marks = {node_id: window.canvas.compare_mark_of(node_id) for node_id in window.canvas.nodes}
    assert marks == {"const": "same", "greet": "same", "tail": "same"}
    assert compared_summary(window.compare.compare_view).startswith("identical")


def test_state_changes_and_nodes_in_one_run_only(window, loop, tmp_path) -> None:
    picky = {
        "id": "picky",
        "handler": "transform",
        "dependencies": [],
        "config": {"value": "{{ params.obj.key }}"},
    }
    window.open_file(write(tmp_path, [*NODES, picky]), ask=False)
    first = run_with(window, loop, '{"name": "Ada", "obj": {"key": 1}}')
    extra = window.controller.add_node("transform", (400.0, 300.0))
    window.controller.edit_config(extra, {"value": 5})
    window.dialogs.params_answers.append('{"name": "Ada"}')
    assert window.runs.run() is not None
    second = finish(window, loop)
    assert second.state is RunState.FAILED  # picky: params.obj is missing
    select_runs(window, first.run_id, second.run_id)
    window.runs.panel.compare_button.click()
    loop.run_until_complete(window.compare.pending)
    canvas, view = window.canvas, window.compare.compare_view
    assert canvas.compare_mark_of("picky") == "state differs"
    assert canvas.compare_mark_of(extra) == "only in B"
    assert canvas.compare_mark_of("greet") == "same"
    select(window, "picky")
    assert "error in B" in view.errors.text() and view.errors.isVisible()
    assert "SUCCEEDED → FAILED" in view.node_title.text()
    # A run starting ends compare mode.
    window.dialogs.params_answers.append('{"name": "Ada", "obj": {"key": 1}}')
    window.runs.run()
    assert canvas.compare_mark_of("picky") is None and not window.runs.panel.comparing
    finish(window, loop)


def test_a_run_against_the_edited_workflow_shows_added_removed_and_changed(
    window, loop, tmp_path
) -> None:
    window.open_file(write(tmp_path, NODES), ask=False)
    first = run_with(window, loop, '{"name": "Ada"}')
    controller = window.controller
    controller.edit_config("const", {"value": {"n": 2}})
    select(window, "greet")
    controller.delete_selected()
    added = controller.add_node("transform", (500.0, 0.0))
    controller.edit_config(added, {"value": 5})
    panel = window.runs.panel
    select_runs(window, first.run_id)
    assert panel.compare_current_button.isEnabled() and not panel.compare_button.isEnabled()
    panel.compare_current_button.click()
    canvas, view = window.canvas, window.compare.compare_view
    assert canvas.compare_mark_of("const") == "changed since"
    assert canvas.compare_mark_of("tail") == "upstream changed"
    assert canvas.compare_mark_of(added) == "added since"
    assert view.mark_in_list("greet") == "removed since"  # not on the canvas any more
    assert compared_summary(view) == (
        "nodes since this run: 1 added, 1 removed, 1 changed, 1 with a change upstream"
    )
    select(window, "const")
    tree = view.definition_diff
    assert tree.kind_at("config", "value", "n") == "changed"
    assert (
        tree.item_at("config", "value", "n").text(1),
        tree.item_at("config", "value", "n").text(2),
    ) == ("1", "2")
    assert view.run_output.text_of("n") == "1"  # what that run's const gave
    # The comparison follows further edits while it is on show.
    controller.edit_config("const", {"value": {"n": 1}})
    assert canvas.compare_mark_of("const") == "unchanged"
    assert canvas.compare_mark_of("tail") == "unchanged"
    # Picking one run in the history shows that run again.
    panel.history_selected.emit(first.run_id)
    assert canvas.compare_mark_of("const") is None and not panel.comparing


def test_nested_json_diff_rows() -> None:
    old = {
        "user": {"id": 1, "name": "Ada", "tags": ["a", "b", "c"]},
        "items": [{"sku": "x", "qty": 1}, {"sku": "y", "qty": 2}],
        "gone": {"deep": [1, 2]},
        "kind": {"was": "object"},
    }
    new = {
        "user": {"id": 1, "name": "Grace", "tags": ["a", "c"], "email": "g@example.org"},
        "items": [{"sku": "x", "qty": 1}, {"sku": "y", "qty": 3}, {"sku": "z", "qty": 1}],
        "kind": ["now", "a list"],
        "count": 1.0,
    }
    root = diff_rows(old, new)
    assert root.kind == "inside"
    assert root.find("user").kind == "inside"
    assert root.find("user", "id").kind == "same"
    name = root.find("user", "name")
    assert (name.kind, name.a, name.b) == ("changed", "Ada", "Grace")
    email = root.find("user", "email")
    assert (email.kind, email.a, email.b) == ("added", None, "g@example.org")
    # "b" removed from the list: the items after it pair up with their new indexes.
    tags = root.find("user", "tags")
    assert [(row.key, row.kind) for row in tags.children] == [
        ("[0]", "same"),
        ("[1]", "removed"),
        ("[2]→[1]", "same"),
    ]
    assert root.find("items", "[0]").kind == "same"
    assert root.find("items", "[1]", "qty").kind == "changed"
    assert root.find("items", "[1]", "sku").kind == "same"
    added_item = root.find("items", "[2]")
    assert (added_item.kind, added_item.a) == ("added", None)
    assert added_item.find("sku").kind == "added"  # everything under an added item is added
    gone = root.find("gone")
    assert (gone.kind, gone.b) == ("removed", None)
    assert gone.find("deep", "[1]").kind == "removed"
    kind = root.find("kind")  # an object became a list: both sides' items shown
    assert kind.kind == "changed"
    assert [(row.key, row.kind) for row in kind.children] == [
        ("was", "removed"),
        ("[0]", "added"),
        ("[1]", "added"),
    ]
    assert root.find("count").kind == "added"
    # Ignored paths still show, marked as ignored, and no longer make their parents differ.
    ignored = diff_rows(old["user"], new["user"], ignore=["$.name", "$.email", "$.tags"])
    assert ignored.find("name").kind == "ignored"
    assert ignored.kind == "same"
    # Types count as JSON's: 1 and 1.0 differ, as in `flowdesk runs diff`.
    assert diff_rows({"n": 1}, {"n": 1.0}).find("n").kind == "changed"
    assert diff_rows([1, 2], [1, 2]).kind == "same"


def test_a_long_list_shows_every_difference_and_counts_the_rest() -> None:
    old = list(range(2 * MAX_ROWS))
    new = [*old[:-1], -1]
    root = diff_rows(old, new)
    assert root.children[-1].kind == "changed"
    assert len(root.children) == MAX_ROWS + 1
    assert root.hidden == MAX_ROWS - 1


def test_a_node_restored_by_undo_is_painted_like_the_others(window, loop, tmp_path) -> None:
    window.open_file(write(tmp_path, NODES), ask=False)
    first = run_with(window, loop, '{"name": "Ada"}')
    stack, canvas = window.document.undo_stack, window.canvas
    select(window, "greet")
    assert "greet" in window.runs.panel.inspector.title.text()
    window.controller.delete_selected()
    assert "greet" not in canvas.nodes
    assert "greet" not in window.runs.panel.inspector.title.text(), "a deleted node's inspector"
    stack.undo()
    assert painted(window, "greet") == "SUCCEEDED", "Ctrl+Z brings the node back in its colour"
    # The same in compare mode: the restored node gets its compare mark, and its run state
    # once compare mode ends.
    select_runs(window, first.run_id)
    window.compare.compare_with_current()
    select(window, "greet")
    window.controller.delete_selected()
    stack.undo()
    assert canvas.compare_mark_of("greet") == "unchanged"
    window.compare.close()
    assert canvas.compare_mark_of("greet") is None
    assert painted(window, "greet") == "SUCCEEDED"


def test_the_status_bar_summary_follows_the_comparison_and_goes_with_it(
    window, loop, tmp_path
) -> None:
    window.open_file(write(tmp_path, NODES), ask=False)
    first = run_with(window, loop, '{"name": "Ada"}')
    second = run_with(window, loop, '{"name": "Ada"}')
    status = window.statusBar()
    select_runs(window, first.run_id, second.run_id)
    loop.run_until_complete(window.compare.compare_selected())
    assert status.currentMessage().startswith("Comparing runs: identical")
    window.compare.act_close.trigger()  # Esc
    assert status.currentMessage() == ""

    select_runs(window, first.run_id)
    window.compare.compare_with_current()
    assert status.currentMessage() == (
        "Compared with the current workflow: the workflow is as this run defined it"
    )
    window.controller.edit_config("const", {"value": {"n": 2}})
    assert status.currentMessage() == (
        "Compared with the current workflow: nodes since this run: 1 changed, "
        "1 with a change upstream"
    )
    window.controller.edit_config("const", {"value": {"n": 1}})
    assert status.currentMessage().endswith("the workflow is as this run defined it")
    # A message said after the summary is not the compare view's to take back.
    window.show_message("Saved somewhere")
    window.compare.close()
    assert status.currentMessage() == "Saved somewhere"


def test_compare_opens_on_the_node_selected_on_the_canvas(window, loop, tmp_path) -> None:
    window.open_file(write(tmp_path, NODES), ask=False)
    first = run_with(window, loop, '{"name": "Ada"}')
    second = run_with(window, loop, '{"name": "Grace"}')
    view = window.compare.compare_view

    def listed() -> str | None:
        rows = view.nodes.selectionModel().selectedRows()
        return view.nodes.item(rows[0].row(), 0).text() if rows else None

    select_runs(window, first.run_id)
    window.compare.compare_with_current()
    view.node_chosen.emit("tail")  # picked in the list: selected on the canvas too
    assert view.node_id == "tail" and listed() == "tail"
    window.compare.close()
    select(window, "greet")
    window.compare.compare_with_current()
    assert view.node_id == "greet" and listed() == "greet"
    assert "greet" in view.node_title.text()
    window.compare.close()
    select(window, "const")
    select_runs(window, first.run_id, second.run_id)
    loop.run_until_complete(window.compare.compare_selected())
    assert view.node_id == "const" and listed() == "const"
