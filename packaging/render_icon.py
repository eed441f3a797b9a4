"""Render resources/app/flowdesk.svg to the PNG sizes bundles and desktops want."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

APP = Path(__file__).resolve().parent.parent / "resources" / "app"


def render(size: int, target: Path) -> None:
    renderer = QSvgRenderer(str(APP / "flowdesk.svg"))
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    if not image.save(str(target)):
        raise SystemExit(f"could not write {target}")


if __name__ == "__main__":
    app = QGuiApplication(sys.argv)
    render(256, APP / "flowdesk.png")
    print(APP / "flowdesk.png")
