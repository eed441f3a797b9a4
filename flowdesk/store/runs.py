"""Run history: create, list and load runs, plan resumes, find runs whose process died.

Writes are operations handed to the writer thread; reads use SQLModel sessions.
Stored runs come back as the engine's own `RunResult`, so `runs show --json`
prints exactly what `run --json` printed.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, and_, or_
from sqlmodel import Session, col, select

from flowdesk.engine import NodeState, RunState, StoredOutput, kept_by_resume
from flowdesk.engine.results import ItemResult, NodeResult, RunResult, seconds_between
from flowdesk.model import WorkflowDefinition, WorkflowLoadError, dump_snapshot, parse_workflow
from flowdesk.store.codec import from_json_text, from_text, to_text, utc_now
from flowdesk.store.errors import (
    AmbiguousRunIdError,
    CorruptDatabaseError,
    RunNotResumableError,
    StoreError,
    UnknownRunError,
)
from flowdesk.store.items import item_counts, load_items
from flowdesk.store.owner import ProcessIdentity, is_alive
from flowdesk.store.recorder import interrupt_nodes
from flowdesk.store.tables import NodeRunRecord, RunRecord
from flowdesk.store.writer import Writer

LIVE_STATES = (RunState.PENDING.value, RunState.RUNNING.value)


@dataclass(frozen=True)
class RunSummary:
    """One line of `runs list`."""

    run_id: str
    workflow: str
    state: RunState
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    params: dict[str, Any] | None = None
    resumed_at: datetime | None = None
    """When the latest resume started; `started_at` stays the first start."""

    @property
    def duration_s(self) -> float | None:
        """How long the latest execution took (the resume, if there was one)."""
        return seconds_between(self.resumed_at or self.started_at, self.finished_at)

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "workflow": self.workflow,
            "status": self.state.value,
            "started_at": to_text(self.started_at),
            "finished_at": to_text(self.finished_at),
        }


@dataclass(frozen=True)
class StoredRun:
    """A run as stored: its result (the engine's shape) plus what only the store knows."""

    result: RunResult
    definition: WorkflowDefinition
    idempotency_key: str | None
    created_at: datetime
    executions: int
    owner: ProcessIdentity | None
    resumed_at: datetime | None = None

    @property
    def run_id(self) -> str:
        return self.result.run_id

    @property
    def state(self) -> RunState:
        return self.result.state


@dataclass(frozen=True)
class ResumePlan:
    """What `WorkflowRun(definition, registry, params, run_id=..., previous=...)` needs."""

    run_id: str
    definition: WorkflowDefinition
    params: dict[str, Any]
    previous: dict[str, StoredOutput]
    """The reuse plan of a plain resume: every node that succeeded or was reused."""

    @property
    def reused(self) -> list[str]:
        return list(self.previous)


class RunRepository:
    def __init__(self, engine: Engine, writer: Writer, identity: ProcessIdentity) -> None:
        self._engine = engine
        self._writer = writer
        self._identity = identity

    # -- writing --------------------------------------------------------------------------

    def create_run(
        self,
        definition: WorkflowDefinition,
        params: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        run_id: str | None = None,
        definition_json: str | None = None,
    ) -> tuple[str, bool]:
        """(run id, created). With a key seen before for this workflow: (that run's id, False).

        `definition_json` is the snapshot to store when the caller has it already."""
        return self._writer.call(
            self._creation(definition, params, idempotency_key, run_id, definition_json)
        )

    async def create_unowned(
        self, definition: WorkflowDefinition, *, run_id: str, definition_json: str
    ) -> None:
        """A PENDING run with no owner: it waits for `trigger` from any process (the REST API's
        executions), and no process's death makes it INTERRUPTED."""
        await self._writer.call_async(
            self._creation(definition, None, None, run_id, definition_json, owned=False)
        )

    def _creation(
        self,
        definition: WorkflowDefinition,
        params: Mapping[str, Any] | None,
        idempotency_key: str | None,
        run_id: str | None,
        definition_json: str | None,
        *,
        owned: bool = True,
    ) -> Callable[[sqlite3.Connection], tuple[str, bool]]:
        """The writer operation that inserts a run and its node rows."""
        new_id = run_id or uuid.uuid4().hex
        definition_json = definition_json or dump_snapshot(definition)
        params_json = json.dumps(dict(params or {}), separators=(",", ":"))
        identity = self._identity
        owner = (identity.pid, identity.start_token, identity.host) if owned else (None,) * 3
        created_at = to_text(utc_now())
        nodes = [(new_id, node.id, i) for i, node in enumerate(definition.nodes)]

        def create(connection: sqlite3.Connection) -> tuple[str, bool]:
            if idempotency_key is not None:
                found = connection.execute(
                    "SELECT id FROM runs WHERE workflow = ? AND idempotency_key = ?",
                    (definition.name, idempotency_key),
                ).fetchone()
                if found:
                    return found[0], False
            connection.execute(
                "INSERT INTO runs (id, workflow, definition_json, params_json, state, "
                "idempotency_key, owner_pid, owner_token, owner_host, executions, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
                (
                    new_id,
                    definition.name,
                    definition_json,
                    params_json,
                    RunState.PENDING.value,
                    idempotency_key,
                    *owner,
                    created_at,
                ),
            )
            connection.executemany(
                "INSERT INTO node_runs (run_id, node_id, position, state, attempts) "
                f"VALUES (?, ?, ?, '{NodeState.PENDING.value}', 0)",
                nodes,
            )
            return new_id, True

        return create

    def rebind_definition(
        self, run_id: str, definition: WorkflowDefinition, keep: Collection[str]
    ) -> None:
        """Make `definition` the run's snapshot before a resume with the current workflow.

        Node rows follow it: nodes in `keep` keep their stored result, other existing nodes
        are reset to PENDING, new nodes are added and nodes no longer in it are dropped.
        """
        definition_json = dump_snapshot(definition)
        kept = frozenset(keep)

        def rebind(connection: sqlite3.Connection) -> None:
            connection.execute(
                "UPDATE runs SET definition_json = ?, workflow = ? WHERE id = ?",
                (definition_json, definition.name, run_id),
            )
            stored = {
                node_id
                for (node_id,) in connection.execute(
                    "SELECT node_id FROM node_runs WHERE run_id = ?", (run_id,)
                )
            }
            wanted = {node.id for node in definition.nodes}
            connection.executemany(
                "DELETE FROM node_runs WHERE run_id = ? AND node_id = ?",
                [(run_id, node_id) for node_id in stored - wanted],
            )
            for position, node in enumerate(definition.nodes):
                if node.id not in stored:
                    connection.execute(
                        "INSERT INTO node_runs (run_id, node_id, position, state, attempts) "
                        "VALUES (?, ?, ?, ?, 0)",
                        (run_id, node.id, position, NodeState.PENDING.value),
                    )
                elif node.id in kept:
                    connection.execute(
                        "UPDATE node_runs SET position = ? WHERE run_id = ? AND node_id = ?",
                        (position, run_id, node.id),
                    )
                else:
                    connection.execute(
                        "UPDATE node_runs SET position = ?, state = ?, attempts = 0, "
                        "resolved_config_json = NULL, output_json = NULL, error = NULL, "
                        "started_at = NULL, finished_at = NULL, log = NULL, "
                        "reused_from = NULL, cached = 0 WHERE run_id = ? AND node_id = ?",
                        (position, NodeState.PENDING.value, run_id, node.id),
                    )
            # Items of a mapped node that runs again under another definition are not kept:
            # their outputs came from what may have changed (a plain resume keeps them).
            connection.executemany(
                "DELETE FROM node_items WHERE run_id = ? AND node_id = ?",
                [(run_id, node_id) for node_id in sorted(stored - kept)],
            )

        self._writer.call(rebind)

    async def trigger(
        self, run_id: str, params: Mapping[str, Any] | None
    ) -> tuple[RunState, str | None]:
        """Take an unowned PENDING run (`create_run(..., owned=False)`) for this process: it
        becomes RUNNING with these params, waiting to be claimed by its execution here.

        (state before, the stored snapshot) when taken; (its state, None) when it is not an
        unowned PENDING run (triggered already, or another process's). UnknownRunError.
        """
        params_json = json.dumps(dict(params or {}), separators=(",", ":"))
        owner = self._identity

        def take(connection: sqlite3.Connection) -> tuple[str, str | None] | None:
            row = connection.execute(
                "SELECT state, owner_pid, definition_json FROM runs WHERE id = ?", (run_id,)
            ).fetchone()
            if row is None:
                return None
            state, owner_pid, definition_json = row
            if state != RunState.PENDING.value or owner_pid is not None:
                return state, None
            connection.execute(
                "UPDATE runs SET state = ?, params_json = ?, owner_pid = ?, owner_token = ?, "
                "owner_host = ? WHERE id = ?",
                (
                    RunState.RUNNING.value,
                    params_json,
                    owner.pid,
                    owner.start_token,
                    owner.host,
                    run_id,
                ),
            )
            return state, definition_json

        taken = await self._writer.call_async(take)
        if taken is None:
            raise UnknownRunError(f"no run with id '{run_id}'")
        return RunState(taken[0]), taken[1]

    def pending_snapshot(self, run_id: str) -> tuple[RunState, str | None]:
        """(its state, the definition it is bound to) for an unowned PENDING run waiting for
        a trigger; (its state, None) for any other run (whole ids only). UnknownRunError."""
        with Session(self._engine) as session:
            record = session.get(RunRecord, run_id)
        if record is None:
            raise UnknownRunError(f"no run with id '{run_id}'")
        state = RunState(record.state)
        waiting = state is RunState.PENDING and record.owner_pid is None
        return state, record.definition_json if waiting else None

    def cancel_pending(self, run_id: str) -> bool:
        """CANCELLED for an unowned PENDING run that was never triggered (its nodes SKIPPED);
        False when the run is not such a run."""
        finished_at = to_text(utc_now())

        def cancel(connection: sqlite3.Connection) -> bool:
            cursor = connection.execute(
                "UPDATE runs SET state = ?, finished_at = ? "
                "WHERE id = ? AND state = ? AND owner_pid IS NULL",
                (RunState.CANCELLED.value, finished_at, run_id, RunState.PENDING.value),
            )
            if not cursor.rowcount:
                return False
            connection.execute(
                "UPDATE node_runs SET state = ?, error = 'run cancelled', finished_at = ? "
                "WHERE run_id = ? AND state = ?",
                (NodeState.SKIPPED.value, finished_at, run_id, NodeState.PENDING.value),
            )
            return True

        return bool(self._writer.call(cancel))

    def recover_interrupted(self) -> list[str]:
        """Mark INTERRUPTED every PENDING/RUNNING run whose owning process has ended."""
        with Session(self._engine) as session:
            live = session.exec(select(RunRecord).where(col(RunRecord.state).in_(LIVE_STATES)))
            dead = [
                (record.id, record.owner_pid, record.owner_token)
                for record in live
                # An unowned PENDING run waits for a trigger; no process's death concerns it.
                if record.owner_pid is not None
                and not is_alive(_owner(record), here=self._identity)  # type: ignore[arg-type]
            ]
        if not dead:
            return []

        def mark(connection: sqlite3.Connection) -> list[str]:
            marked = []
            for run_id, pid, token in dead:
                cursor = connection.execute(
                    "UPDATE runs SET state = ? WHERE id = ? AND state IN (?, ?) "
                    "AND owner_pid IS ? AND owner_token IS ?",
                    (RunState.INTERRUPTED.value, run_id, *LIVE_STATES, pid, token),
                )
                if cursor.rowcount:
                    marked.append(run_id)
            interrupt_nodes(connection, marked)
            return marked

        return self._writer.call(mark)

    # -- reading --------------------------------------------------------------------------

    def resolve_id(self, id_or_prefix: str, *, exact: bool = False) -> str:
        """The full id of the run with this id, or the only run whose id starts with it.
        With `exact` (the REST API takes whole ids only) the id as given, for the caller's
        own look-up, which says whether it exists."""
        text = id_or_prefix if exact else id_or_prefix.strip()
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # bytes that were not UTF-8 (argv): SQLite cannot take them
            raise UnknownRunError(f"no run with id '{id_or_prefix}'") from None
        if exact:
            return text
        with Session(self._engine) as session:
            if text and session.get(RunRecord, text) is not None:
                return text
            pattern = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            matches = session.exec(
                select(RunRecord.id).where(col(RunRecord.id).like(pattern, escape="\\")).limit(6)
            ).all()
        if not text or not matches:
            raise UnknownRunError(f"no run with id '{id_or_prefix}'")
        if len(matches) > 1:
            shown = ", ".join(matches[:5])
            raise AmbiguousRunIdError(
                f"run id prefix '{id_or_prefix}' matches several runs ({shown}…); give more of it"
            )
        return matches[0]

    def list_runs(
        self,
        *,
        limit: int | None = None,
        workflow: str | None = None,
        state: RunState | None = None,
        starting_after: str | None = None,
    ) -> list[RunSummary]:
        """Newest first; only the runs of `workflow` (and in `state`) when given; with
        `starting_after`, only runs listed after that one (a page; UnknownRunError)."""
        with Session(self._engine) as session:
            query = select(RunRecord).order_by(
                col(RunRecord.created_at).desc(), col(RunRecord.id).desc()
            )
            if workflow is not None:
                query = query.where(RunRecord.workflow == workflow)
            if state is not None:
                query = query.where(RunRecord.state == state.value)
            if starting_after is not None:
                cursor = session.get(RunRecord, starting_after)
                if cursor is None:
                    raise UnknownRunError(f"no run with id '{starting_after}'")
                query = query.where(
                    or_(
                        col(RunRecord.created_at) < cursor.created_at,
                        and_(
                            col(RunRecord.created_at) == cursor.created_at,
                            col(RunRecord.id) < cursor.id,
                        ),
                    )
                )
            if limit is not None:
                query = query.limit(limit)
            return [_summary(record) for record in session.exec(query)]

    def load(self, id_or_prefix: str, *, exact: bool = False) -> StoredRun:
        run_id = self.resolve_id(id_or_prefix, exact=exact)
        with Session(self._engine) as session:
            record = session.get(RunRecord, run_id)
            if record is None:
                raise UnknownRunError(f"no run with id '{id_or_prefix}'")
            rows = session.exec(
                select(NodeRunRecord)
                .where(NodeRunRecord.run_id == run_id)
                .order_by(col(NodeRunRecord.position))
            ).all()
        try:
            definition = parse_workflow(record.definition_json)
        except WorkflowLoadError as exc:
            raise StoreError(f"run {run_id}: its stored definition cannot be read: {exc}") from None
        with _decoding(run_id):
            return _stored_run(record, rows, definition)

    def load_items(
        self, run_id: str, node_id: str, offset: int = 0, limit: int = 100
    ) -> list[ItemResult]:
        """Items `offset` .. `offset + limit - 1` of a node with map_over, in item order; items
        not final yet are PENDING (whole run ids only; [] for a node that never mapped)."""
        return load_items(self._engine, run_id, node_id, offset, limit)

    def item_counts(self, run_id: str, node_id: str) -> dict[str, int]:
        """State -> number of items of a node with map_over ({} for a node that never mapped)."""
        return item_counts(self._engine, run_id, node_id)

    def find_by_idempotency_key(self, workflow: str, key: str) -> StoredRun | None:
        with Session(self._engine) as session:
            run_id = session.exec(
                select(RunRecord.id).where(
                    RunRecord.workflow == workflow, RunRecord.idempotency_key == key
                )
            ).first()
        return self.load(run_id) if run_id else None

    def prepare_resume(self, id_or_prefix: str) -> ResumePlan:
        """What a resumed execution needs; refuses COMPLETED runs and runs of a live process."""
        stored = self.load(id_or_prefix)
        state = stored.state
        if state.value in LIVE_STATES:
            if stored.owner and is_alive(stored.owner, here=self._identity):
                raise RunNotResumableError(
                    f"run {stored.run_id} is still {state.value} in process {stored.owner.pid} "
                    f"on {stored.owner.host}; it can be resumed only after it ends"
                )
            self.recover_interrupted()
            stored = self.load(stored.run_id)
            state = stored.state
        if not state.resumable:
            raise RunNotResumableError(
                f"run {stored.run_id} is {state.value}; there is nothing to resume"
            )
        return ResumePlan(
            run_id=stored.run_id,
            definition=stored.definition,
            params=stored.result.params,
            previous=kept_by_resume(stored.run_id, stored.result.nodes),
        )


@contextmanager
def _decoding(run_id: str) -> Iterator[None]:
    """A stored value that does not decode (a time, a state, JSON) can only come from a page
    damaged in a way SQLite does not notice: say so, in one line."""
    try:
        yield
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise CorruptDatabaseError(
            f"run {run_id}: its stored record is damaged and cannot be read "
            f"({type(exc).__name__}: {exc})"
        ) from None


def _summary(record: RunRecord) -> RunSummary:
    with _decoding(record.id):
        return RunSummary(
            record.id,
            record.workflow,
            RunState(record.state),
            from_text(record.created_at),  # type: ignore[arg-type]
            from_text(record.started_at),
            from_text(record.finished_at),
            from_json_text(record.params_json),
            from_text(record.resumed_at),
        )


def _stored_run(
    record: RunRecord, rows: Sequence[NodeRunRecord], definition: WorkflowDefinition
) -> StoredRun:
    result = RunResult(
        run_id=record.id,
        workflow=record.workflow,
        state=RunState(record.state),
        params=from_json_text(record.params_json) or {},
        nodes={row.node_id: _node_result(row) for row in rows},
        output_node_ids=[n.id for n in definition.nodes if n.handler == "output"],
        started_at=from_text(record.started_at),
        finished_at=from_text(record.finished_at),
    )
    return StoredRun(
        result=result,
        definition=definition,
        idempotency_key=record.idempotency_key,
        created_at=from_text(record.created_at),  # type: ignore[arg-type]
        executions=record.executions,
        owner=_owner(record),
        resumed_at=from_text(record.resumed_at),
    )


def _owner(record: RunRecord) -> ProcessIdentity | None:
    if record.owner_pid is None:
        return None
    return ProcessIdentity(record.owner_pid, record.owner_token, record.owner_host or "")


def _node_result(row: NodeRunRecord) -> NodeResult:
    return NodeResult(
        node_id=row.node_id,
        state=NodeState(row.state),
        attempts=row.attempts,
        output=from_json_text(row.output_json),
        error=row.error,
        resolved_config=from_json_text(row.resolved_config_json),
        started_at=from_text(row.started_at),
        finished_at=from_text(row.finished_at),
        log=row.log,
        reused_from=row.reused_from,
        cached=bool(row.cached),
    )
