"""The editor's run commands: Run (F5), Cancel (Esc), Resume, Re-run, and what they lock.

MainWindow owns one RunCommands; it builds the Runs dock, the actions and the
glue between the document, the RunController and the history in the store.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence

from flowdesk.engine.results import RunResult
from flowdesk.gui.params_dialog import parse_params
from flowdesk.gui.run_controller import RunController
from flowdesk.gui.run_panel import RunPanel
from flowdesk.model import errors_only
from flowdesk.store import Store, StoreError

if TYPE_CHECKING:
    from flowdesk.gui.main_window import MainWindow

HISTORY_LIMIT = 200
LOCK_REASON = "A run is active"


class RunCommands(QObject):
    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        self.controller = RunController(
            window.canvas, window.registry, lambda: window.library.db_path, window.show_message
        )
        self.panel = RunPanel(self.controller)
        self.close_when_done = False
        self.act_run = self._action("▶ Run", self.run, "F5")
        self.act_cancel = self._action("■ Cancel run", self.cancel, "Esc")
        self.act_resume = self._action("Resume run", self.resume)
        self.act_rerun = self._action("Re-run", self.rerun)
        self.panel.run_button.clicked.connect(self.run)
        self.panel.cancel_button.clicked.connect(self.cancel)
        self.panel.resume_button.clicked.connect(self.resume)
        self.panel.rerun_button.clicked.connect(self.rerun)
        self.panel.history_selected.connect(self.show_history_run)
        self.controller.started.connect(self._on_started)
        self.controller.finished.connect(self._on_finished)
        self.controller.board_changed.connect(self._sync_actions)
        self.controller.board_changed.connect(self.inspect_selection)
        window.canvas.selection_changed.connect(lambda _ids: self.inspect_selection())
        self._sync_actions()

    def _action(self, text: str, slot: object, shortcut: str | None = None) -> QAction:
        action = QAction(text, self.window)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())  # type: ignore[operator]
        self.window.addAction(action)
        return action

    # -- commands ---------------------------------------------------------------------------

    def run(self) -> str | None:
        """Ask for params (remembered per workflow) and start a run of the document."""
        window = self.window
        if self.controller.active:
            return None
        definition = window.document.definition
        problems = errors_only(window.validator.validate_now())
        if problems:
            window.problems_dock.raise_()
            window.show_message(
                f"Cannot run: {len(problems)} problem(s) to fix first, see Problems"
            )
            return None
        key = f"params/{definition.name}"
        text = window.dialogs.ask_params(
            window, definition.name, str(window.recent.settings.value(key, "{}"))
        )
        if text is None:
            return None
        params, why = parse_params(text)
        if params is None:  # the dialog checks already; a scripted answer may not
            window.show_message(f"Params: {why}")
            return None
        window.recent.settings.setValue(key, text)
        return self.controller.start(definition, params)

    def cancel(self) -> bool:
        return self.controller.cancel()

    def resume(self) -> str | None:
        run_id = self.panel.selected_run_id()
        return self.controller.resume(run_id) if run_id else None

    def rerun(self) -> str | None:
        """A new run of the document with the selected run's params."""
        run_id = self.panel.selected_run_id()
        if run_id is None or self.controller.active:
            return None
        try:
            with Store.open(self.window.library.db_path) as store:
                params = store.runs.load(run_id).result.params
        except StoreError as exc:
            self.window.show_message(str(exc))
            return None
        if errors_only(self.window.validator.validate_now()):
            self.window.show_message("Cannot re-run: fix the problems first, see Problems")
            return None
        self.window.recent.settings.setValue(
            f"params/{self.window.document.definition.name}", json.dumps(params)
        )
        return self.controller.start(self.window.document.definition, params)

    # -- history and inspector --------------------------------------------------------------

    def refresh_history(self, select: str | None = None) -> None:
        try:
            with Store.open(self.window.library.db_path) as store:
                runs = store.runs.list_runs(
                    workflow=self.window.document.definition.name, limit=HISTORY_LIMIT
                )
        except StoreError as exc:
            self.window.show_message(f"Run history unavailable: {exc}")
            runs = []
        self.panel.show_history(runs, select)

    def show_history_run(self, run_id: str) -> None:
        if self.controller.active:
            return
        try:
            with Store.open(self.window.library.db_path) as store:
                stored = store.runs.load(run_id)
        except StoreError as exc:
            self.window.show_message(str(exc))
            return
        self.controller.show_stored(stored)
        self._note_snapshot()

    def _note_snapshot(self) -> None:
        if self.controller.snapshot_differs(self.window.document.definition):
            self.panel.show_note(
                "This run used an earlier version of the workflow: states are painted on the "
                "nodes that still exist, and Resume runs that earlier version."
            )
        else:
            self.panel.show_note("")

    def inspect_selection(self) -> None:
        ids = self.window.canvas.selected_ids()
        node_id = ids[0] if len(ids) == 1 else None
        node = self.controller.board.nodes.get(node_id) if node_id else None
        self.panel.inspector.show_node(node_id, node)

    def document_replaced(self) -> None:
        """A new, opened or imported document: forget the run on show, load its history."""
        self.controller.clear()
        self.panel.show_note("")
        self.refresh_history()

    # -- lifecycle --------------------------------------------------------------------------

    def _on_started(self, run_id: str) -> None:
        self._set_locked(True)
        self.window.runs_dock.raise_()
        self._note_snapshot()
        self.window.show_message(f"Run {run_id[:12]} started")

    def _on_finished(self, result: RunResult) -> None:
        self._set_locked(False)
        self.refresh_history(select=result.run_id)
        took = f" in {result.duration_s:.2f} s" if result.duration_s is not None else ""
        self.window.show_message(f"Run {result.run_id[:12]} {result.state.value}{took}")
        if self.close_when_done:
            self.window.close()

    def _set_locked(self, locked: bool) -> None:
        window = self.window
        window.controller.locked = LOCK_REASON if locked else None
        for widget in (window.palette, window.config_form, window.name_edit):
            widget.setEnabled(not locked)
        for action in window.structural_actions():
            action.setEnabled(not locked)
        stack = window.document.undo_stack
        window.act_undo.setEnabled(not locked and stack.canUndo())
        window.act_redo.setEnabled(not locked and stack.canRedo())
        self._sync_actions()

    def _sync_actions(self) -> None:
        active = self.controller.active
        self.act_run.setEnabled(not active)
        self.act_cancel.setEnabled(active)
        state = self.panel.selected_run_state()
        self.act_resume.setEnabled(not active and state is not None and state.resumable)
        self.act_rerun.setEnabled(not active and state is not None)

    def confirm_close(self) -> bool:
        """True when the window may close now; otherwise cancel the run and close after it."""
        if not self.controller.active:
            return True
        question = "A run is active. Cancel it and close the window?"
        if self.window.dialogs.confirm(self.window, "Run in progress", question):
            self.close_when_done = True
            self.controller.cancel()
        return False
