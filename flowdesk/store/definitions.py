"""Workflow definitions saved by name, and their import from / export to JSON files.

JSON is read and written only by `flowdesk.model.loading`, for files and rows alike.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from flowdesk.model import WorkflowDefinition, dump_workflow, load_workflow, parse_workflow
from flowdesk.model import save_workflow as save_workflow_file
from flowdesk.store.codec import from_text, to_text, utc_now
from flowdesk.store.errors import UnknownDefinitionError
from flowdesk.store.tables import DefinitionRecord
from flowdesk.store.writer import Writer


@dataclass(frozen=True)
class DefinitionSummary:
    """One entry of the editor's "open workflow" list."""

    name: str
    description: str | None
    node_count: int
    created_at: datetime
    updated_at: datetime


class DefinitionRepository:
    def __init__(self, engine: Engine, writer: Writer) -> None:
        self._engine = engine
        self._writer = writer

    def save(self, definition: WorkflowDefinition) -> DefinitionSummary:
        """Insert or replace the definition named `definition.name` (keeping its created_at)."""
        text = dump_workflow(definition)
        now = to_text(utc_now())
        row = (
            definition.name,
            definition.description,
            text,
            len(definition.nodes),
            now,
            now,
        )

        def upsert(connection: sqlite3.Connection) -> None:
            connection.execute(
                "INSERT INTO workflow_definitions (name, description, definition_json, "
                "node_count, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET description = excluded.description, "
                "definition_json = excluded.definition_json, node_count = excluded.node_count, "
                "updated_at = excluded.updated_at",
                row,
            )

        self._writer.call(upsert)
        return self.summary(definition.name)

    def load(self, name: str) -> WorkflowDefinition:
        return parse_workflow(self._record(name).definition_json)

    def summary(self, name: str) -> DefinitionSummary:
        return _summary(self._record(name))

    def list(self) -> list[DefinitionSummary]:
        """Most recently changed first."""
        with Session(self._engine) as session:
            query = select(DefinitionRecord).order_by(
                col(DefinitionRecord.updated_at).desc(), col(DefinitionRecord.name)
            )
            return [_summary(record) for record in session.exec(query)]

    def delete(self, name: str) -> None:
        def remove(connection: sqlite3.Connection) -> int:
            cursor = connection.execute("DELETE FROM workflow_definitions WHERE name = ?", (name,))
            return cursor.rowcount

        if not self._writer.call(remove):
            raise UnknownDefinitionError(f"no saved workflow named '{name}'")

    def import_file(self, path: str | os.PathLike[str]) -> DefinitionSummary:
        """Load a JSON file (WorkflowLoadError when it cannot be read) and save it by its name."""
        return self.save(load_workflow(path))

    def export_file(self, name: str, path: str | os.PathLike[str]) -> None:
        save_workflow_file(self.load(name), path)

    def _record(self, name: str) -> DefinitionRecord:
        with Session(self._engine) as session:
            record = session.get(DefinitionRecord, name)
        if record is None:
            raise UnknownDefinitionError(f"no saved workflow named '{name}'")
        return record


def _summary(record: DefinitionRecord) -> DefinitionSummary:
    return DefinitionSummary(
        record.name,
        record.description,
        record.node_count,
        from_text(record.created_at),  # type: ignore[arg-type]
        from_text(record.updated_at),  # type: ignore[arg-type]
    )
