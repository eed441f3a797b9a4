"""The local store as the editor sees it: save a workflow by name, list them, open one.

Each call opens the SQLite store briefly (`with Store.open(...)`), so the
editor holds no database connection or writer thread while the user draws.
"""

from __future__ import annotations

from pathlib import Path

from flowdesk.model import WorkflowDefinition
from flowdesk.store import DefinitionSummary, Store, resolve_db_location


class WorkflowLibrary:
    """Saved workflows in the local store; StoreError (one-line message) on failure."""

    def __init__(self, db_path: Path | None = None) -> None:
        self.db_path = db_path or resolve_db_location().path

    def list(self) -> list[DefinitionSummary]:
        with Store.open(self.db_path) as store:
            return store.definitions.list()

    def exists(self, name: str) -> bool:
        return any(summary.name == name for summary in self.list())

    def save(self, definition: WorkflowDefinition) -> None:
        with Store.open(self.db_path) as store:
            store.definitions.save(definition)

    def load(self, name: str) -> WorkflowDefinition:
        with Store.open(self.db_path) as store:
            return store.definitions.load(name)
