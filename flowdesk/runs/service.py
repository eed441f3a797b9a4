"""The run service: the one place that starts, resumes, cancels, lists and loads runs.

Every front-end (the editor, the CLI, the REST API) calls it and holds no engine
or store wiring of its own. It keeps one Store per database, opened once (off
the caller's thread when asked), and compiles each workflow once per content,
so building a run costs less than running it. See docs/architecture.md.
"""

from __future__ import annotations

import concurrent.futures
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from flowdesk.engine import (
    DEFAULT_MAX_CONCURRENCY,
    CompiledWorkflow,
    HandlerRegistry,
    Listener,
    NodeResult,
    RunResult,
    WorkflowRun,
)
from flowdesk.model import WorkflowDefinition
from flowdesk.runs.compiled import CompiledCache
from flowdesk.runs.reuse import reusable_results
from flowdesk.store import (
    DefinitionRepository,
    RunSummary,
    Store,
    StoredRun,
)


class RunHandle:
    """A run this service started or resumed: subscribe, `await execute()`, `cancel()`."""

    def __init__(self, service: RunService, run: WorkflowRun, *, resumed: bool) -> None:
        self._service = service
        self.run = run
        self.resumed = resumed

    @property
    def run_id(self) -> str:
        return self.run.id

    @property
    def definition(self) -> WorkflowDefinition:
        return self.run.definition

    @property
    def result(self) -> RunResult:
        return self.run.result

    @property
    def reused(self) -> list[str]:
        """Nodes whose stored output this execution keeps (they do not run)."""
        return [node_id for node_id, node in self.run.nodes.items() if node.reused]

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        return self.run.subscribe(listener)

    def cancel(self) -> None:
        self.run.cancel()

    async def execute(self) -> RunResult:
        """Run to the end (on the caller's event loop) and return the result."""
        try:
            return await self.run.execute()
        finally:
            self._service._active.pop(self.run_id, None)


class RunService:
    """Runs of one database. Create one per process and front-end; `close()` when done."""

    def __init__(
        self,
        registry: HandlerRegistry,
        db_path: str | Path,
        *,
        create: bool = True,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.registry = registry
        self.db_path = Path(db_path)
        self.max_concurrency = max_concurrency
        self._create = create
        self._transport = transport
        self._store: Store | None = None
        self._opening: concurrent.futures.Future[Store] | None = None
        self._compiled = CompiledCache(registry)
        self._active: dict[str, RunHandle] = {}

    # -- the store ----------------------------------------------------------------------

    def open_in_background(self) -> None:
        """Start opening the store on a worker thread, so the editor never waits for it."""
        if self._store is None and self._opening is None:
            pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="flowdesk-open")
            self._opening = pool.submit(self._open)
            pool.shutdown(wait=False)

    def _open(self) -> Store:
        return Store.open(self.db_path, create=self._create)

    @property
    def store(self) -> Store:
        """The open store (opened now, or awaited from `open_in_background`); StoreError."""
        if self._store is None:
            opening, self._opening = self._opening, None
            self._store = opening.result() if opening is not None else self._open()
        return self._store

    @property
    def definitions(self) -> DefinitionRepository:
        """Workflows saved by name in this database (the editor's local store)."""
        return self.store.definitions

    def close(self) -> None:
        """Close the store; a run of this process still going is recorded as INTERRUPTED."""
        if self._store is None and self._opening is not None:
            try:
                self._store = self._opening.result()
            except Exception:  # it never opened: nothing to close
                self._opening = None
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> RunService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- compiling --------------------------------------------------------------------------

    def compile(self, definition: WorkflowDefinition) -> CompiledWorkflow:
        """Validated and planned once per content; raises InvalidWorkflowError."""
        return self._compiled.get(definition)

    # -- starting and resuming ----------------------------------------------------------------

    def start(
        self,
        definition: WorkflowDefinition,
        params: Mapping[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        max_concurrency: int | None = None,
    ) -> RunHandle | StoredRun:
        """A new run, recorded as PENDING and ready to execute.

        With an idempotency key seen before for this workflow, the run that has it is
        returned as stored and nothing is created. Raises InvalidWorkflowError, ValueError
        (params) or StoreError before anything is recorded.
        """
        if params is not None and not isinstance(params, Mapping):
            raise ValueError(f"params must be a JSON object, not {type(params).__name__}")
        if idempotency_key is not None:
            existing = self.store.runs.find_by_idempotency_key(definition.name, idempotency_key)
            if existing is not None:
                return existing
        compiled = self.compile(definition)
        run_id, created = self.store.runs.create_run(
            definition,
            params,
            idempotency_key=idempotency_key,
            run_id=uuid.uuid4().hex,
            definition_json=compiled.snapshot_json,
        )
        if not created:  # another process took the key between our check and our insert
            return self.store.runs.load(run_id)
        return self._handle(compiled, params, run_id, None, max_concurrency, resumed=False)

    def resume(
        self,
        run_id: str,
        *,
        definition: WorkflowDefinition | None = None,
        max_concurrency: int | None = None,
    ) -> RunHandle:
        """Continue a FAILED, CANCELLED or INTERRUPTED run; nodes that succeeded keep their
        output and do not run again.

        Without `definition` the run's own snapshot runs ("Resume"). With it ("Resume with
        current workflow") only succeeded nodes unchanged in `definition`, together with
        everything upstream of them, are kept; everything else runs as `definition` says.
        Raises RunNotResumableError, InvalidWorkflowError or another StoreError.
        """
        plan = self.store.runs.prepare_resume(run_id)
        if definition is None:
            compiled, keep = self.compile(plan.definition), plan.previous
        else:
            compiled = self.compile(definition)
            keep = reusable_results(plan.definition, definition, plan.previous)
            self.store.runs.rebind_definition(plan.run_id, definition, keep)
        return self._handle(compiled, plan.params, plan.run_id, keep, max_concurrency, resumed=True)

    def _handle(
        self,
        compiled: CompiledWorkflow,
        params: Mapping[str, Any] | None,
        run_id: str,
        previous: Mapping[str, NodeResult] | None,
        max_concurrency: int | None,
        *,
        resumed: bool,
    ) -> RunHandle:
        run = WorkflowRun(
            compiled,
            params=params,
            run_id=run_id,
            previous=previous,
            recorder=self.store.recorder(),
            max_concurrency=max_concurrency or self.max_concurrency,
            transport=self._transport,
        )
        handle = RunHandle(self, run, resumed=resumed)
        self._active[run_id] = handle
        return handle

    def cancel(self, run_id: str) -> bool:
        """Cancel a run this service is executing; False when it is not one of them."""
        handle = self._active.get(run_id)
        if handle is None:
            return False
        handle.cancel()
        return True

    def active(self, run_id: str) -> RunHandle | None:
        """The handle of a run this service is executing now, if it is one."""
        return self._active.get(run_id)

    # -- history ----------------------------------------------------------------------------

    def list_runs(
        self, *, workflow: str | None = None, limit: int | None = None
    ) -> list[RunSummary]:
        """Newest first; every process's runs, including those still running."""
        return self.store.runs.list_runs(workflow=workflow, limit=limit)

    def load(self, run_id: str) -> StoredRun:
        """A run as stored, by id or unique prefix (UnknownRunError, AmbiguousRunIdError)."""
        return self.store.runs.load(run_id)
