"""Masking secret values as `***` in everything that leaves a node (output, error, resolved
config, retry messages, log lines) and in the params a run keeps.

A value is found however it was written on its way: as is, percent-encoded (a URL's path or
query, `+` for a space), escaped in JSON or a Python repr, and in any letter case (a template
that upper-cased it). Each character may take any of its forms, so a URL that encodes some
characters and not others is still found. Values a template transformed otherwise (a slice,
a hash) are not recognised.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"


class SecretMask:
    """Replaces every given secret value by `***`. Empty values are ignored; without any value
    every method returns its argument itself (a run without secrets pays nothing)."""

    __slots__ = ("_pattern", "_separator")

    def __init__(self, values: Iterable[str] = ()) -> None:
        # Longest first, so a value that contains another is masked whole.
        found = sorted({value for value in values if value}, key=len, reverse=True)
        self._pattern = (
            re.compile("|".join(_value_pattern(value) for value in found), re.IGNORECASE)
            if found
            else None
        )
        # Joins a value's texts for one search; no value holds it, so no match spans it.
        self._separator = next(
            c for c in map(chr, range(1, 0x110000)) if not any(c in v for v in found)
        )

    def __bool__(self) -> bool:
        return self._pattern is not None

    def text(self, text: str | None) -> str | None:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)

    def value(self, value: Any) -> Any:
        """A copy of a JSON-like value with every secret masked (in keys too); numbers whose
        text holds a secret become the masked text."""
        if self._pattern is None:
            return value
        if isinstance(value, Mapping | list) and not self._holds_secret(value):
            return value  # the common case: one search, and nothing copied
        return self._walk(value)

    def _holds_secret(self, value: Any) -> bool:
        """Whether any text in `value` (keys and numbers too) holds a secret, in one search."""
        assert self._pattern is not None
        texts: list[str] = []
        stack = [value]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                texts.append(item)
            elif isinstance(item, Mapping):
                stack.extend(item.keys())
                stack.extend(item.values())
            elif isinstance(item, list | tuple):
                stack.extend(item)
            elif isinstance(item, int | float) and not isinstance(item, bool):
                texts.append(repr(item))
        return self._pattern.search(self._separator.join(texts)) is not None

    def _walk(self, value: Any) -> Any:
        pattern = self._pattern
        assert pattern is not None
        if isinstance(value, str):
            return pattern.sub(MASK, value)
        if isinstance(value, Mapping):
            return {self._walk(key): self._walk(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self._walk(item) for item in value]
        if isinstance(value, int | float) and not isinstance(value, bool):
            text = repr(value)
            return pattern.sub(MASK, text) if pattern.search(text) else value
        return value


_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}


def _value_pattern(value: str) -> str:
    return "".join(_char_pattern(char) for char in value)


def _char_pattern(char: str) -> str:
    forms = [re.escape(char), "".join(f"%{byte:02x}" for byte in char.encode("utf-8"))]
    if char == " ":
        forms.append(r"\+")
    if char in "\"\\/'":
        forms.append(re.escape("\\" + char))  # JSON's \" \\ \/, a repr's \'
    if char in _SHORT_ESCAPES:
        forms.append(re.escape(_SHORT_ESCAPES[char]))  # JSON's and a repr's \n, \t…
    if not char.isascii() or not char.isprintable():
        code = ord(char)
        if code > 0xFFFF:  # JSON writes it as a surrogate pair
            high, low = 0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)
            forms.append(re.escape(f"\\u{high:04x}\\u{low:04x}"))
            forms.append(re.escape(f"\\U{code:08x}"))
        else:
            forms.append(re.escape(f"\\u{code:04x}"))
            if code <= 0xFF:
                forms.append(re.escape(f"\\x{code:02x}"))
    return "(?:" + "|".join(forms) + ")"
