"""The local store as the editor sees it: save a workflow by name, list them, open one.

It goes through the window's run service, which holds the one store of this
database (opened once, off the GUI thread), so these calls never open the file.
"""

from __future__ import annotations

from pathlib import Path

from flowdesk.model import WorkflowDefinition
from flowdesk.runs import RunService
from flowdesk.store import DefinitionSummary


class WorkflowLibrary:
    """Saved workflows in the local store; StoreError (one-line message) on failure."""

    def __init__(self, service: RunService) -> None:
        self._service = service

    @property
    def db_path(self) -> Path:
        return self._service.db_path

    def list(self) -> list[DefinitionSummary]:
        return self._service.definitions.list()

    def exists(self, name: str) -> bool:
        return any(summary.name == name for summary in self.list())

    def save(self, definition: WorkflowDefinition) -> None:
        self._service.definitions.save(definition)

    def load(self, name: str) -> WorkflowDefinition:
        return self._service.definitions.load(name)
