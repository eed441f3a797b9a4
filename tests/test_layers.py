"""The engine and the command line must work without Qt; the package exports a pinned surface."""

from __future__ import annotations

import pytest
from conftest import modules_loaded_by

import flowdesk
import flowdesk.engine
import flowdesk.model

QT = {"PySide6", "NodeGraphQt", "qasync", "Qt", "shiboken6"}


@pytest.mark.parametrize("module", ["flowdesk.engine", "flowdesk.model", "flowdesk.cli"])
def test_core_imports_no_qt(module: str) -> None:
    assert modules_loaded_by(f"import {module}", QT) == []


def test_exported_members() -> None:
    assert flowdesk.__all__ == ["__version__"]
    assert set(flowdesk.engine.__all__) <= set(dir(flowdesk.engine))
    assert set(flowdesk.model.__all__) <= set(dir(flowdesk.model))
