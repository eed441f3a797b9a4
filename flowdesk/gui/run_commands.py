"""The editor's run commands: Run (F5), Run from here (Shift+F5), Cancel (Esc), Resume, Resume
with current workflow, Re-run, and the run history of the open workflow.

RunCommands gets the few collaborators it needs (the document, the canvas, the live
validator, the run service, dialogs, settings and a status sink) and tells the window what
it needs to know through signals; it never reaches into the window.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from PySide6.QtCore import QObject, QSettings, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QWidget

from flowdesk.engine import RunResult
from flowdesk.gui.canvas import CanvasView
from flowdesk.gui.document import Diff, WorkflowDocument
from flowdesk.gui.files import Dialogs
from flowdesk.gui.params_dialog import parse_params
from flowdesk.gui.problems import LiveValidator
from flowdesk.gui.python_trust import PythonTrust
from flowdesk.gui.run_controller import RunController
from flowdesk.gui.run_panel import RunPanel
from flowdesk.model import WorkflowDefinition, errors_only
from flowdesk.runs import RunFromRefused, RunService
from flowdesk.store import RunSummary, StoreError

HISTORY_LIMIT = 200
HISTORY_REFRESH_MS = 3000
"""While the Runs panel is visible, how often runs of other windows and processes show up."""
RESUME_NOTE = (
    "Resume runs the selected run's own snapshot again: nodes that succeeded keep their "
    "output, the rest run as they were defined then."
)
RUN_FROM_NOTE = (
    "Run from here runs the selected node and everything downstream of it with the workflow "
    "as it is now; every other node reuses its stored output (REUSED) from the latest run "
    "of this workflow that has them, with that run's params."
)
RESUME_CURRENT_NOTE = (
    "Resume with current workflow runs the workflow as it is now in the editor: succeeded "
    "nodes that you did not change (nor anything upstream of them) keep their output; "
    "changed, new and unfinished nodes run with their current definition."
)


class RunCommands(QObject):
    locked = Signal(bool)
    """A run started (True: structural edits off) or ended (False)."""
    problems_block_run = Signal()
    """Run was refused because the workflow has problems: show them."""
    run_started = Signal(str)
    close_allowed = Signal()
    """The window asked to close during a run; the run has ended, it may close now."""

    def __init__(
        self,
        parent: QWidget,
        *,
        document: WorkflowDocument,
        canvas: CanvasView,
        validator: LiveValidator,
        service: RunService,
        dialogs: Dialogs,
        settings: QSettings,
        message: Callable[[str], None],
        commit_pending: Callable[[], bool] = lambda: True,
        before_run: Callable[[], bool] = lambda: True,
    ) -> None:
        """`before_run` is asked last before anything starts (the chosen workers' broker
        answers); False stops there, having said why."""
        super().__init__(parent)
        self._parent = parent
        self.document = document
        self.canvas = canvas
        self.validator = validator
        self.service = service
        self.dialogs = dialogs
        self.settings = settings
        self._python_trust = PythonTrust(settings)
        self.message = message
        self.commit_pending = commit_pending
        self.before_run = before_run
        self.controller = RunController(canvas, service, message)
        self.panel = RunPanel(self.controller)
        self.close_when_done = False
        self._history: list[RunSummary] | None = None
        self.act_run = self._action("▶ Run", self.run, "F5")
        self.act_run_from = self._action("Run from &here", self.run_from_here, "Shift+F5")
        self.act_run_from.setToolTip(f"<p>{RUN_FROM_NOTE}</p>")
        self.act_run_from.setStatusTip(RUN_FROM_NOTE)
        canvas.add_node_menu_action(self.act_run_from)
        self.act_cancel = self._action("■ Cancel run", self.cancel, "Esc")
        self.act_resume = self._action("Resume run", self.resume)
        self.act_resume_current = self._action(
            "Resume with current workflow", self.resume_with_current
        )
        self.act_rerun = self._action("Re-run", self.rerun)
        # Rich text, so Qt wraps the tooltip instead of drawing one line wider than the window.
        self.act_resume.setToolTip(f"<p>{RESUME_NOTE}</p>")
        self.act_resume_current.setToolTip(f"<p>{RESUME_CURRENT_NOTE}</p>")
        self.panel.resume_button.setToolTip(f"<p>{RESUME_NOTE}</p>")
        self.panel.resume_current_button.setToolTip(f"<p>{RESUME_CURRENT_NOTE}</p>")
        self.act_resume.setStatusTip(RESUME_NOTE)
        self.act_resume_current.setStatusTip(RESUME_CURRENT_NOTE)
        self.panel.run_button.clicked.connect(self.run)
        self.panel.cancel_button.clicked.connect(self.cancel)
        self.panel.resume_button.clicked.connect(self.resume)
        self.panel.resume_current_button.clicked.connect(self.resume_with_current)
        self.panel.rerun_button.clicked.connect(self.rerun)
        self.panel.history_selected.connect(self.show_history_run)
        self.controller.started.connect(self._on_started)
        self.controller.running.connect(lambda run_id: self.refresh_history(select=run_id))
        self.controller.finished.connect(self._on_finished)
        self.controller.board_changed.connect(self._sync_actions)
        self.controller.board_changed.connect(self.inspect_selection)
        canvas.selection_changed.connect(lambda _ids: self.inspect_selection())
        canvas.selection_changed.connect(lambda _ids: self._sync_actions())
        # After the canvas has drawn the change (it connected first): a node that Ctrl+Z
        # brought back is painted with the run on show like the others.
        document.changed.connect(self._on_document_changed)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setInterval(HISTORY_REFRESH_MS)
        self._refresh_timer.timeout.connect(self._refresh_if_visible)
        self._refresh_timer.start()
        self._sync_actions()

    def _action(
        self, text: str, slot: Callable[[], object], shortcut: str | None = None
    ) -> QAction:
        action = QAction(text, self._parent)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda _checked=False: slot())
        self._parent.addAction(action)
        return action

    @property
    def active(self) -> bool:
        return self.controller.active

    # -- commands ---------------------------------------------------------------------------

    def run(self) -> str | None:
        """Ask for params (remembered per workflow) and start a run of the document."""
        if self.active or not self._ready_to_run("run"):
            return None
        definition = self.document.definition
        if not self._code_allowed(definition):
            return None
        key = f"params/{definition.name}"
        text = self.dialogs.ask_params(
            self._parent, definition.name, str(self.settings.value(key, "{}"))
        )
        if text is None:
            return None
        params, why = parse_params(text)
        if params is None:  # the dialog checks already; a scripted answer may not
            self.message(f"Params: {why}")
            return None
        self.settings.setValue(key, text)
        return self.controller.start(definition, params)

    def run_from_here(self) -> str | None:
        """Run the selected node and everything downstream; the rest reuse stored outputs. A
        refusal (no stored output upstream, or a node changed since) is shown as a dialog."""
        ids = self.canvas.selected_ids()
        if len(ids) != 1:
            self.message(
                f"Run from here: {len(ids)} nodes are selected; select just the one to run from"
                if ids
                else "Run from here: select one node to run from (it and everything downstream "
                "run; the rest reuse stored outputs)"
            )
            return None
        if self.active or not self._ready_to_run("run from here"):
            return None
        definition = self.document.definition
        if not self._code_allowed(definition):
            return None
        try:
            run_id = self.controller.start_from(definition, ids[0])
        except RunFromRefused as exc:
            reason = str(exc)
            self.message(reason[:1].upper() + reason[1:])
            self.dialogs.error(self._parent, "Cannot run from here", reason)
            return None
        handle = self.controller.handle
        if run_id is not None and handle is not None:
            source = f" of run {handle.source_run_id[:12]}" if handle.source_run_id else ""
            self.message(
                f"Run {run_id[:12]} started from '{ids[0]}', reusing {len(handle.reused)} "
                f"stored output(s){source}"
            )
        return run_id

    def _ready_to_run(self, verb: str) -> bool:
        """Pending edits applied and no problems left; otherwise say why and show them."""
        if not self.commit_pending():
            return False
        problems = errors_only(self.validator.validate_now())
        if problems:
            self.problems_block_run.emit()
            self.message(f"Cannot {verb}: {len(problems)} problem(s) to fix first, see Problems")
            return False
        return self.before_run()

    def _code_allowed(self, definition: WorkflowDefinition) -> bool:
        """Python code runs only once the user agreed to this content (asked once per
        content; the answer is kept in the settings)."""
        if self._python_trust.is_trusted(definition):
            return True
        question = PythonTrust.question(definition)
        if not self.dialogs.confirm(self._parent, "Run Python code?", question, risky=True):
            self.message("Not run: the workflow's Python code was not allowed to run")
            return False
        self._python_trust.trust(definition)
        return True

    def cancel(self) -> bool:
        return self.controller.cancel()

    def resume(self) -> str | None:
        """Continue the selected run with its own snapshot."""
        run_id = self.panel.selected_run_id()
        if run_id is None or (not self.active and not self.before_run()):
            return None
        return self.controller.resume(run_id)

    def resume_with_current(self) -> str | None:
        """Continue the selected run with the document as it is now."""
        run_id = self.panel.selected_run_id()
        if run_id is None or self.active or not self._ready_to_run("resume"):
            return None
        if not self._code_allowed(self.document.definition):
            return None
        return self.controller.resume(run_id, self.document.definition)

    def rerun(self) -> str | None:
        """A new run of the document with the selected run's params."""
        run_id = self.panel.selected_run_id()
        if run_id is None or self.active or not self._ready_to_run("re-run"):
            return None
        if not self._code_allowed(self.document.definition):
            return None
        try:
            params = self.service.load(run_id).result.params
        except StoreError as exc:
            self.message(str(exc))
            return None
        self.settings.setValue(f"params/{self.document.definition.name}", json.dumps(params))
        return self.controller.start(self.document.definition, params)

    # -- history and inspector --------------------------------------------------------------

    def refresh_history(self, select: str | None = None) -> None:
        """Runs of this workflow from every window and process, newest first."""
        try:
            runs = self.service.list_runs(
                workflow=self.document.definition.name, limit=HISTORY_LIMIT
            )
        except StoreError as exc:
            self.message(f"Run history unavailable: {exc}")
            runs = []
        if runs == self._history and select is None:
            return  # nothing changed: keep the table (and what the user is looking at) as is
        self._history = runs
        self.panel.show_history(runs, select or self.panel.selected_run_id())
        self._sync_actions()

    def _refresh_if_visible(self) -> None:
        if self.panel.isVisible() and not self.active:
            self.refresh_history()

    def window_activated(self) -> None:
        """The window gained focus: another window or process may have run something."""
        if not self.active:
            self.refresh_history()

    def show_history_run(self, run_id: str) -> None:
        if self.active:
            return
        try:
            stored = self.service.load(run_id)
        except StoreError as exc:
            self.message(str(exc))
            return
        self.controller.show_stored(stored)
        self._note_snapshot()
        self._sync_actions()

    def _note_snapshot(self) -> None:
        if self.controller.snapshot_differs(self.document.definition):
            self.panel.show_note(
                "This run used an earlier version of the workflow: states are painted on the "
                "nodes that still exist. Resume runs that earlier version; Resume with current "
                "workflow keeps only what you did not change."
            )
        else:
            self.panel.show_note("")

    def inspect_selection(self) -> None:
        ids = self.canvas.selected_ids()
        node_id = ids[0] if len(ids) == 1 else None
        node = self.controller.board.nodes.get(node_id) if node_id else None
        board = self.controller.board
        badge = self.controller.map_badge(node_id) if node_id else None
        self.panel.inspector.show_node(
            node_id,
            node,
            run_on_show=board.run_id is not None,
            items=self.controller.item_source(node_id) if node_id else None,
            items_text=badge[0] if badge else "",
            run_id=board.run_id,
        )

    def _on_document_changed(self, diff: Diff) -> None:
        if diff.reset:
            return
        if diff.added:
            self.controller.repaint(diff.added)
        if diff.removed:  # the inspector must not go on showing a deleted node
            self.inspect_selection()

    def document_replaced(self) -> None:
        """A new, opened or imported document: forget the run on show, load its history."""
        self.controller.clear()
        self.panel.show_note("")
        self._history = None
        self.refresh_history()

    # -- lifecycle --------------------------------------------------------------------------

    def _on_started(self, run_id: str) -> None:
        self.locked.emit(True)
        self._sync_actions()
        self.run_started.emit(run_id)
        self._note_snapshot()
        self.refresh_history(select=run_id)  # listed as RUNNING from its first moment
        self.message(f"Run {run_id[:12]} started")

    def _on_finished(self, result: RunResult) -> None:
        self.locked.emit(False)
        self.refresh_history(select=result.run_id)
        took = f" in {result.duration_s:.2f} s" if result.duration_s is not None else ""
        self.message(f"Run {result.run_id[:12]} {result.state.value}{took}")
        if self.close_when_done:
            self.close_when_done = False  # once: a later run never closes the window by itself
            self.close_allowed.emit()

    def _sync_actions(self) -> None:
        active = self.active
        self.act_run.setEnabled(not active)
        # Not only with one node selected: Shift+F5 with another selection says what it needs.
        self.act_run_from.setEnabled(not active)
        self.act_cancel.setEnabled(active)
        state = self.panel.selected_run_state()
        resumable = not active and state is not None and state.resumable
        self.act_resume.setEnabled(resumable)
        self.act_resume_current.setEnabled(resumable)
        self.panel.resume_current_button.setEnabled(resumable)
        self.act_rerun.setEnabled(not active and state is not None)

    def confirm_close(self) -> bool:
        """True when the window may close now; otherwise cancel the run and close after it."""
        if not self.active:
            return True
        question = "A run is active. Cancel it and close the window?"
        agreed = self.dialogs.confirm(self._parent, "Run in progress", question)
        if not self.active:  # the run ended while the question was open
            return agreed
        if agreed:
            self.close_when_done = True
            self.controller.cancel()
        return False
