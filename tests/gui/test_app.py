"""The entry point: qasync loop, excepthook, and `flowdesk gui FILE` opening the window."""

from __future__ import annotations

import asyncio
import sys

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication

from flowdesk.gui import app as gui_app
from flowdesk.gui.main_window import MainWindow


def test_excepthook_logs_and_shows_instead_of_exiting(monkeypatch, caplog):
    shown: list[str] = []
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # restored after the test
    gui_app.install_excepthook(shown.append)
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    assert shown and "RuntimeError: boom" in shown[0]
    assert "boom" in caplog.text


def test_main_opens_file_in_a_qasync_loop_and_returns_zero(seed, qapp, monkeypatch, tmp_path):
    from PySide6.QtCore import QSettings

    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(tmp_path))
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    seen: dict[str, object] = {}

    def inspect_and_close() -> None:
        windows = [
            w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()
        ]
        window = windows[-1]
        seen["title"] = window.windowTitle()
        seen["nodes"] = len(window.canvas.nodes)
        seen["loop_running"] = asyncio.get_event_loop().is_running()
        window.close()

    QTimer.singleShot(300, inspect_and_close)
    assert gui_app.main(str(seed)) == 0
    assert str(seen["title"]).startswith("Parallel API Fetcher")
    assert seen["nodes"] == 5
    assert seen["loop_running"] is True
    qapp.setQuitOnLastWindowClosed(True)


@pytest.mark.parametrize("key", ["Tab"])
def test_tab_opens_the_handler_search(window, qtbot, key):
    viewer = window.canvas.graph.viewer()
    window.activateWindow()
    viewer.setFocus()
    window.act_search.trigger()
    assert window.search.isVisible()
    qtbot.keyClicks(window.search.edit, "del")
    assert window.search.list.currentItem().text() == "delay"
    window.search.choose_current()
    assert not window.search.isVisible()
    assert window.document.node_ids() == ["delay"]
    assert window.act_search.shortcut().toString() == key


def test_canvas_keys_fit_tab_and_delete(seed, window, qtbot):
    assert window.open_file(seed)
    viewer = window.canvas.graph.viewer()
    window.activateWindow()
    viewer.setFocus()
    qtbot.waitUntil(viewer.hasFocus, timeout=1000)
    qtbot.keyClick(viewer, Qt.Key.Key_Tab)
    assert window.search.isVisible()
    window.search.hide()
    viewer.setFocus()
    viewer.set_zoom(2.0)
    qtbot.keyClick(viewer, Qt.Key.Key_F)
    rect = viewer.mapToScene(viewer.viewport().rect()).boundingRect()
    for node in window.canvas.nodes.values():
        assert rect.contains(node.view.sceneBoundingRect())
    window.canvas.select(["get_posts"])
    qtbot.keyClick(viewer, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert window.document.has_node("get_posts_2")
    qtbot.keyClick(viewer, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not window.document.has_node("get_posts_2")
    qtbot.keyClick(viewer, Qt.Key.Key_Y, Qt.KeyboardModifier.ControlModifier)
    assert window.document.has_node("get_posts_2")


def test_the_editor_exits_cleanly_after_copying_nodes(seed, tmp_path):
    """PySide6 segfaults at exit if our QMimeData is still on the clipboard: main() releases it."""
    import os
    import subprocess

    script = f"""
import sys
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication
from flowdesk.gui import app as gui_app
from flowdesk.gui.main_window import MainWindow

def copy_and_close():
    window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow))
    window.canvas.select(["input", "get_user"])
    assert window.controller.copy_selected()
    window.close()

application = QApplication(sys.argv[:1])
QTimer.singleShot(300, copy_and_close)
sys.exit(gui_app.main({str(seed)!r}))
"""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 0, result.stderr[-2000:]
