"""The editor window: canvas, palette, config panel, problems and runs docks, menus.

It wires parts together and owns the file commands; edits live in
EditorController, drawing in CanvasView, the document in WorkflowDocument.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QSettings, Qt
from PySide6.QtGui import QAction, QCloseEvent, QCursor, QKeySequence
from PySide6.QtWidgets import QDockWidget, QLabel, QLineEdit, QMainWindow, QStatusBar, QWidget

from flowdesk.engine import HandlerRegistry
from flowdesk.gui.canvas import CanvasView
from flowdesk.gui.compare_commands import CompareCommands
from flowdesk.gui.config_form import ConfigForm
from flowdesk.gui.controller import EditorController
from flowdesk.gui.document import WorkflowDocument
from flowdesk.gui.examples import DemoService, example_titles, needs_demo_service, port_is_open
from flowdesk.gui.execute_on import ExecuteOn
from flowdesk.gui.files import (
    Dialogs,
    RecentFiles,
    prepare_for_canvas,
    problem_lines,
)
from flowdesk.gui.library import WorkflowLibrary
from flowdesk.gui.locked_actions import UndoAction, explain_when_off
from flowdesk.gui.palette import HandlerSearch, PaletteWidget
from flowdesk.gui.problems import LiveValidator, ProblemsList, problems_by_node
from flowdesk.gui.run_commands import RunCommands
from flowdesk.gui.secrets_dialog import SecretsDialog
from flowdesk.gui.workflow_panel import WorkflowPanel
from flowdesk.model import (
    WorkflowDefinition,
    WorkflowLoadError,
    errors_only,
    load_workflow,
    save_workflow,
)
from flowdesk.runs import RunService
from flowdesk.secrets import KnownSecrets
from flowdesk.store import StoreError, resolve_db_location

APP_NAME = "FlowDesk"
LOCK_REASON = "A run is active"


class MainWindow(QMainWindow):
    """One window, one document."""

    def __init__(
        self,
        registry: HandlerRegistry | None = None,
        dialogs: Dialogs | None = None,
        settings: QSettings | None = None,
        service: RunService | None = None,
    ) -> None:
        super().__init__()
        self.registry = registry or HandlerRegistry.default()
        settings = settings or QSettings(APP_NAME, APP_NAME)
        self.dialogs = dialogs or Dialogs(settings)
        self.recent = RecentFiles(settings)
        self.setStatusBar(QStatusBar(self))  # always there, not only after a first message
        # One run service per window: it opens the store once, off this thread, now.
        self._owns_service = service is None
        self.service = service or RunService(self.registry, resolve_db_location().path)
        self.service.open_in_background()
        self.library = WorkflowLibrary(self.service)
        self.demo = DemoService()
        self.document = WorkflowDocument(self)
        self.canvas = CanvasView(self.document, self.registry)
        self.controller = EditorController(
            self.document, self.registry, self.canvas, self.show_message
        )
        self.known_secrets = KnownSecrets(self.service.secrets)
        self.validator = LiveValidator(self.document, self.registry, self.known_secrets)
        self.secrets_dialog: SecretsDialog | None = None
        self.resize(1280, 820)
        self.setCentralWidget(self.canvas.widget)
        self._build_docks()
        self._build_actions()
        self.execute_on = ExecuteOn(
            self,
            service=self.service,
            settings=self.recent.settings,
            dialogs=self.dialogs,
            message=self.show_message,
        )
        self.runs = RunCommands(
            self,
            document=self.document,
            canvas=self.canvas,
            validator=self.validator,
            service=self.service,
            dialogs=self.dialogs,
            settings=self.recent.settings,
            message=self.show_message,
            commit_pending=self.commit_pending_edits,
            before_run=self.execute_on.ready,
        )
        self.runs_dock.setWidget(self.runs.panel)
        self.compare = CompareCommands(
            self,
            panel=self.runs.panel,
            canvas=self.canvas,
            controller=self.runs.controller,
            service=self.service,
            document=self.document,
            message=self.show_message,
            shown_message=self.statusBar().currentMessage,
        )
        self._build_menus()
        for action in [*self.structural_actions(), self.act_undo, self.act_redo]:
            explain_when_off(action, lambda: self.controller.locked, self.show_message)
        self._wire_signals()
        self.new_workflow(ask=False)
        if self.registry.load_errors:  # a broken plugin is reported, never fatal
            self.show_message("; ".join(self.registry.load_errors))

    # --- construction ---

    def _build_docks(self) -> None:
        self.palette = PaletteWidget(self.registry, lambda name: self.controller.add_node(name))
        self.config_form = ConfigForm(self.document, self.registry, self.controller)
        self.problems = ProblemsList()
        self.palette_dock = self._dock(
            "Handlers", self.palette, Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.config_dock = self._dock(
            "Node", self.config_form, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.problems_dock = self._dock(
            "Problems", self.problems, Qt.DockWidgetArea.BottomDockWidgetArea
        )
        self.runs_dock = self._dock("Runs", QWidget(), Qt.DockWidgetArea.BottomDockWidgetArea)
        self.workflow_panel = WorkflowPanel(self.document, self.controller.set_description)
        self.workflow_dock = self._dock(
            "Workflow", self.workflow_panel, Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.splitDockWidget(self.workflow_dock, self.config_dock, Qt.Orientation.Vertical)
        self.resizeDocks(
            [self.workflow_dock, self.config_dock], [140, 560], Qt.Orientation.Vertical
        )
        self.tabifyDockWidget(self.problems_dock, self.runs_dock)
        self.problems_dock.raise_()
        self.resizeDocks(
            [self.palette_dock, self.config_dock], [200, 330], Qt.Orientation.Horizontal
        )
        self.resizeDocks([self.problems_dock], [230], Qt.Orientation.Vertical)
        self.search = HandlerSearch(self.registry, self._add_from_search, self)
        self.name_edit = QLineEdit()
        self.name_edit.setPlaceholderText("Workflow name")
        self.name_edit.setMaximumWidth(320)

    def _dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{title.lower()}_dock")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _action(self, text: str, slot: object, *shortcuts: QKeySequence | str) -> QAction:
        action = QAction(text, self)
        if shortcuts:
            action.setShortcuts([QKeySequence(s) for s in shortcuts])
        action.triggered.connect(lambda _checked=False: slot())  # type: ignore[operator]
        self.addAction(action)
        return action

    def _canvas_action(self, text: str, slot: object, shortcut: str) -> QAction:
        """A shortcut that only fires while the canvas has focus, so text fields keep their keys."""
        action = self._action(text, slot, shortcut)
        self.removeAction(action)
        self.canvas.add_canvas_action(action)
        return action

    def _build_actions(self) -> None:
        key = QKeySequence.StandardKey
        self.act_new = self._action("&New", self.new_workflow, key.New)
        self.act_open = self._action("&Open…", self.open_dialog, key.Open)
        self.act_save = self._action("&Save", self.save, key.Save)
        self.act_save_as = self._action("Save &As…", self.save_as, "Ctrl+Shift+S")
        self.act_store_save = self._action("Save to local s&tore", self.save_to_store, "Ctrl+Alt+S")
        self.act_store_open = self._action(
            "Open from local stor&e…", self.open_from_store_dialog, "Ctrl+Alt+O"
        )
        self.act_import = self._action("&Import seed JSON…", self.import_dialog)
        self.act_export = self._action("&Export seed JSON…", self.export_dialog)
        self.act_quit = self._action("&Quit", self.close, key.Quit)
        stack, locked = self.document.undo_stack, lambda: self.controller.locked
        self.act_undo = UndoAction(stack, self, redo=False, locked=locked)
        self.act_undo.setShortcuts([QKeySequence(key.Undo)])
        self.act_redo = UndoAction(stack, self, redo=True, locked=locked)
        self.act_redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.addActions([self.act_undo, self.act_redo])
        self.act_copy = self._canvas_action("&Copy", self.controller.copy_selected, "Ctrl+C")
        self.act_paste = self._canvas_action("&Paste", self.controller.paste, "Ctrl+V")
        self.act_duplicate = self._canvas_action(
            "&Duplicate", self.controller.duplicate_selected, "Ctrl+D"
        )
        self.act_delete = self._canvas_action("De&lete", self.controller.delete_selected, "Del")
        self.act_fit = self._canvas_action("Zoom to &fit", self.canvas.fit, "F")
        self.act_search = self._canvas_action("Add node (&search)…", self.open_search, "Tab")
        self.act_layout = self._action("&Auto layout", self.controller.auto_layout, "Ctrl+L")
        self.act_secrets = self._action("Se&crets…", self.open_secrets)
        self.canvas.set_context_menus(
            canvas=[self.act_search, self.act_paste],
            selection=[self.act_copy, self.act_duplicate, self.act_delete],
            view=[self.act_fit, self.act_layout],
        )

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.act_new, self.act_open])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        self.examples_menu = file_menu.addMenu("Open E&xample")
        for title, path in example_titles():
            action = self.examples_menu.addAction(title)
            action.triggered.connect(lambda _checked=False, p=path: self.open_example(p))
        file_menu.addActions([self.act_save, self.act_save_as])
        file_menu.addSeparator()
        file_menu.addActions([self.act_store_open, self.act_store_save])
        file_menu.addSeparator()
        file_menu.addActions([self.act_import, self.act_export])
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        edit_menu = bar.addMenu("&Edit")
        edit_menu.addActions([self.act_undo, self.act_redo])
        edit_menu.addSeparator()
        edit_menu.addActions([self.act_copy, self.act_paste, self.act_duplicate, self.act_delete])
        edit_menu.addAction(self.canvas.act_select_all)
        edit_menu.addSeparator()
        edit_menu.addAction(self.act_secrets)
        run_menu = bar.addMenu("&Run")
        run_menu.addActions(
            [
                self.runs.act_run,
                self.runs.act_run_from,
                self.runs.act_cancel,
                self.runs.act_resume,
                self.runs.act_resume_current,
                self.runs.act_rerun,
            ]
        )
        run_menu.addSeparator()
        run_menu.addActions(
            [self.compare.act_compare, self.compare.act_compare_current, self.compare.act_close]
        )
        run_menu.addSeparator()
        self.act_demo = run_menu.addAction(f"Demo service on port {self.demo.port}")
        self.act_demo.setCheckable(True)
        self.act_demo.toggled.connect(self.set_demo_service)
        run_menu.addMenu(self.execute_on.menu)
        self.statusBar().addPermanentWidget(self.execute_on.workers_label)
        view_menu = bar.addMenu("&View")
        view_menu.addActions([self.act_fit, self.act_layout, self.act_search])
        for dock in (
            self.palette_dock,
            self.workflow_dock,
            self.config_dock,
            self.problems_dock,
            self.runs_dock,
        ):
            view_menu.addAction(dock.toggleViewAction())
        toolbar = self.addToolBar("Workflow")
        toolbar.setObjectName("workflow_toolbar")
        toolbar.addActions([self.act_new, self.act_open, self.act_save])
        toolbar.addSeparator()
        toolbar.addActions([self.act_undo, self.act_redo])
        toolbar.addSeparator()
        toolbar.addActions([self.act_fit, self.act_layout])
        toolbar.addSeparator()
        toolbar.addActions([self.runs.act_run, self.runs.act_cancel])
        toolbar.addSeparator()
        toolbar.addWidget(QLabel(" Name: "))
        toolbar.addWidget(self.name_edit)

    def structural_actions(self) -> list[QAction]:
        """Actions that change the document's structure or replace it: off during a run."""
        return [
            self.act_new,
            self.act_open,
            self.act_import,
            self.act_store_open,
            self.act_paste,
            self.act_duplicate,
            self.act_delete,
            self.act_layout,
            self.act_search,
        ]

    def _wire_signals(self) -> None:
        self.document.file_changed.connect(self._update_title)
        self.document.changed.connect(
            lambda diff: self.runs.document_replaced() if diff.reset else None
        )
        self.runs.locked.connect(self._set_locked)
        self.runs.locked.connect(lambda locked: self.execute_on.menu.setEnabled(not locked))
        self.runs.run_started.connect(lambda _run_id: self.runs_dock.raise_())
        self.runs.problems_block_run.connect(self.problems_dock.raise_)
        self.runs.close_allowed.connect(self.close)
        self.canvas.selection_changed.connect(self._on_selection)
        self.validator.problems_changed.connect(self._on_problems)
        self.problems.node_activated.connect(self.select_node)
        self.name_edit.editingFinished.connect(self._commit_name)
        self.document.changed.connect(
            lambda diff: self._show_instructions() if diff.reset else None
        )

    # --- pending edits ---

    def commit_pending_edits(self, purpose: str = "run") -> bool:
        """Apply every edit still being typed (name, description, Node panel) before a run,
        save, export or close: F5 and Ctrl+S leave the focus in the field, so without this
        they would use the document as it was before the last keystrokes.

        False when an edit cannot be applied: nothing must go on; its field is shown and
        the status bar says why.
        """
        self._commit_name()
        self.workflow_panel.commit_pending()
        if self.config_form.commit_pending():
            return True
        pending = self.config_form.pending_error()
        if pending is not None:
            widget, reason = pending
            self.config_dock.show()
            self.config_dock.raise_()
            widget.setFocus()
            self.show_message(
                f"Cannot {purpose}: {reason}. Fix it in the Node panel first "
                "(Ctrl+Z in the field takes back the typing)"
            )
        return False

    def _commit_name(self) -> None:
        name = self.name_edit.text().strip()
        if name:
            self.controller.rename_workflow(name)
        elif self.name_edit.text() != self.document.definition.name:
            self.name_edit.setText(self.document.definition.name)
            self.show_message("A workflow needs a name: the name was kept")

    def _show_instructions(self) -> None:
        """An opened workflow with a description (the examples keep their instructions there)
        shows it."""
        if self.document.definition.description:
            self.workflow_dock.show()
            self.workflow_dock.raise_()

    # --- reactions ---

    def show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, 8000)

    def _update_title(self) -> None:
        name = self.document.definition.name
        if self.document.path:
            where = f" ({self.document.path.name})"
        elif self.document.store_name:
            where = " (local store)"
        else:
            where = ""
        self.setWindowTitle(f"{name}{where}[*] — {APP_NAME}")
        self.setWindowModified(self.document.modified)
        if self.name_edit.text() != name:
            self.name_edit.setText(name)
            self.name_edit.setCursorPosition(0)  # a long name shows its start, not its end
        self.name_edit.setToolTip(f"Workflow name: {name}")

    def _on_selection(self, node_ids: list[str]) -> None:
        self.config_form.show_node(node_ids[0] if len(node_ids) == 1 else None)

    def open_secrets(self) -> SecretsDialog:
        """Edit > Secrets…: names and sources, set and delete values (never shown)."""
        if self.secrets_dialog is None:
            self.secrets_dialog = SecretsDialog(self, self.service.secrets)
            self.secrets_dialog.changed.connect(self._secrets_changed)
        else:
            self.secrets_dialog.refresh()
        self.secrets_dialog.open()
        return self.secrets_dialog

    def _secrets_changed(self) -> None:
        self.known_secrets.refresh()
        self.validator.validate_now()

    def _on_problems(self, problems: list) -> None:
        self.problems.show_problems(problems)
        self.canvas.set_problems(problems_by_node(problems))
        errors = len(errors_only(problems))
        self.problems_dock.setWindowTitle(f"Problems ({errors})" if errors else "Problems")

    def select_node(self, node_id: str) -> None:
        self.canvas.select([node_id])
        self.canvas.center_on(node_id)

    def open_search(self) -> None:
        self.search.popup(QCursor.pos())

    def _add_from_search(self, handler: str) -> None:
        point = self.canvas.scene_point_under_cursor()
        self.controller.add_node(handler, None if point is None else (point.x(), point.y()))

    # --- files ---

    def maybe_save(self) -> bool:
        """True when it is fine to drop the current document (saved, discarded or unchanged)."""
        if not self.commit_pending_edits("open another workflow"):
            return False
        if self.runs.active:
            self.show_message("A run is active: cancel it before opening another workflow")
            return False
        if not self.document.modified:
            return True
        answer = self.dialogs.ask_unsaved(self, self.document.definition.name)
        if answer == "save":
            return self.save()
        return answer == "discard"

    def new_workflow(self, ask: bool = True) -> bool:
        if ask and not self.maybe_save():
            return False
        self.document.reset(WorkflowDefinition(name="Untitled workflow"), None)
        self.validator.validate_now()
        return True

    def open_dialog(self) -> bool:
        if not self.maybe_save():
            return False
        path = self.dialogs.open_path(self, "Open workflow")
        return self.open_file(path, ask=False) if path else False

    def import_dialog(self) -> bool:
        if not self.maybe_save():
            return False
        path = self.dialogs.open_path(self, "Import seed-format JSON")
        return self.open_file(path, ask=False, imported=True) if path else False

    def open_file(self, path: str | Path, *, ask: bool = True, imported: bool = False) -> bool:
        """Open (or import) a workflow file; a broken file is reported and nothing changes."""
        if ask and not self.maybe_save():
            return False
        path = Path(path)
        try:
            definition = load_workflow(path)
        except WorkflowLoadError as exc:
            self.dialogs.show_problems(
                self,
                "Cannot open workflow",
                f"{path.name} could not be opened:",
                problem_lines(exc.problems),
            )
            self.recent.remove(str(path.resolve()))
            return False
        if not imported:
            self.recent.add(path)
        verb = "Imported" if imported else "Opened"
        self._load(
            definition,
            f"{verb} {path.name}",
            path=None if imported else path,
            clean=not imported,
            repaired_name=path.name,
        )
        return True

    def _load(
        self,
        definition: WorkflowDefinition,
        message: str,
        *,
        path: Path | None = None,
        store_name: str | None = None,
        clean: bool = True,
        repaired_name: str | None = None,
    ) -> None:
        """The one way a workflow becomes the document: repaired for the canvas, reset,
        validated, and announced. A repair leaves the document modified, and is listed when
        `repaired_name` says what was repaired."""
        definition, repairs = prepare_for_canvas(definition)
        self.document.reset(definition, path, clean=clean and not repairs, store_name=store_name)
        if repairs and repaired_name:
            self.dialogs.show_problems(
                self, "Workflow repaired", f"{repaired_name} was repaired:", repairs
            )
        problems = errors_only(self.validator.validate_now())
        if problems:
            message += f" with {len(problems)} problem(s): see Problems"
        self.show_message(message)

    def save(self) -> bool:
        if not self.commit_pending_edits("save"):
            return False
        if self.document.path is None and self.document.store_name is not None:
            return self.save_to_store()
        if self.document.path is None:
            return self.save_as()
        return self._write(self.document.path)

    def save_as(self) -> bool:
        if not self.commit_pending_edits("save"):
            return False
        suggested = self.document.definition.name.replace(" ", "_").lower() + ".json"
        path = self.dialogs.save_path(self, "Save workflow as", suggested)
        return self._write(Path(path)) if path else False

    def _write(self, path: Path) -> bool:
        try:
            save_workflow(self.document.definition, path)
        except OSError as exc:
            self.dialogs.error(self, "Save failed", f"{path}: {exc.strerror or exc}")
            return False
        self.document.mark_saved(path)
        self.recent.add(path)
        self.show_message(f"Saved {path}")
        return True

    def export_dialog(self) -> bool:
        if not self.commit_pending_edits("export"):
            return False
        suggested = self.document.definition.name.replace(" ", "_").lower() + ".seed.json"
        path = self.dialogs.save_path(self, "Export seed-format JSON", suggested)
        if not path:
            return False
        try:
            save_workflow(self.document.definition, path, include_layout=False)
        except OSError as exc:
            self.dialogs.error(self, "Export failed", f"{path}: {exc.strerror or exc}")
            return False
        self.show_message(f"Exported {path}")
        return True

    # --- local store ---

    def save_to_store(self) -> bool:
        """Save under the workflow's name; replacing another saved workflow asks first."""
        if not self.commit_pending_edits("save"):
            return False
        name = self.document.definition.name
        try:
            if name != self.document.store_name and self.library.exists(name):
                question = f"A workflow named “{name}” is already in the local store. Replace it?"
                if not self.dialogs.confirm(self, "Replace saved workflow", question):
                    return False
            self.library.save(self.document.definition)
        except StoreError as exc:
            self.dialogs.error(self, "Local store", str(exc))
            return False
        if self.document.path is None:
            self.document.mark_saved(None, store_name=name)  # the store is where Save writes
        else:
            self.document.store_name = name
        self.show_message(f"Saved “{name}” to the local store ({self.library.db_path})")
        return True

    def open_from_store_dialog(self) -> bool:
        if not self.maybe_save():
            return False
        try:
            summaries = self.library.list()
        except StoreError as exc:
            self.dialogs.error(self, "Local store", str(exc))
            return False
        if not summaries:
            self.show_message("The local store has no saved workflows yet")
            return False
        labels = [
            f"{s.name}  ({s.node_count} nodes, {s.updated_at:%Y-%m-%d %H:%M})" for s in summaries
        ]
        name = self.dialogs.choose_stored(self, [s.name for s in summaries], labels)
        return self.open_from_store(name) if name else False

    def open_from_store(self, name: str) -> bool:
        try:
            definition = self.library.load(name)
        except (StoreError, WorkflowLoadError) as exc:
            self.dialogs.error(self, "Local store", str(exc))
            return False
        self._load(definition, f"Opened “{name}” from the local store", store_name=name)
        return True

    # --- examples and the demo service ---

    def open_example(self, path: Path) -> bool:
        """Open a bundled example as a new, unsaved workflow (Save asks where: the bundled
        file is never overwritten), and offer to start the demo service it calls."""
        if not self.maybe_save():
            return False
        try:
            definition = load_workflow(path)
        except WorkflowLoadError as exc:
            self.dialogs.error(self, "Open example", "; ".join(problem_lines(exc.problems)))
            return False
        about = ": its instructions are in the Workflow panel;" if definition.description else ":"
        self._load(definition, f"Opened example “{definition.name}”{about} F5 runs it")
        if (
            needs_demo_service(definition, self.demo.port)
            and not self.demo.running
            and not port_is_open(self.demo.port)
        ):
            question = (
                f"This example calls the demo service on 127.0.0.1:{self.demo.port}, which is "
                "not running. Start it inside FlowDesk now?"
            )
            if self.dialogs.confirm(self, "Demo service", question):
                self.act_demo.setChecked(True)
        return True

    def set_demo_service(self, on: bool) -> None:
        if on == self.demo.running:
            return
        if not on:
            self.demo.stop()
            self.show_message("Demo service stopped")
            return
        try:
            self.demo.start()
        except OSError as exc:
            self.act_demo.setChecked(False)
            self.dialogs.error(
                self,
                "Demo service",
                f"Cannot listen on port {self.demo.port}: {exc.strerror or exc}",
            )
            return
        self.show_message(f"Demo service running on 127.0.0.1:{self.demo.port}")

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        paths = self.recent.paths()
        for path in paths:
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _checked=False, p=path: self.open_file(p))
        if not paths:
            self.recent_menu.addAction("(none)").setEnabled(False)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow():
            self.runs.window_activated()
        super().changeEvent(event)

    def _set_locked(self, locked: bool) -> None:
        """While a run is active the workflow's structure cannot change (moves still can)."""
        self.controller.locked = LOCK_REASON if locked else None
        for widget in (self.palette, self.config_form, self.name_edit):
            widget.setEnabled(not locked)
        for action in self.structural_actions():
            action.setEnabled(not locked)
        self.act_undo.sync()
        self.act_redo.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self.commit_pending_edits("close the window"):
            event.ignore()
            return
        if not self.runs.confirm_close():
            event.ignore()
            return
        if self.maybe_save():
            self.demo.stop()
            self.execute_on.close()
            if self._owns_service:
                self._close_service()
            event.accept()
        else:
            event.ignore()

    def _close_service(self) -> None:
        try:
            self.service.close()
        except StoreError as exc:  # the window closes anyway; say what could not be written
            self.dialogs.error(self, "Local store", str(exc))
