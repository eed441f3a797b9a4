"""Colours of the editor: one accent per handler category, problem colours, node bodies."""

from __future__ import annotations

import hashlib

RGB = tuple[int, int, int]

CATEGORY_ACCENTS: dict[str, RGB] = {
    "Data": (64, 160, 220),
    "HTTP": (235, 140, 50),
    "Flow": (150, 110, 220),
    "General": (120, 170, 90),
}
HANDLER_ACCENTS: dict[str, RGB] = {
    "input": (70, 190, 120),
    "output": (220, 90, 120),
    "transform": (64, 160, 220),
    "delay": (150, 110, 220),
    "call_external_service": (235, 140, 50),
}
UNKNOWN_ACCENT: RGB = (130, 130, 130)
ERROR_COLOR: RGB = (235, 64, 52)
WARNING_COLOR: RGB = (240, 190, 40)
# Run states (DESIGN.md): the one place that maps a state to its colour.
STATE_COLORS: dict[str, RGB] = {
    "PENDING": (150, 150, 150),
    "RUNNING": (245, 166, 35),
    "SUCCEEDED": (46, 184, 92),
    "FAILED": (226, 54, 54),
    "SKIPPED": (85, 85, 85),
    "CANCELLED": (150, 80, 200),
}
RUNNING_WIRE_COLOR: RGB = STATE_COLORS["RUNNING"]
INVALID_FIELD_STYLE = "border: 2px solid rgb(235, 64, 52);"
ERROR_TEXT_STYLE = "color: rgb(235, 64, 52);"


def accent_for(handler: str, category: str | None) -> RGB:
    """A stable accent: a named one for built-ins, the category's, or one derived from the name."""
    if handler in HANDLER_ACCENTS:
        return HANDLER_ACCENTS[handler]
    if category is None:
        return UNKNOWN_ACCENT
    if category in CATEGORY_ACCENTS:
        return CATEGORY_ACCENTS[category]
    digest = hashlib.sha1(handler.encode()).digest()
    return (80 + digest[0] % 150, 80 + digest[1] % 150, 80 + digest[2] % 150)


def body_for(accent: RGB) -> RGB:
    """The node body: the accent darkened, so white titles stay readable."""
    return (accent[0] * 2 // 5 + 20, accent[1] * 2 // 5 + 20, accent[2] * 2 // 5 + 20)
