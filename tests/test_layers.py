"""The engine and the command line must work without Qt; the package exports a pinned surface."""

from __future__ import annotations

import subprocess
import sys

import pytest

import flowdesk
import flowdesk.engine
import flowdesk.model


@pytest.mark.parametrize("module", ["flowdesk.engine", "flowdesk.model", "flowdesk.cli"])
def test_core_imports_no_qt(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "qt = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'PySide6', 'NodeGraphQt', 'qasync', 'Qt', 'shiboken6'})\n"
        "print(qt)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_exported_members() -> None:
    assert flowdesk.__all__ == ["__version__"]
    assert set(flowdesk.engine.__all__) <= set(dir(flowdesk.engine))
    assert set(flowdesk.model.__all__) <= set(dir(flowdesk.model))
