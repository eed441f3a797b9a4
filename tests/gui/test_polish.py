"""Window polish: Undo/Redo labels that never move the toolbar, long ids that never widen a
panel, a status bar from the start, file dialogs that remember their folder, history columns
shown whole, and every edit refused during a run explained in the status bar."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit, QStatusBar, QToolBar

from flowdesk.engine.results import NodeResult
from flowdesk.engine.states import NodeState, RunState
from flowdesk.gui.files import Dialogs
from flowdesk.gui.run_panel import HISTORY_COLUMNS, HISTORY_MAX_WIDTH, RUN_COLUMN, RunPanel
from flowdesk.store import RunSummary

from .helpers import select, type_into
from .test_run_log import FakeRunSource

LONG_ID = "a_really_long_node_identifier_that_goes_on_and_on_and_never_seems_to_end"


def test_undo_and_redo_keep_short_labels_and_name_the_edit_in_the_tooltip(window) -> None:
    toolbar = window.findChild(QToolBar, "workflow_toolbar")
    undo_button = toolbar.widgetForAction(window.act_undo)
    widths = (undo_button.sizeHint().width(), toolbar.sizeHint().width())
    assert window.act_undo.toolTip() == "Nothing to undo"

    node_id = window.controller.add_node("call_external_service")
    assert window.act_undo.text().replace("&", "") == "Undo"
    assert window.act_undo.toolTip() == f"Undo add {node_id}"
    assert (undo_button.sizeHint().width(), toolbar.sizeHint().width()) == widths

    window.act_undo.trigger()
    assert not window.document.has_node(node_id)
    assert window.act_redo.text().replace("&", "") == "Redo"
    assert window.act_redo.toolTip() == f"Redo add {node_id}"
    assert window.act_undo.toolTip() == "Nothing to undo"
    window.act_redo.trigger()
    assert window.document.has_node(node_id)


def test_the_status_bar_is_there_before_any_message(window) -> None:
    bar = window.findChild(QStatusBar)
    assert bar is not None and bar.isVisible()
    assert bar is window.statusBar()


def test_a_long_invalid_id_message_wraps_inside_the_node_panel(window) -> None:
    node_id = window.controller.add_node("transform")
    select(window, node_id)
    form = window.config_form
    width = form.viewport().width()
    bad = "1" + LONG_ID * 2  # starts with a digit: refused, and quoted in the message
    type_into(form.id_edit, bad)
    QApplication.processEvents()
    assert window.document.has_node(node_id)
    assert form.id_message.isVisible() and form.id_message.wordWrap()
    assert bad in form.id_message.toolTip() and "not a valid id" in form.id_message.text()
    assert form.id_message.width() <= width
    assert form.horizontalScrollBar().maximum() == 0, "the panel grew sideways"


def test_a_long_node_id_is_elided_in_the_inspector_and_whole_in_its_tooltip(qtbot) -> None:
    panel = RunPanel(FakeRunSource())  # type: ignore[arg-type]
    qtbot.addWidget(panel)
    title = panel.inspector.title
    panel.inspector.show_node(LONG_ID, NodeResult(LONG_ID, NodeState.SUCCEEDED, attempts=1))
    assert "…" in title.text() and LONG_ID not in title.text()
    assert "SUCCEEDED" in title.text()
    assert title.toolTip() == LONG_ID
    panel.inspector.show_node("short", NodeResult("short", NodeState.FAILED))
    assert "<b>short</b>" in title.text() and title.toolTip() == ""


def summary(run_id: str, params: dict | None) -> RunSummary:
    moment = datetime(2026, 11, 25, 22, 27, 54, tzinfo=UTC)
    return RunSummary(run_id, "wf", RunState.INTERRUPTED, moment, moment, moment, params)


def test_history_headers_and_run_ids_are_shown_whole_and_the_id_can_be_copied(qtbot) -> None:
    panel = RunPanel(FakeRunSource())  # type: ignore[arg-type]
    qtbot.addWidget(panel)
    panel.resize(900, 300)
    panel.show()
    full_id = "0123456789abcdef0123456789abcdef"
    long_params = {"text": "x" * 400}
    panel.show_history([summary(full_id, {"n": 1}), summary("f" * 32, long_params)])
    table, header = panel.history, panel.history.horizontalHeader()
    metrics = table.fontMetrics()
    for column in range(len(HISTORY_COLUMNS)):
        assert header.sectionSize(column) >= header.sectionSizeHint(column), HISTORY_COLUMNS[column]
        for row in range(table.rowCount()):
            text = table.item(row, column).text()
            if column != HISTORY_COLUMNS.index("Params") or row == 0:
                assert header.sectionSize(column) > metrics.horizontalAdvance(text), text
    assert header.sectionSize(HISTORY_COLUMNS.index("Params")) <= HISTORY_MAX_WIDTH
    assert table.item(1, HISTORY_COLUMNS.index("Params")).toolTip() == (
        table.item(1, HISTORY_COLUMNS.index("Params")).text()
    )
    # The pane asks for room for every column, so no id hides behind the scroll bar.
    assert panel.history_box.minimumWidth() >= sum(
        header.sectionSize(c) for c in range(len(HISTORY_COLUMNS) - 1)
    )

    run_cell = table.item(0, RUN_COLUMN)
    assert run_cell.text() == full_id[:12] and full_id in run_cell.toolTip()
    assert not table.item(0, 0).flags() & Qt.ItemFlag.ItemIsEditable
    table.editItem(run_cell)  # what a double-click does
    editor = table.findChild(QLineEdit)
    assert editor is not None and editor.isReadOnly()
    assert editor.text() == full_id and editor.selectedText() == full_id
    table.closePersistentEditor(run_cell)
    assert run_cell.text() == full_id[:12]

    panel.select_history(full_id)
    panel.copy_run_id.trigger()
    assert QGuiApplication.clipboard().text() == full_id


def test_file_dialogs_open_in_the_folder_last_used(qtbot, tmp_path, monkeypatch) -> None:
    from flowdesk.gui.main_window import MainWindow

    asked: list[str] = []
    answers = [str(tmp_path / "a" / "first.json"), ""]

    def fake_open(parent, title, folder, filters):
        asked.append(folder)
        return answers.pop(0), ""

    def fake_save(parent, title, start, filters):
        asked.append(start)
        return str(tmp_path / "b" / "saved.json"), ""

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(fake_open))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(fake_save))
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    window = MainWindow(settings=settings)
    qtbot.addWidget(window, before_close_func=lambda w: w.document.undo_stack.setClean())
    dialogs = window.dialogs
    assert isinstance(dialogs, Dialogs)

    first = answers[0]
    assert dialogs.open_path(window, "Open") == first
    assert dialogs.open_path(window, "Open") is None  # cancelled: the folder stays
    assert dialogs.save_path(window, "Save", "wf.json") == str(tmp_path / "b" / "saved.json")
    assert asked == ["", str(tmp_path / "a"), str(tmp_path / "a" / "wf.json")]
    # Remembered across windows, through the settings; a folder since deleted is not used.
    assert Dialogs(settings).last_folder() == str(tmp_path / "b")
    (tmp_path / "b").rmdir()
    assert Dialogs(settings).last_folder() == ""


# -- during a run ------------------------------------------------------------------------------


@contextmanager
def run_held_open(window, loop, tmp_path) -> Iterator[None]:
    """A run held open by a delay node, finished on the way out even when the test fails
    (not a fixture: pytest-qt closes the window before fixtures are torn down)."""
    from .test_runs import finish, start_waiting_run

    start_waiting_run(window, loop, tmp_path, seconds=0.6)
    assert window.controller.locked
    window.activateWindow()
    try:
        yield
    finally:
        finish(window, loop)


def last_message(window) -> str:
    return window.statusBar().currentMessage()


def test_undo_stays_off_during_a_run_even_after_a_move(window, loop, tmp_path) -> None:
    with run_held_open(window, loop, tmp_path):
        _undo_stays_off(window)
    assert window.act_undo.isEnabled(), "after the run, the move can be undone"


def _undo_stays_off(window) -> None:
    window.controller.nodes_moved({"wait": (400.0, 300.0)})  # allowed during a run
    assert window.document.definition.layout["wait"] == (400.0, 300.0)
    assert window.document.undo_stack.canUndo()
    assert not window.act_undo.isEnabled(), "undo would reach past the move into the structure"
    window.act_undo.trigger()
    assert window.document.definition.layout["wait"] == (400.0, 300.0)


def test_every_refused_edit_during_a_run_says_so(window, loop, tmp_path) -> None:
    with run_held_open(window, loop, tmp_path):
        _every_refusal_says_so(window)


def _every_refusal_says_so(window) -> None:
    viewer = window.canvas.graph.viewer()
    select(window, "wait")
    refusals = {
        "Delete": lambda: QTest.keyClick(viewer, Qt.Key.Key_Delete),
        "Duplicate": lambda: QTest.keyClick(
            viewer, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier
        ),
        "Undo": lambda: QTest.keyClick(viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier),
        "Auto layout": lambda: QTest.keyClick(
            viewer, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier
        ),
        "“auto layout”": window.controller.auto_layout,
        "“add transform”": lambda: window.controller.add_node("transform"),
        "“wire”": lambda: window.controller.wires_changed([], [("input", "wait")]),
        "“unwire”": lambda: window.controller.wires_changed([("input", "wait")], []),
    }
    before = window.document.definition
    for what, attempt in refusals.items():
        window.statusBar().clearMessage()
        viewer.setFocus()
        attempt()
        message = last_message(window)
        assert message.startswith("A run is active") and what in message, (what, message)
    assert window.document.definition == before


def test_a_rename_on_the_canvas_during_a_run_is_refused_and_the_title_put_back(
    window, loop, tmp_path
) -> None:
    with run_held_open(window, loop, tmp_path):
        _rename_refused(window)


def _rename_refused(window) -> None:
    title = window.canvas.nodes["wait"].view.text_item
    title.setPlainText("renamed")  # what the user typed in place
    title.set_node_name("renamed")  # Return: what NodeGraphQt does with it
    assert window.document.has_node("wait") and not window.document.has_node("renamed")
    assert "A run is active" in last_message(window) and "rename" in last_message(window)
    assert title.toPlainText() == "wait"


def test_a_long_run_summary_never_widens_the_runs_panel(qtbot) -> None:
    source = FakeRunSource()
    panel = RunPanel(source)  # type: ignore[arg-type]
    qtbot.addWidget(panel)
    width = panel.minimumSizeHint().width()
    board = source.board
    board.run_id, board.state = "9" * 32, RunState.RUNNING
    board.nodes = {f"n{i}": NodeResult(f"n{i}", state) for i, state in enumerate(NodeState)}
    source.board_changed.emit()
    assert "pending" in panel.status.text() and "cancelled" in panel.status.text()
    assert panel.minimumSizeHint().width() <= width
