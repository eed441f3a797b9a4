"""`flowdesk gui`: the QApplication, the qasync event loop and the editor window.

qasync lets the engine (next issue) run its asyncio tasks in the Qt event
loop, so the window stays live while a workflow runs.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_API", "pyside6")  # qasync would otherwise prefer PyQt if installed

import asyncio
import logging
import sys
import traceback
from collections.abc import Callable
from types import TracebackType

import qasync
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from flowdesk import resources
from flowdesk.gui import theme

log = logging.getLogger(__name__)


def show_error_dialog(text: str) -> None:
    if QApplication.instance() is not None:
        QMessageBox.critical(None, "FlowDesk: unexpected error", text)


def install_excepthook(show: Callable[[str], None] = show_error_dialog) -> None:
    """Log uncaught errors (also those inside qasync slots) and show them; never exit."""
    showing = False

    def hook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        nonlocal showing
        if issubclass(kind, KeyboardInterrupt):
            sys.__excepthook__(kind, value, tb)
            return
        text = "".join(traceback.format_exception(kind, value, tb))
        log.error("uncaught exception:\n%s", text)
        if showing:
            return  # an error while showing an error: the log has it
        showing = True
        try:
            show(f"{kind.__name__}: {value}\n\nThe editor keeps running; details are in the log.")
        finally:
            showing = False

    sys.excepthook = hook


def main(file: str | None = None) -> int:
    """Open the editor (optionally with `file`) and run until its window closes."""
    from flowdesk.gui.controller import EditorController
    from flowdesk.gui.garbage import GuiThreadCollector
    from flowdesk.gui.main_window import MainWindow
    from flowdesk.logs import configure_logging

    configure_logging()  # `flowdesk gui` has done it already; a direct call needs it too
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("FlowDesk")
    app.setOrganizationName("FlowDesk")
    app.setQuitOnLastWindowClosed(False)
    install_excepthook()
    collector = GuiThreadCollector(app)  # never let a worker thread destroy a Qt object
    theme.apply_app_theme(app)
    app.setWindowIcon(QIcon(str(resources.app_icon())))
    window = MainWindow()
    window.show()
    if file:
        window.open_file(file, ask=False)  # a broken file is reported; the window stays

    async def run_until_closed() -> None:
        closed = asyncio.Event()
        app.lastWindowClosed.connect(closed.set)
        await closed.wait()

    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop:
            loop.run_until_complete(run_until_closed())
    finally:
        asyncio.set_event_loop(None)
        EditorController.release_clipboard()
        collector.stop()
    return 0
