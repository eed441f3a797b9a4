"""The config panel of the selected node, generated from its handler's config schema.

A value is written to the document only when it parses and passes the
handler's config model; otherwise the field turns red with the reason and
the document keeps its previous value. `commit_pending` applies what is still
being typed, so a run or a save never uses an older value than the one shown.
"""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import ValidationError
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from flowdesk.engine import HandlerRegistry
from flowdesk.gui import theme
from flowdesk.gui.document import Diff, WorkflowDocument
from flowdesk.gui.flow_fields import FlowFields
from flowdesk.gui.schema_fields import UNSET, FieldEditor, FieldSchema, field_schemas
from flowdesk.gui.text_fit import elide_long_words
from flowdesk.model import NodeSpec, RetryPolicy
from flowdesk.model.validation import check_config


class NodeEdits(Protocol):
    """The edits the panel asks for; the controller turns them into undo commands."""

    def edit_config(self, node_id: str, config: dict[str, Any]) -> None: ...
    def edit_retry(self, node_id: str, retry: RetryPolicy | None) -> None: ...
    def edit_timeout(self, node_id: str, timeout_s: float | None) -> None: ...
    def edit_flow(self, node_id: str, *, when: str | None, trigger_rule: str | None) -> None: ...
    def edit_map(
        self,
        node_id: str,
        *,
        map_over: str | None,
        max_items: int | None,
        on_item_failure: str | None,
    ) -> None: ...
    def edit_cache(self, node_id: str, cache: Any) -> None: ...
    def rename(self, node_id: str, new_id: str) -> str | None: ...


def _number_field(name: str, description: str) -> FieldEditor:
    return FieldEditor(FieldSchema(name, "number", False, description))


class ConfigForm(QScrollArea):
    """Shows one node: id, handler, config fields, retry and timeout."""

    def __init__(
        self, document: WorkflowDocument, registry: HandlerRegistry, edits: NodeEdits
    ) -> None:
        super().__init__()
        self.document = document
        self.registry = registry
        self.edits = edits
        self.node_id: str | None = None
        self.fields: dict[str, FieldEditor] = {}
        self.setWidgetResizable(True)
        self._wheel_guard = _WheelScrollsPanel(self)
        self._show_empty()
        document.changed.connect(self._on_document_changed)

    # --- building ---

    def _show_empty(self) -> None:
        self.node_id = None
        self.fields = {}
        label = QLabel("Select a node to edit its configuration.")
        label.setWordWrap(True)
        self.setWidget(label)

    def _retire_editors(self) -> None:
        """Commit the field being typed in, then cut the old editors off before they go."""
        for editor in self._editors():
            if editor.widget.hasFocus():
                editor.committed.emit(editor.field.name)
            editor.committed.disconnect()
            editor.widget.removeEventFilter(editor)

    def _editors(self) -> list[FieldEditor]:
        extra = [getattr(self, name, None) for name in ("max_attempts", "backoff_s", "timeout_s")]
        return [*self.fields.values(), *(e for e in extra if e is not None)]

    def show_node(self, node_id: str | None) -> None:
        if self.node_id is not None and self.document.has_node(self.node_id):
            self._retire_editors()
        if node_id is None or not self.document.has_node(node_id):
            self._show_empty()
            return
        spec = self.document.definition.node(node_id)
        self.node_id = node_id
        page = QWidget()
        outer = QVBoxLayout(page)
        form = QFormLayout()
        outer.addLayout(form)

        self.id_edit = QLineEdit(node_id)
        self.id_edit.setObjectName("node_id")
        self.id_message = QLabel()
        self.id_message.setStyleSheet(theme.ERROR_TEXT_STYLE)
        self.id_message.setWordWrap(True)  # a long reason must not widen the panel
        self.id_message.hide()
        self.id_edit.editingFinished.connect(self._commit_id)
        form.addRow("Node id", self.id_edit)
        form.addRow("", self.id_message)
        handler_text = (
            spec.handler if spec.handler in self.registry else f"{spec.handler} (unknown)"
        )
        form.addRow("Handler", QLabel(handler_text))
        if spec.handler in self.registry and self.registry.get(spec.handler).description:
            about = QLabel(self.registry.get(spec.handler).description)
            about.setWordWrap(True)
            about.setStyleSheet("color: gray;")
            form.addRow(about)

        self.fields = {}
        config_box = QGroupBox("Config")
        config_form = QFormLayout(config_box)
        if spec.handler in self.registry:
            schema = self.registry.get(spec.handler).config_model.model_json_schema()
            for field in field_schemas(schema):
                self._add_field(config_form, field, field.name + (" *" if field.required else ""))
            if not self.fields:
                config_form.addRow(QLabel("This handler has no settings."))
        else:
            config_form.addRow(QLabel("Unknown handler: its config is kept as it is."))
        self.form_message = QLabel()
        self.form_message.setStyleSheet(theme.ERROR_TEXT_STYLE)
        self.form_message.setWordWrap(True)
        self.form_message.hide()
        config_form.addRow(self.form_message)
        outer.addWidget(config_box)

        run_box = QGroupBox("Retry and timeout")
        run_form = QFormLayout(run_box)
        self.max_attempts = FieldEditor(
            FieldSchema("max_attempts", "integer", False, "Tries in all (1-100); empty: one try.")
        )
        self.backoff_s = _number_field("backoff_s", "First wait between tries, in seconds.")
        self.timeout_s = _number_field("timeout_s", "Seconds before the node is failed.")
        for editor, label in (
            (self.max_attempts, "Max attempts"),
            (self.backoff_s, "Backoff (s)"),
            (self.timeout_s, "Timeout (s)"),
        ):
            run_form.addRow(label, editor.widget)
            run_form.addRow("", editor.message_label)
        self.max_attempts.committed.connect(self._commit_retry)
        self.backoff_s.committed.connect(self._commit_retry)
        self.timeout_s.committed.connect(self._commit_timeout)
        outer.addWidget(run_box)
        self.advanced = FlowFields(self._commit_flow, self._commit_map, self._commit_cache)
        outer.addWidget(self.advanced)
        outer.addStretch(1)
        for choice in (*page.findChildren(QComboBox), *page.findChildren(QAbstractSpinBox)):
            choice.installEventFilter(self._wheel_guard)
        self.setWidget(page)
        self._load_values(spec)

    def _add_field(self, form: QFormLayout, field: FieldSchema, label: str) -> None:
        editor = FieldEditor(field)
        editor.committed.connect(self._commit_field)
        self.fields[field.name] = editor
        form.addRow(label, editor.widget)
        form.addRow("", editor.message_label)

    @staticmethod
    def _keeps_text(editor: FieldEditor) -> bool:
        """Never overwrite what the user is typing, nor an edit that was refused (still red)."""
        return editor.widget.hasFocus() or (editor.error is not None and editor.is_pending())

    def _load_values(self, spec: NodeSpec) -> None:
        retry = spec.retry
        values = {
            **{
                name: (editor, spec.config.get(name, UNSET)) for name, editor in self.fields.items()
            },
            "max_attempts": (self.max_attempts, retry.max_attempts if retry else UNSET),
            "backoff_s": (self.backoff_s, retry.backoff_s if retry else UNSET),
            "timeout_s": (self.timeout_s, spec.timeout_s if spec.timeout_s is not None else UNSET),
        }
        for editor, value in values.values():
            if not self._keeps_text(editor):
                editor.set_value(value)
        self.id_edit.setText(spec.id)
        self._set_id_error(None)
        self.form_message.hide()
        self.advanced.load(self.document.definition, spec.id)

    def _on_document_changed(self, diff: Diff) -> None:
        if self.node_id is None:
            return
        self.node_id = diff.renamed.get(self.node_id, self.node_id)
        if diff.reset or not self.document.has_node(self.node_id):
            self._show_empty()
        elif self.node_id in diff.changed or self.node_id in diff.renamed.values():
            self._load_values(self.document.definition.node(self.node_id))

    # --- pending edits ---

    def commit_pending(self) -> bool:
        """Apply every edit still being typed: F5 or Ctrl+S leave the focus in its field.

        False when one cannot be applied; it stays red with its reason (see
        `pending_error`) and the caller must not go on with its run or save.
        """
        if self.node_id is None or not self.document.has_node(self.node_id):
            return True
        if self.id_edit.text().strip() != self.node_id:
            self._commit_id()
        for editor in self._editors():
            if editor.is_pending():
                editor.committed.emit(editor.field.name)
        if self.advanced.is_pending():
            self.advanced.commit()
        return self.pending_error() is None

    def pending_error(self) -> tuple[QWidget, str] | None:
        """The first edit shown here that is not in the document: its widget and why not."""
        if self.node_id is None or not self.document.has_node(self.node_id):
            return None
        where = f"node '{self.node_id}'"
        if self.id_edit.text().strip() != self.node_id:
            reason = self.id_message.text() or "not applied"
            return self.id_edit, f"{where}, new id '{self.id_edit.text().strip()}': {reason}"
        if self.advanced.is_pending():
            problem = self.advanced.pending_problem()
            widget, label, reason = problem or (self.advanced.when, "advanced", "not applied")
            return widget, f"{where}, {label}: {reason}"
        for editor in self._editors():
            if editor.is_pending():
                return (
                    editor.widget,
                    f"{where}, {editor.field.name}: {editor.error or 'not applied'}",
                )
        return None

    # --- committing ---

    def _commit_field(self, name: str) -> None:
        if self.node_id is None:
            return
        editor = self.fields.get(name)
        if editor is None or not self.document.has_node(self.node_id):
            return  # a field of a page being replaced
        spec = self.document.definition.node(self.node_id)
        value, error = editor.value()
        if error:
            editor.set_error(error)
            return
        config = dict(spec.config)
        if value is UNSET:
            config.pop(name, None)
        else:
            config[name] = value
        if config == spec.config:
            editor.set_error(None)
            editor.mark_committed()
            return
        model = self.registry.get(spec.handler).config_model
        problems = check_config(spec.model_copy(update={"config": config}), model)
        mine = [p for p in problems if (p.location or "").startswith(f"config.{name}")]
        general = [p for p in problems if (p.location or "config") == "config"]
        if mine or general:
            editor.set_error("; ".join(p.message for p in mine + general))
            return
        editor.set_error(None)
        self.form_message.hide()
        self.edits.edit_config(self.node_id, config)
        applied = self.document.has_node(self.node_id) and (
            self.document.definition.node(self.node_id).config == config
        )
        if applied:  # an edit refused (a run is active) stays pending
            editor.mark_committed()

    def _commit_retry(self, _name: str = "") -> None:
        if self.node_id is None:
            return
        attempts, error_a = self.max_attempts.value()
        backoff, error_b = self.backoff_s.value()
        self.max_attempts.set_error(error_a)
        self.backoff_s.set_error(error_b)
        if error_a or error_b:
            return
        if attempts is UNSET and backoff is UNSET:
            retry = None
        else:
            data = {"max_attempts": attempts, "backoff_s": backoff}
            try:
                retry = RetryPolicy.model_validate(
                    {k: v for k, v in data.items() if v is not UNSET}
                )
            except ValidationError as exc:
                for error in exc.errors():
                    target = self.backoff_s if "backoff_s" in error["loc"] else self.max_attempts
                    target.set_error(str(error["msg"]))
                return
        if retry != self.document.definition.node(self.node_id).retry:
            self.edits.edit_retry(self.node_id, retry)
        if retry == self.document.definition.node(self.node_id).retry:
            self.max_attempts.mark_committed()
            self.backoff_s.mark_committed()

    def _commit_timeout(self, _name: str = "") -> None:
        if self.node_id is None:
            return
        value, error = self.timeout_s.value()
        if (
            error is None
            and value is not UNSET
            and (not isinstance(value, int | float) or value <= 0)
        ):
            error = "must be a number greater than 0"
        self.timeout_s.set_error(error)
        if error:
            return
        timeout = None if value is UNSET else float(value)
        if timeout != self.document.definition.node(self.node_id).timeout_s:
            self.edits.edit_timeout(self.node_id, timeout)
        if timeout == self.document.definition.node(self.node_id).timeout_s:
            self.timeout_s.mark_committed()

    def _commit_flow(self, when: str | None, trigger_rule: str | None) -> None:
        if self.node_id is not None and self.document.has_node(self.node_id):
            self.edits.edit_flow(self.node_id, when=when, trigger_rule=trigger_rule)

    def _commit_map(
        self, map_over: str | None, max_items: int | None, on_item_failure: str | None
    ) -> None:
        if self.node_id is not None and self.document.has_node(self.node_id):
            self.edits.edit_map(
                self.node_id,
                map_over=map_over,
                max_items=max_items,
                on_item_failure=on_item_failure,
            )

    def _commit_cache(self, cache: Any) -> None:
        if self.node_id is not None and self.document.has_node(self.node_id):
            self.edits.edit_cache(self.node_id, cache)

    def _commit_id(self) -> None:
        if self.node_id is None:
            return
        new_id = self.id_edit.text().strip()
        if new_id == self.node_id:
            self._set_id_error(None)
            return
        self._set_id_error(self.edits.rename(self.node_id, new_id))

    def _set_id_error(self, message: str | None) -> None:
        self.id_edit.setStyleSheet(theme.INVALID_FIELD_STYLE if message else "")
        self.id_message.setText(elide_long_words(message or ""))  # a long id must not widen us
        self.id_message.setToolTip(message or "")
        self.id_message.setVisible(bool(message))


class _WheelScrollsPanel(QObject):
    """The wheel over a choice box the user has not clicked scrolls the panel instead: scrolling
    down the panel past "On item failure" silently switched it to skip (an undoable edit)."""

    def __init__(self, panel: QScrollArea) -> None:
        super().__init__(panel)
        self._panel = panel

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        wheel = event.type() is QEvent.Type.Wheel
        if wheel and isinstance(watched, QWidget) and not watched.hasFocus():
            QApplication.sendEvent(self._panel.verticalScrollBar(), event)
            return True
        return False
