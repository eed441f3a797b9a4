"""GUI test fixtures: offscreen Qt, the real main window, and dialogs that never block."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from flowdesk.gui.files import Dialogs

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "resources" / "examples" / "parallel_api_fetcher.json"
ARTIFACTS = REPO / "tests" / "artifacts"


class ScriptedDialogs(Dialogs):
    """Answers the editor's questions from queues; records what it was shown."""

    def __init__(self) -> None:
        self.open_paths: list[str | None] = []
        self.save_paths: list[str | None] = []
        self.unsaved_answers: list[str] = []
        self.shown: list[tuple[str, str, list[str]]] = []
        self.errors: list[str] = []
        self.asked_unsaved = 0
        self.confirm_answers: list[bool] = []
        self.confirmations: list[str] = []
        self.risky_confirmations: list[bool] = []  # asked with No as the default answer
        self.store_choices: list[str | None] = []
        self.store_choices_shown: list[str] = []
        self.params_answers: list[str | None] = []
        self.params_asked: list[tuple[str, str]] = []

    def open_path(self, parent, title):  # type: ignore[override]
        return self.open_paths.pop(0)

    def save_path(self, parent, title, suggested):  # type: ignore[override]
        return self.save_paths.pop(0)

    def ask_unsaved(self, parent, name):  # type: ignore[override]
        self.asked_unsaved += 1
        return self.unsaved_answers.pop(0)

    def show_problems(self, parent, title, summary, lines):  # type: ignore[override]
        self.shown.append((title, summary, list(lines)))

    def error(self, parent, title, message):  # type: ignore[override]
        self.errors.append(message)

    def confirm(self, parent, title, question, *, risky=False):  # type: ignore[override]
        self.confirmations.append(question)
        self.risky_confirmations.append(risky)
        return self.confirm_answers.pop(0)

    def ask_params(self, parent, workflow, text):  # type: ignore[override]
        self.params_asked.append((workflow, text))
        return self.params_answers.pop(0) if self.params_answers else text

    def choose_stored(self, parent, names, labels):  # type: ignore[override]
        self.store_choices_shown = list(labels)
        return self.store_choices.pop(0)


@pytest.fixture(autouse=True)
def private_store(tmp_path, monkeypatch) -> Path:
    """Every GUI test gets its own database: never the user's local store."""
    path = tmp_path / "store" / "flowdesk.db"
    path.parent.mkdir()
    monkeypatch.setenv("FLOWDESK_DB", str(path))
    return path


@pytest.fixture(autouse=True)
def collect_qt_garbage_here():
    """As the editor does (flowdesk/gui/garbage.py): no automatic collection while a GUI test
    runs, so a store's writer thread never destroys Qt objects (and their timers) from there,
    which crashed Qt later; the test's garbage is collected here, on the GUI thread."""
    import gc

    gc.disable()
    yield
    gc.collect()
    gc.enable()


@pytest.fixture(autouse=True)
def release_clipboard():
    """As the app does on quit: a QMimeData left on the clipboard crashes PySide6 at exit."""
    yield
    from flowdesk.gui.controller import EditorController

    EditorController.release_clipboard()


@pytest.fixture
def seed(tmp_path) -> Path:
    """A copy of the seed example: saving in a test must never touch the checked-in file."""
    copy = tmp_path / "parallel_api_fetcher.json"
    copy.write_text(SEED.read_text(encoding="utf-8"), encoding="utf-8")
    return copy


@pytest.fixture
def dialogs() -> ScriptedDialogs:
    return ScriptedDialogs()


@pytest.fixture
def window(qtbot, dialogs, tmp_path):
    from flowdesk.gui.main_window import MainWindow

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(dialogs=dialogs, settings=settings)
    # Closing at teardown must not ask about unsaved changes.
    qtbot.addWidget(win, before_close_func=lambda w: w.document.undo_stack.setClean())
    win.show()
    yield win
    win.service.close()  # also when the test left the window open or refused to close


@pytest.fixture
def loop(qapp):
    """A qasync loop on the test's QApplication: the engine runs in it, as in the editor."""
    import asyncio

    import qasync

    event_loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(event_loop)
    yield event_loop
    event_loop.close()
    asyncio.set_event_loop(None)
