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


def test_front_ends_leave_run_and_store_wiring_to_the_run_service() -> None:
    """The editor, the CLI (and any later front-end) call flowdesk.runs; only the run service
    builds runs and opens stores (the engine and the store define them)."""
    import re
    from pathlib import Path

    package = Path(flowdesk.__file__).parent
    owners = {"runs", "engine", "store"}
    wiring = re.compile(r"\bWorkflowRun\(|\bStore\.open\(")
    offenders = [
        f"{path.relative_to(package)}:{number}"
        for path in package.rglob("*.py")
        if path.relative_to(package).parts[0] not in owners
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if wiring.search(line)
    ]
    assert offenders == []
