"""The store sits below the engine's scheduler and never touches Qt; its exports are pinned."""

from __future__ import annotations

from conftest import modules_loaded_by

import flowdesk.store


def test_store_imports_neither_qt_nor_the_scheduler() -> None:
    roots = {"PySide6", "NodeGraphQt", "qasync", "shiboken6", "flowdesk"}
    loaded = modules_loaded_by("import flowdesk.store", roots)
    assert [m for m in loaded if not m.startswith("flowdesk")] == []
    assert "flowdesk.engine.scheduler" not in loaded


def test_exported_members() -> None:
    assert set(flowdesk.store.__all__) <= set(dir(flowdesk.store))
    assert {"Store", "SQLiteRecorder", "StoreError", "resolve_db_location"} <= set(
        flowdesk.store.__all__
    )
