"""The editor's look: accents per handler, run-state and problem colours, handler icons, and a
light or dark application palette that follows the system's colour scheme."""

from __future__ import annotations

import hashlib
from functools import cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer

from flowdesk import resources

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
# Node states (engine/states.py): the one place that maps a state to its colour.
STATE_COLORS: dict[str, RGB] = {
    "PENDING": (150, 150, 150),
    "RUNNING": (245, 166, 35),
    "SUCCEEDED": (46, 184, 92),
    "FAILED": (226, 54, 54),
    "SKIPPED": (85, 85, 85),
    "CANCELLED": (150, 80, 200),
    # Was running when its process died: the amber of RUNNING, darkened (it is not running).
    "INTERRUPTED": (170, 110, 30),
    # Took a stored output instead of running: a success, in teal so it reads apart from green.
    "REUSED": (40, 160, 170),
}
RUNNING_WIRE_COLOR: RGB = STATE_COLORS["RUNNING"]
# Compare mode (gui/compare_state.py): how a node differs between two runs, or since a run.
COMPARE_COLORS: dict[str, RGB] = {
    "same": (120, 120, 120),
    "output": (240, 160, 40),
    "state": (226, 54, 54),
    "only_a": (70, 130, 230),
    "only_b": (170, 90, 220),
    "neither": (60, 60, 60),
    "unchanged": (120, 120, 120),
    "added": (46, 184, 92),
    "changed": (240, 160, 40),
    "downstream": (200, 200, 110),
    "removed": (226, 54, 54),
}
# A JSON diff's rows (gui/json_diff_tree.py), drawn at DIFF_ALPHA over light or dark bases.
DIFF_COLORS: dict[str, RGB] = {
    "added": (46, 184, 92),
    "removed": (226, 54, 54),
    "changed": (240, 160, 40),
}
DIFF_ALPHA = 90
# A node title being renamed in place: a field on the (always dark) canvas.
EDIT_FIELD_BACKGROUND: RGB = (30, 31, 34)
EDIT_FIELD_BORDER: RGB = (53, 116, 240)
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


@cache
def handler_icon(handler: str, accent: RGB) -> QIcon:
    """The handler's icon (resources/icons/handlers) drawn in its accent colour."""
    renderer = QSvgRenderer(str(resources.handler_icon(handler)))
    pixmap = QPixmap(32, 32)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    renderer.render(painter, QRectF(2, 2, 28, 28))
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
    painter.fillRect(pixmap.rect(), QColor(*accent))
    painter.end()
    return QIcon(pixmap)


def palette_for(scheme: Qt.ColorScheme) -> QPalette:
    """Fusion's light palette, or a dark one that matches the (always dark) canvas."""
    if scheme != Qt.ColorScheme.Dark:
        return QPalette()
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: (43, 45, 48),
        QPalette.ColorRole.WindowText: (220, 220, 220),
        QPalette.ColorRole.Base: (30, 31, 34),
        QPalette.ColorRole.AlternateBase: (38, 40, 43),
        QPalette.ColorRole.Text: (220, 220, 220),
        QPalette.ColorRole.Button: (52, 54, 58),
        QPalette.ColorRole.ButtonText: (220, 220, 220),
        QPalette.ColorRole.Highlight: (53, 116, 240),
        QPalette.ColorRole.HighlightedText: (255, 255, 255),
        QPalette.ColorRole.ToolTipBase: (52, 54, 58),
        QPalette.ColorRole.ToolTipText: (220, 220, 220),
        QPalette.ColorRole.PlaceholderText: (140, 140, 140),
    }
    for role, rgb in colours.items():
        palette.setColor(role, QColor(*rgb))
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.ButtonText,
        QPalette.ColorRole.WindowText,
    ):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 120, 120))
    return palette


def apply_app_theme(app: QGuiApplication) -> None:
    """Follow the system's light or dark scheme now and whenever it changes."""
    if hasattr(app, "setStyle"):
        app.setStyle("Fusion")
    hints = app.styleHints()

    def follow(scheme: Qt.ColorScheme) -> None:
        app.setPalette(palette_for(scheme))

    follow(hints.colorScheme())
    hints.colorSchemeChanged.connect(follow)
