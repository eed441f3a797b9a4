"""The SQLite schema as SQLModel tables. Times are ISO-8601 text in UTC, JSON values are text.

Text keeps the file readable with any SQLite tool and lets the writer thread
use plain parameterised SQL for its hot path (see writer.py).
"""

from __future__ import annotations

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

SCHEMA_VERSION = 5
"""1: the first release. 2: runs.resumed_at. 3: idempotency_keys, the REST API's
Idempotency-Key header. 4: node_runs.log. 5: node_runs.reused_from and .cached, node_items
(map_over), node_cache (database.py migrates each version to the next in place)."""
APPLICATION_ID = 0x464C4F57
"""PRAGMA application_id of every FlowDesk database ("FLOW")."""


class DefinitionRecord(SQLModel, table=True):
    """A workflow definition saved by name (the editor's documents)."""

    __tablename__ = "workflow_definitions"

    name: str = Field(primary_key=True)
    description: str | None = None
    definition_json: str
    node_count: int = 0
    created_at: str
    updated_at: str


class RunRecord(SQLModel, table=True):
    """One run: the definition it ran (a snapshot), its params, state, owner and times."""

    __tablename__ = "runs"
    __table_args__ = (
        UniqueConstraint("workflow", "idempotency_key", name="uq_runs_idempotency"),
        Index("ix_runs_created", "created_at"),
        Index("ix_runs_state", "state"),
    )

    id: str = Field(primary_key=True)
    workflow: str
    definition_json: str
    params_json: str
    state: str
    idempotency_key: str | None = None
    owner_pid: int | None = None
    owner_token: str | None = None
    owner_host: str | None = None
    executions: int = 0
    """How many times the run was started (1 + the number of resumes)."""
    created_at: str
    started_at: str | None = None
    """When the run first started; a resume does not move it."""
    resumed_at: str | None = None
    """When the latest resume started (None if never resumed)."""
    finished_at: str | None = None


class NodeRunRecord(SQLModel, table=True):
    """One node of one run: its latest state, attempts, resolved config, output and error."""

    __tablename__ = "node_runs"

    run_id: str = Field(primary_key=True, foreign_key="runs.id", ondelete="CASCADE")
    node_id: str = Field(primary_key=True)
    position: int
    """Index in the definition, so a run is shown in the order its nodes were drawn."""
    state: str
    attempts: int = 0
    resolved_config_json: str | None = None
    output_json: str | None = None
    error: str | None = None
    started_at: str | None = None
    finished_at: str | None = None
    log: str | None = None
    """What its handler wrote for the user (a `python` node's prints and traceback)."""
    reused_from: str | None = None
    """The run whose stored output this node took instead of running (state REUSED)."""
    cached: bool = Field(default=False, sa_column_kwargs={"server_default": "0"})
    """True when that output came from the node cache (`"cache": true`), not run from here."""


class NodeItemRecord(SQLModel, table=True):
    """One item of a node with `map_over`: its own state, attempts, output and error."""

    __tablename__ = "node_items"

    run_id: str = Field(primary_key=True, foreign_key="runs.id", ondelete="CASCADE")
    node_id: str = Field(primary_key=True)
    item_index: int = Field(primary_key=True)
    state: str
    attempts: int = 0
    output_json: str | None = None
    error: str | None = None
    started_at: str | None = None
    finished_at: str | None = None


class NodeCacheRecord(SQLModel, table=True):
    """A cached node output, keyed by a hash of its handler, resolved config and inputs.

    Only the hash of what went in is kept (secrets enter it without being stored)."""

    __tablename__ = "node_cache"
    __table_args__ = (Index("ix_node_cache_created", "created_at"),)

    key: str = Field(primary_key=True)
    handler: str
    output_json: str | None = None
    run_id: str
    """The run that produced the output (kept when that run is deleted)."""
    node_id: str
    created_at: str


class IdempotencyRecord(SQLModel, table=True):
    """A request made with an Idempotency-Key (REST API): what it asked and what it answered.

    One key space for the whole database. `status_code` is NULL while the first request is
    still being answered by its owner process; rows older than a day are purged.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (Index("ix_idempotency_created", "created_at"),)

    key: str = Field(primary_key=True)
    fingerprint: str
    """sha256 of the method, the path and the body: the same key with another request is refused."""
    status_code: int | None = None
    response_json: str | None = None
    owner_pid: int | None = None
    owner_token: str | None = None
    owner_host: str | None = None
    created_at: str


TABLES = [
    DefinitionRecord.__table__,
    RunRecord.__table__,
    NodeRunRecord.__table__,
    IdempotencyRecord.__table__,
    NodeItemRecord.__table__,
    NodeCacheRecord.__table__,
]
TABLE_SINCE = {
    IdempotencyRecord.__tablename__: 3,
    NodeItemRecord.__tablename__: 5,
    NodeCacheRecord.__tablename__: 5,
}
"""Tables added after version 1 -> the schema version that added them."""
