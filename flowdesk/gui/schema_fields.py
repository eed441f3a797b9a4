"""One editor widget per config field, chosen from the field's JSON schema.

Each editor turns its text into a value or an error message; nothing here
touches the document. Kinds: text, template (multi-line), number, integer,
boolean, enum, json (dicts, lists, Any). How a json field reads templates is
decided in `parse_json_field`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, TemplateSyntaxError
from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QCheckBox, QComboBox, QLabel, QLineEdit, QPlainTextEdit, QWidget

from flowdesk.gui import theme
from flowdesk.model import is_template
from flowdesk.model.loading import UnsupportedJsonError, read_json

UNSET = object()  # the field is left out of the config, so the handler's default applies
_JSON_STRUCTURE = frozenset("{}[]")
_LEXER = Environment()  # the template engine's delimiters; only its lexer is used here


@dataclass(frozen=True)
class FieldSchema:
    name: str
    kind: str
    required: bool
    description: str = ""
    choices: tuple[str, ...] = ()
    default_text: str = ""
    text_allowed: bool = True  # a json field whose schema also takes a string (Any, str | dict)


def _types(prop: dict[str, Any]) -> set[str]:
    if "type" in prop:
        return {prop["type"]} if isinstance(prop["type"], str) else set(prop["type"])
    found: set[str] = set()
    for option in prop.get("anyOf", []):
        found |= _types(option) or {"any"}
    return found or {"any"}


def field_schemas(schema: dict[str, Any]) -> list[FieldSchema]:
    """The fields of a pydantic config model's JSON schema, in declaration order."""
    required = set(schema.get("required", []))
    fields: list[FieldSchema] = []
    for name, prop in schema.get("properties", {}).items():
        types = _types(prop) - {"null"}
        description = prop.get("description", "")
        enum = prop.get("enum")
        if enum is None:
            enum = next((o["enum"] for o in prop.get("anyOf", []) if "enum" in o), None)
        if enum and all(isinstance(choice, str) for choice in enum):
            kind = "enum"
        elif types == {"string"} and prop.get("format") == "python":
            kind = "code"  # source code: a monospaced editor where Tab indents
        elif types == {"string"}:
            multi = "template" in description.lower() or name in ("body", "value", "text")
            kind = "template" if multi else "text"
        elif types == {"boolean"}:
            kind = "boolean"
        elif types == {"integer"}:
            kind = "integer"
        elif types <= {"number", "integer"}:
            kind = "number"
        else:
            kind = "json"
        fields.append(
            FieldSchema(
                name,
                kind,
                name in required,
                description,
                tuple(enum or ()),
                json.dumps(prop["default"]) if prop.get("default") is not None else "",
                text_allowed=kind != "json" or bool(types & {"string", "any"}),
            )
        )
    return fields


def _template_shape(text: str) -> tuple[bool, str]:
    """(whether `text` is exactly one `{{ expression }}`, the text outside its template tags).

    A text the lexer cannot read counts as all literal, so it is judged as JSON.
    """
    try:
        tokens = list(_LEXER.lex(text))
    except TemplateSyntaxError:
        return False, text
    literal = "".join(value for _, kind, value in tokens if kind == "data")
    kinds = [kind for _, kind, _ in tokens]
    single = (
        bool(kinds)
        and kinds[0] == "variable_begin"
        and kinds[-1] == "variable_end"
        and kinds.count("variable_begin") == 1
        and "block_begin" not in kinds
        and not literal
    )
    return single, literal


def parse_json_field(text: str, *, text_allowed: bool) -> tuple[Any, str | None]:
    """(value, None) or (None, error) for what the user typed into a json field.

    A template is not JSON, yet it must be typeable without quotes, while JSON
    broken by a typo must never pass as text (it would be saved and run as a
    string). So:

    1. Text that parses as JSON is that value (templates inside JSON strings
       are fine: `{"who": "{{ params.name }}"}`).
    2. Text that is exactly one `{{ expression }}` stands for the whole value
       (it may be a dict or list at run time) and is kept as that string, in
       any json field.
    3. In a field whose schema also takes a string (`Any`, `str | dict`), other
       template text is taken as text only when nothing outside its tags looks
       like JSON: no `{`, `}`, `[` or `]`, and it does not start with `"`.
       `Hello {{ name }}` is text; `"author": "{{ x }}"}` (an object that lost
       its `{`) is meant as JSON and is invalid.
    4. Anything else is invalid JSON, reported with its line and column.
    """
    try:
        return read_json(text), None
    except json.JSONDecodeError as exc:
        error = f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
    except UnsupportedJsonError as exc:  # too deep, a number too long, a lone surrogate
        return None, str(exc)
    text = text.strip()
    if is_template(text):
        single, literal = _template_shape(text)
        if single:
            return text, None
        if text_allowed and not text.startswith('"') and not _JSON_STRUCTURE & set(literal):
            return text, None
    if text_allowed and not text.startswith(("{", "[", '"')):
        error += "; to give text, write it as a JSON string in double quotes"
    return None, error


class FieldEditor(QObject):
    """A widget for one field; `committed` fires when the user finishes an edit."""

    committed = Signal(str)  # field name

    def __init__(self, field: FieldSchema) -> None:
        super().__init__()
        self.field = field
        self.widget = self._make_widget()
        self.widget.setToolTip(field.description)
        self.widget.setObjectName(f"field_{field.name}")
        self.error: str | None = None
        self._shown_text = ""  # what set_value last showed: any other text is a pending edit
        self.message_label = QLabel()
        self.message_label.setStyleSheet(theme.ERROR_TEXT_STYLE)
        self.message_label.setWordWrap(True)
        self.message_label.hide()

    # --- widget per kind ---

    def _make_widget(self) -> QWidget:
        kind = self.field.kind
        if kind == "boolean":
            box = QCheckBox()
            box.clicked.connect(self._commit)
            return box
        if kind == "enum":
            combo = QComboBox()
            if not self.field.required:
                combo.addItem(self._default_label(), UNSET)
            for choice in self.field.choices:
                combo.addItem(choice, choice)
            combo.activated.connect(self._commit)
            return combo
        if kind == "code":
            code = QPlainTextEdit()
            code.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
            code.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
            code.setTabStopDistance(4 * code.fontMetrics().horizontalAdvance(" "))
            code.setMinimumHeight(180)
            code.installEventFilter(self)
            code.textChanged.connect(self._forget_refused)
            return code
        if kind in ("template", "json"):
            edit = QPlainTextEdit()
            edit.setTabChangesFocus(True)
            edit.setFixedHeight(64 if kind == "template" else 80)
            if kind == "json":
                optional = f"JSON, empty for {self._default_label()[1:-1]}"
                edit.setPlaceholderText("JSON" if self.field.required else optional)
            edit.installEventFilter(self)
            edit.textChanged.connect(self._forget_refused)
            return edit
        line = QLineEdit()
        if not self.field.required:
            line.setPlaceholderText(self._default_label())
        line.editingFinished.connect(self._commit)
        line.textChanged.connect(self._forget_refused)
        return line

    def _default_label(self) -> str:
        default = self.field.default_text.strip('"')
        return f"(default: {default})" if default else "(default)"

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.FocusOut and watched is self.widget:
            self._commit()
        return False

    def _forget_refused(self, *_args: Any) -> None:
        """Typed (or Ctrl+Z'd) back to the document's value: nothing is refused any more."""
        if self.error is not None and not self.is_pending():
            self.set_error(None)

    def _commit(self, *_args: Any) -> None:
        self.committed.emit(self.field.name)

    # --- values ---

    def set_value(self, value: Any) -> None:
        """Show `value` (UNSET for a missing key) without emitting `committed`."""
        widget = self.widget
        if isinstance(widget, QCheckBox):
            unset_shows = self.field.default_text == "true"  # an unset box shows its default
            widget.setChecked(bool(value) if value is not UNSET else unset_shows)
        elif isinstance(widget, QComboBox):
            index = widget.findData(value) if value is not UNSET else widget.findData(UNSET)
            if index < 0 and isinstance(value, str):
                widget.addItem(value, value)  # a template or an odd value from a file stays visible
                index = widget.count() - 1
            widget.setCurrentIndex(max(index, 0))
        elif isinstance(widget, QPlainTextEdit):
            text = self._text_of(value)
            if widget.toPlainText() != text:
                widget.setPlainText(text)
        elif isinstance(widget, QLineEdit):
            widget.setText(self._text_of(value))
        self.mark_committed()
        self.set_error(None)

    def text(self) -> str | None:
        """The typed text, or None for a checkbox or a list (they commit on every click)."""
        widget = self.widget
        if isinstance(widget, QPlainTextEdit):
            return widget.toPlainText()
        if isinstance(widget, QLineEdit):
            return widget.text()
        return None

    def is_pending(self) -> bool:
        """True when the widget shows text that is not (yet) the document's value."""
        text = self.text()
        return text is not None and text != self._shown_text

    def mark_committed(self) -> None:
        """The text shown is now the document's value (it was loaded or just applied)."""
        self._shown_text = self.text() or ""

    def _text_of(self, value: Any) -> str:
        if value is UNSET:
            return ""
        if self.field.kind == "json":
            # A string is shown bare only when it reads back as the same string.
            if isinstance(value, str) and self._parse_json(value) == (value, None):
                return value
            return json.dumps(value, indent=2)
        return str(value) if value is not None else ""

    def value(self) -> tuple[Any, str | None]:
        """(value, None) or (None, error message) from what the widget shows."""
        widget = self.widget
        if isinstance(widget, QCheckBox):
            return widget.isChecked(), None
        if isinstance(widget, QComboBox):
            return widget.currentData(), None
        text = widget.toPlainText() if isinstance(widget, QPlainTextEdit) else widget.text()
        if not text.strip():
            if self.field.required:
                return None, "required"
            return UNSET, None
        kind = self.field.kind
        if kind in ("text", "template", "code"):
            return text, None
        if kind in ("number", "integer"):
            if is_template(text.strip()):
                return text.strip(), None  # checked after resolution, at run time
            try:
                number = float(text) if kind == "number" else int(text)
            except ValueError:
                return (
                    None,
                    f"not {'a number' if kind == 'number' else 'an integer'}: {text.strip()!r}",
                )
            if kind == "number" and number.is_integer() and "." not in text:
                number = int(number)
            return number, None
        return self._parse_json(text)

    def _parse_json(self, text: str) -> tuple[Any, str | None]:
        return parse_json_field(text, text_allowed=self.field.text_allowed)

    def set_error(self, message: str | None) -> None:
        self.error = message
        self.widget.setStyleSheet(theme.INVALID_FIELD_STYLE if message else "")
        self.message_label.setText(message or "")
        self.message_label.setVisible(bool(message))
