"""Shared fixtures. Qt runs offscreen: CI has no display."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
EXAMPLES = REPO / "resources" / "examples"


@pytest.fixture
def registry():
    from flowdesk.engine import HandlerRegistry

    return HandlerRegistry.default()


@pytest.fixture
def config_models(registry):
    return registry.config_models()
