"""The store sits below the engine's scheduler and never touches Qt; its exports are pinned."""

from __future__ import annotations

import subprocess
import sys

import flowdesk.store


def test_store_imports_neither_qt_nor_the_scheduler() -> None:
    code = (
        "import sys, flowdesk.store\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'PySide6', 'NodeGraphQt', 'qasync', 'shiboken6'} "
        "or m == 'flowdesk.engine.scheduler')\n"
        "print(bad)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_exported_members() -> None:
    assert set(flowdesk.store.__all__) <= set(dir(flowdesk.store))
    assert {"Store", "SQLiteRecorder", "StoreError", "resolve_db_location"} <= set(
        flowdesk.store.__all__
    )
