"""Actions while a run locks the workflow's structure: Undo/Redo with labels that never change,
and a shortcut pressed on a switched-off action that says why instead of doing nothing."""

from __future__ import annotations

from collections.abc import Callable

import shiboken6
from PySide6.QtGui import QAction, QUndoStack
from PySide6.QtWidgets import QMenu, QToolBar, QWidget

Reason = Callable[[], str | None]  # why structural edits are refused now, or None


class UndoAction(QAction):
    """Undo (or Redo) labelled just that, so the toolbar never shifts as the stack's text
    changes; the command it would undo ("Undo add transform") is its tooltip. Off while
    `locked` gives a reason: a move made during a run must not re-enable undoing the edits
    before it."""

    def __init__(self, stack: QUndoStack, parent: QWidget, *, redo: bool, locked: Reason) -> None:
        self.verb = "Redo" if redo else "Undo"
        super().__init__(f"&{self.verb}", parent)
        self._stack, self._redo, self._locked = stack, redo, locked
        self.triggered.connect(self._trigger)
        (stack.canRedoChanged if redo else stack.canUndoChanged).connect(self.sync)
        (stack.redoTextChanged if redo else stack.undoTextChanged).connect(self._describe)
        self.sync()
        self._describe(stack.redoText() if redo else stack.undoText())

    def sync(self, *_args: object) -> None:
        if not shiboken6.isValid(self._stack):  # the window is being destroyed
            return
        possible = self._stack.canRedo() if self._redo else self._stack.canUndo()
        self.setEnabled(possible and not self._locked())

    def _describe(self, text: str) -> None:
        tip = f"{self.verb} {text}" if text else f"Nothing to {self.verb.lower()}"
        self.setToolTip(tip)
        self.setStatusTip(tip)

    def _trigger(self) -> None:
        if self._locked():
            return
        if self._redo:
            self._stack.redo()
        else:
            self._stack.undo()


def explain_when_off(action: QAction, reason: Reason, message: Callable[[str], None]) -> QAction:
    """While `action` is disabled, its shortcut reports `reason()` in the status bar.

    Qt drops the key of a disabled action silently; a twin with the same shortcuts, on the
    same widget and context, is enabled exactly while the action is not. Call this after
    the action has been added to its widget (the window, or the canvas for canvas keys).
    """
    home = next(
        (
            obj
            for obj in action.associatedObjects()
            if isinstance(obj, QWidget) and not isinstance(obj, QMenu | QToolBar)
        ),
        None,
    )
    if home is None:
        raise ValueError(f"{action.text()!r} is not added to a widget yet")
    name = action.text().replace("&", "").rstrip("…. ")
    twin = QAction(home)
    twin.setShortcuts(action.shortcuts())
    twin.setShortcutContext(action.shortcutContext())
    twin.setEnabled(not action.isEnabled())
    action.enabledChanged.connect(lambda on: twin.setEnabled(not on))

    def explain() -> None:
        why = reason()
        if why:
            message(f"{why}: {name} is not available until it ends (Esc cancels the run)")

    twin.triggered.connect(explain)
    home.addAction(twin)
    return twin
