"""File handling for the editor: dialogs behind one replaceable object, recent files, loading.

Every question the editor asks the user goes through `Dialogs`, so tests swap
in an object that answers without ever opening a modal window.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialog, QFileDialog, QInputDialog, QMessageBox, QWidget

from flowdesk.model import Problem, WorkflowDefinition
from flowdesk.model.edits import auto_layout, dedupe_ids

JSON_FILTER = "Workflow JSON (*.json);;All files (*)"
MAX_RECENT = 8
UnsavedAnswer = Literal["save", "discard", "cancel"]


class Dialogs:
    """The real, modal dialogs. Tests replace this with a scripted fake.

    File dialogs open in the folder last used by any of them, kept in `settings`.
    """

    LAST_FOLDER_KEY = "lastFolder"

    def __init__(self, settings: QSettings | None = None) -> None:
        self.settings = settings

    def last_folder(self) -> str:
        """The folder of the last file chosen, or "" (Qt's default) when none or it is gone."""
        folder = str(self.settings.value(self.LAST_FOLDER_KEY, "") or "") if self.settings else ""
        return folder if folder and Path(folder).is_dir() else ""

    def _remember_folder(self, path: str) -> None:
        if path and self.settings is not None:
            self.settings.setValue(self.LAST_FOLDER_KEY, str(Path(path).resolve().parent))

    def open_path(self, parent: QWidget, title: str) -> str | None:
        path, _ = QFileDialog.getOpenFileName(parent, title, self.last_folder(), JSON_FILTER)
        self._remember_folder(path)
        return path or None

    def save_path(self, parent: QWidget, title: str, suggested: str) -> str | None:
        folder = self.last_folder()
        start = str(Path(folder) / suggested) if folder else suggested
        path, _ = QFileDialog.getSaveFileName(parent, title, start, JSON_FILTER)
        self._remember_folder(path)
        return path or None

    def ask_unsaved(self, parent: QWidget, name: str) -> UnsavedAnswer:
        buttons = (
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel
        )
        answer = QMessageBox.question(
            parent,
            "Unsaved changes",
            f"Save the changes to “{name}” first?",
            buttons,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return "save"
        if answer == QMessageBox.StandardButton.Discard:
            return "discard"
        return "cancel"

    def show_problems(self, parent: QWidget, title: str, summary: str, lines: list[str]) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, summary, parent=parent)
        box.setDetailedText("\n".join(lines))
        box.setInformativeText("\n".join(lines[:10]) + ("\n…" if len(lines) > 10 else ""))
        box.exec()

    def error(self, parent: QWidget, title: str, message: str) -> None:
        QMessageBox.critical(parent, title, message)

    def confirm(self, parent: QWidget, title: str, question: str, *, risky: bool = False) -> bool:
        """Yes or No. `risky` (running code from a file): No is the default button and Esc,
        so Enter never agrees without a choice."""
        if not risky:
            answer = QMessageBox.question(parent, title, question)
            return answer == QMessageBox.StandardButton.Yes
        box = safe_question(parent, title, question)
        box.exec()
        return box.standardButton(box.clickedButton()) == QMessageBox.StandardButton.Yes

    def ask_params(self, parent: QWidget, workflow: str, text: str) -> str | None:
        """The params text for a run (a JSON object, already checked), or None to not run."""
        from flowdesk.gui.params_dialog import ParamsDialog

        dialog = ParamsDialog(parent, workflow, text)
        accepted = dialog.exec() == QDialog.DialogCode.Accepted
        return dialog.editor.toPlainText() if accepted else None

    def choose_stored(self, parent: QWidget, names: list[str], labels: list[str]) -> str | None:
        """Pick one saved workflow; `labels` are what the list shows for each name."""
        label, ok = QInputDialog.getItem(
            parent, "Open from local store", "Saved workflows:", labels, 0, False
        )
        return names[labels.index(label)] if ok and label in labels else None


def safe_question(parent: QWidget, title: str, question: str) -> QMessageBox:
    """A Yes/No question whose default (Enter) and Esc answer are No."""
    no = QMessageBox.StandardButton.No
    box = QMessageBox(
        QMessageBox.Icon.Question, title, question, QMessageBox.StandardButton.Yes | no, parent
    )
    box.setDefaultButton(no)
    box.setEscapeButton(no)
    return box


class RecentFiles:
    """Most recent first, kept in QSettings so they survive restarts."""

    KEY = "recentFiles"

    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    def paths(self) -> list[str]:
        value = self.settings.value(self.KEY, [])
        if isinstance(value, str):
            value = [value]
        return [str(item) for item in (value or [])]

    def add(self, path: Path) -> None:
        text = str(path.resolve())
        paths = [text, *(p for p in self.paths() if p != text)][:MAX_RECENT]
        self.settings.setValue(self.KEY, paths)
        self.settings.sync()

    def remove(self, path: str) -> None:
        self.settings.setValue(self.KEY, [p for p in self.paths() if p != path])


def problem_lines(problems: list[Problem]) -> list[str]:
    return [str(problem) for problem in problems]


def prepare_for_canvas(definition: WorkflowDefinition) -> tuple[WorkflowDefinition, list[str]]:
    """A loaded definition the canvas can show: unique ids and a position for every node.

    Returns the definition and messages about repairs (renamed duplicate ids),
    which make the document count as unsaved. Filling in missing positions
    is not reported: it only affects the layout.
    """
    definition, messages = dedupe_ids(definition)
    layout = definition.layout or {}
    missing = [node.id for node in definition.nodes if node.id not in layout]
    if missing:
        placed = auto_layout(definition)[0].layout or {}
        if layout:
            # Keep the user's positions; put new ones below everything already placed.
            bottom = max(pos[1] for pos in layout.values()) + 150
            placed = {key: (pos[0], pos[1] + bottom) for key, pos in placed.items()}
        definition = definition.model_copy(
            update={"layout": {**{k: placed[k] for k in missing}, **layout}}
        )
    return definition, messages
