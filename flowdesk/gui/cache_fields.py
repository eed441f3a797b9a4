"""The Advanced group's cache rows: "Cache output" (the node's `"cache"`) and "Max age" (its
`ttl_s`), typed as seconds or with a unit ("90", "30m", "1h", "2d"); empty means any age.

A max age that is not one stays red with the reason and is not written to the document; the
value's bounds are model/node_cache.py's own, so the editor refuses what validation refuses.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QCheckBox, QFormLayout, QLabel, QLineEdit

from flowdesk.gui import theme
from flowdesk.model.node_cache import InvalidCacheValue, cache_policy

ApplyCache = Callable[[Any], None]
"""Writes a node's `cache`: None (off), True, or {"ttl_s": seconds}."""

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
AGE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*([smhd]?)", re.IGNORECASE)


def parse_max_age(text: str) -> tuple[float | None, str | None]:
    """(seconds, or None for any age when empty; why the text is not a max age)."""
    cleaned = text.strip().replace(",", "").replace("_", "")
    if not cleaned:
        return None, None
    match = AGE.fullmatch(cleaned)
    if match is None:
        return None, "must be seconds or e.g. 30m, 1h, 2d (empty: no limit)"
    seconds = float(match.group(1)) * UNITS[(match.group(2) or "s").lower()]
    try:
        cache_policy({"ttl_s": seconds})
    except InvalidCacheValue as exc:
        return None, str(exc).replace("cache.ttl_s", "max age")
    return seconds, None


def max_age_text(seconds: float) -> str:
    """`seconds` as typed back: the largest whole unit ("1h", "30m"), else plain seconds."""
    for unit in ("d", "h", "m"):
        size = UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


def cache_value(enabled: bool, max_age: float | None) -> Any:
    """The node's `cache` for the two fields (the shape the file holds)."""
    if not enabled:
        return None
    return True if max_age is None else {"ttl_s": _plain(max_age)}


def _plain(seconds: float) -> int | float:
    return int(seconds) if seconds.is_integer() and math.isfinite(seconds) else seconds


class CacheFields:
    """The two rows, added to the Advanced group's form; `apply(cache)` writes them."""

    def __init__(self, form: QFormLayout, apply: ApplyCache | None) -> None:
        self._apply = apply
        self._shown: Any = None
        """The `cache` the fields showed when loaded (what a commit compares against)."""
        self._refused = False
        self.enabled = QCheckBox("Cache output")
        self.enabled.setObjectName("cache")
        self.enabled.setToolTip(
            "Reuse the output of an earlier successful execution with the same handler,"
            " resolved config and inputs, from any run: the node is REUSED (cached)."
        )
        self.max_age = QLineEdit()
        self.max_age.setObjectName("cache_max_age")
        self.max_age.setPlaceholderText("no limit  (seconds, or 30m, 1h, 2d)")
        self.max_age.setToolTip("An older cached output is not reused: the node runs again.")
        self.message = QLabel()
        self.message.setStyleSheet(theme.ERROR_TEXT_STYLE)
        self.message.setWordWrap(True)
        self.message.hide()
        form.addRow("", self.enabled)
        form.addRow("Max age", self.max_age)
        form.addRow("", self.message)
        self.enabled.toggled.connect(self._on_toggled)
        self.max_age.editingFinished.connect(self.commit)

    def load(self, value: Any) -> None:
        """Show a node's `cache`, except a max age being typed or refused (it stays red). A
        value this version cannot read is named here (validation names it too) and stays
        until a field is changed."""
        self.enabled.blockSignals(True)
        self.enabled.setChecked(value is not None and value is not False)
        self.enabled.blockSignals(False)
        self.max_age.setEnabled(self.enabled.isChecked())
        try:
            policy = cache_policy(value)
        except InvalidCacheValue as exc:
            policy, unreadable = None, str(exc)
        else:
            unreadable = None
        ttl = policy.ttl_s if policy else None
        self._shown = cache_value(self.enabled.isChecked(), ttl)
        if self.max_age.hasFocus() or self._refused:
            return
        self.max_age.setText("" if ttl is None else max_age_text(ttl))
        self._show(f"{unreadable} (change a field to replace it)" if unreadable else None)

    def _on_toggled(self, checked: bool) -> None:
        self.max_age.setEnabled(checked)
        self.commit()

    def typed(self) -> tuple[Any, str | None]:
        """(the `cache` the fields say, why the max age is refused: only with the box ticked,
        since a max age is kept only then)."""
        max_age, error = parse_max_age(self.max_age.text())
        if not self.enabled.isChecked():
            return None, None
        return cache_value(True, max_age), error

    def is_pending(self) -> bool:
        value, error = self.typed()
        return error is not None or value != self._shown

    def problem(self) -> str | None:
        """Why the typed max age was refused, or None."""
        return self.message.text() if self._refused else None

    def commit(self) -> None:
        value, error = self.typed()
        self._refused = error is not None
        self._show(error)
        if error or self._apply is None:
            return
        if value != self._shown:
            self._apply(value)

    def _show(self, message: str | None) -> None:
        self.max_age.setStyleSheet(theme.INVALID_FIELD_STYLE if self._refused else "")
        self.message.setText(message or "")
        self.message.setVisible(bool(message))
