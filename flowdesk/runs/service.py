"""The run service: the one place that starts, resumes, cancels, lists and loads runs.

Every front-end (the editor, the CLI, the REST API) calls it and holds no engine
or store wiring of its own. It keeps one Store per database, opened once (off
the caller's thread when asked), and compiles each workflow once per content,
so building a run costs less than running it. See docs/architecture.md.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from flowdesk.engine import (
    DEFAULT_MAX_CONCURRENCY,
    CompiledWorkflow,
    Executor,
    HandlerRegistry,
    ItemResult,
    Listener,
    ReusePlan,
    RunEvent,
    RunFinished,
    RunLimits,
    RunResult,
    RunState,
    SecretMask,
    WorkflowRun,
)
from flowdesk.model import WorkflowDefinition, parse_workflow
from flowdesk.model.secret_refs import ResolvedSecrets
from flowdesk.runs.compiled import CompiledCache
from flowdesk.runs.connections import SharedConnections
from flowdesk.runs.queue import RunQueue
from flowdesk.runs.reuse import choose_source, reusable_results, run_from_plan
from flowdesk.secrets import SecretStore
from flowdesk.store import (
    CachedOutput,
    DefinitionRepository,
    IdempotencyRepository,
    RunNotResumableError,
    RunSummary,
    Store,
    StoredRun,
    StoreError,
)

log = logging.getLogger(__name__)
RUN_FROM_SEARCH = 50
"""Run from here looks for its stored outputs in at most this many of the newest runs."""


class RunHandle:
    """A run this service started or resumed: subscribe, `await execute()`, `cancel()`."""

    def __init__(self, service: RunService, run: WorkflowRun, *, resumed: bool) -> None:
        self._service = service
        self.run = run
        self.resumed = resumed
        self.source_run_id: str | None = None
        """Run from here: the run whose stored outputs this one reuses (None: none at all)."""
        self._ended = False
        self._waiters: list[asyncio.Future[RunResult]] = []
        run.subscribe(self._on_event)

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
        """Nodes whose stored output this execution keeps (REUSED: they do not run)."""
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
            self._end()

    @property
    def ended(self) -> bool:
        """True once the run's end is recorded (or its execution failed to start)."""
        return self._ended

    async def wait(self) -> RunResult:
        """Wait until the run's end is recorded in the store; its result."""
        if self._ended:
            return self.result
        waiter: asyncio.Future[RunResult] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        return await waiter

    def _on_event(self, event: RunEvent) -> None:
        if isinstance(event, RunFinished):  # emitted once the store has the final state
            self._end()

    def _end(self) -> None:
        self._ended = True
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(self.result)


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
        limits: RunLimits | None = None,
        max_active_runs: int | None = None,
        executor: Executor | None = None,
        share_connections: bool = False,
        secrets: SecretStore | None = None,
    ) -> None:
        """`limits` default to the environment's (FLOWDESK_MAX_VALUE_MB), see `RunLimits`.
        `executor` runs the handler calls of every run (this process when None; Celery
        workers with `flowdesk.scaleout.CeleryExecutor`); the service never closes it."""
        self.registry = registry
        self.limits = limits or _limits_from_env()
        self.db_path = Path(db_path)
        self.max_concurrency = max_concurrency
        self._create = create
        self._transport = transport
        self.executor = executor
        self.secrets = secrets or SecretStore()
        """Where runs look up the secrets their workflow reads (keyring and environment)."""
        self._store: Store | None = None
        self._opening: concurrent.futures.Future[Store] | None = None
        self._compiled = CompiledCache(registry)
        self._active: dict[str, RunHandle] = {}
        self._queue = RunQueue(max_active_runs)
        """Runs handed to `submit`: at most `max_active_runs` executing, the rest waiting."""
        self._watchers: dict[str, list[asyncio.Future[RunHandle]]] = {}
        self._shared: SharedConnections | None = None
        if share_connections and transport is None and _aiohttp_wanted():
            self._shared = SharedConnections()  # a server's runs keep connections alive
            self._transport = self._shared

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

    @property
    def idempotency(self) -> IdempotencyRepository:
        """The REST API's Idempotency-Key answers, kept in this database."""
        return self.store.idempotency

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
        secrets = self._secrets_for(compiled)
        run_id, created = self.store.runs.create_run(
            definition,
            _masked(params, secrets),
            idempotency_key=idempotency_key,
            run_id=uuid.uuid4().hex,
            definition_json=compiled.snapshot_json,
        )
        if not created:  # another process took the key between our check and our insert
            return self.store.runs.load(run_id)
        return self._handle(
            compiled, params, run_id, None, max_concurrency, resumed=False, secrets=secrets
        )

    async def create(self, definition: WorkflowDefinition) -> str:
        """An execution recorded PENDING with a snapshot of `definition`, owned by no process
        until `trigger` (from this or any later process) starts it; its run id.

        Raises InvalidWorkflowError or StoreError before anything is recorded. Awaits the
        store's writer (the event loop goes on meanwhile), as `trigger` does.
        """
        compiled = self.compile(definition)
        run_id = uuid.uuid4().hex
        await self.store.runs.create_unowned(
            definition, run_id=run_id, definition_json=compiled.snapshot_json
        )
        return run_id

    async def trigger(
        self,
        run_id: str,
        params: Mapping[str, Any] | None = None,
        *,
        max_concurrency: int | None = None,
    ) -> RunHandle:
        """Start an execution made by `create`, with these params: it is RUNNING in the store
        at once and executes when `submit`ted (or awaited).

        Raises ValueError (params), UnknownRunError (whole ids only), RunNotPendingError when
        it was triggered already or is not waiting for a trigger, InvalidWorkflowError when its
        snapshot no longer compiles here (it stays PENDING), or another StoreError.
        """
        if params is not None and not isinstance(params, Mapping):
            raise ValueError(f"params must be a JSON object, not {type(params).__name__}")
        # Built before it is taken: a snapshot that no longer compiles here (handlers change)
        # leaves it PENDING, and the secrets it reads are known, so the params are stored
        # masked (a value written once would stay in the WAL). A snapshot never changes while
        # the run is PENDING; `trigger` checks again, atomically, that it still is.
        state, snapshot = self.store.runs.pending_snapshot(run_id)
        if snapshot is None:
            raise RunNotPendingError(run_id, state)
        compiled = self.compile(parse_workflow(snapshot))
        secrets = (  # a keyring may answer slowly: not on the server's loop
            await asyncio.to_thread(self._secrets_for, compiled) if compiled.secret_names else None
        )
        state, taken = await self.store.runs.trigger(run_id, _masked(params, secrets))
        if taken is None:
            raise RunNotPendingError(run_id, state)
        return self._handle(
            compiled, params, run_id, None, max_concurrency, resumed=False, secrets=secrets
        )

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
        if plan.run_id in self._active:  # resumed here already, waiting in the queue
            raise RunNotResumableError(f"run {plan.run_id} is already being resumed")
        if definition is None:
            compiled, keep = self.compile(plan.definition), dict(plan.previous)
        else:
            compiled = self.compile(definition)
            keep = reusable_results(plan.definition, definition, plan.previous)
            self.store.runs.rebind_definition(plan.run_id, definition, keep)
        secrets = self._secrets_for(compiled)
        return self._handle(
            compiled, plan.params, plan.run_id, keep, max_concurrency, resumed=True, secrets=secrets
        )

    def start_from(
        self,
        definition: WorkflowDefinition,
        node_id: str,
        *,
        reuse_run_id: str | None = None,
        params: Mapping[str, Any] | None = None,
        max_concurrency: int | None = None,
    ) -> RunHandle:
        """Run from here: a new run of `definition` that executes `node_id` and everything
        downstream of it, and takes every other node's stored output (REUSED, with the run it
        came from in `node_runs.reused_from`) instead of running it.

        The outputs come from `reuse_run_id` (an id or unique prefix), else from the newest
        run of this workflow that holds them all, unchanged (`runs/reuse.py`). `params` default
        to that run's; given, they must be that run's (outputs may depend on them). Raises
        RunFromRefused (an upstream node has no stored output there, or changed since; other
        params), InvalidWorkflowError, ValueError (params) or StoreError, before anything is
        recorded. A secret in the source run's params is stored masked, so it runs masked.
        """
        if params is not None and not isinstance(params, Mapping):
            raise ValueError(f"params must be a JSON object, not {type(params).__name__}")
        compiled = self.compile(definition)
        secrets = self._secrets_for(compiled)
        wanted = _masked(params, secrets)  # as the store keeps a run's params
        if reuse_run_id is not None:
            source = self.store.runs.load(reuse_run_id)
            plan: ReusePlan = run_from_plan(definition, node_id, source, wanted)
        else:
            candidates = self._latest_runs(definition.name)
            source, plan = choose_source(definition, node_id, candidates, wanted)
        if params is None:
            params = source.result.params if source is not None else {}
        run_id, _ = self.store.runs.create_run(
            definition,
            _masked(params, secrets),
            run_id=uuid.uuid4().hex,
            definition_json=compiled.snapshot_json,
        )
        handle = self._handle(
            compiled, params, run_id, plan, max_concurrency, resumed=False, secrets=secrets
        )
        handle.source_run_id = source.run_id if source is not None else None
        return handle

    def _latest_runs(self, workflow: str) -> Iterator[StoredRun]:
        """This workflow's runs, newest first, loaded one at a time as run from here asks."""
        for summary in self.store.runs.list_runs(workflow=workflow, limit=RUN_FROM_SEARCH):
            yield self.store.runs.load(summary.run_id)

    def _secrets_for(self, compiled: CompiledWorkflow) -> ResolvedSecrets | None:
        """The values of the secrets `compiled` reads, looked up now (each execution anew: they
        are never stored), or None when it reads none."""
        if not compiled.secret_names:
            return None
        return self.secrets.resolve(compiled.secret_names)

    def _handle(
        self,
        compiled: CompiledWorkflow,
        params: Mapping[str, Any] | None,
        run_id: str,
        previous: ReusePlan | None,
        max_concurrency: int | None,
        *,
        resumed: bool,
        secrets: ResolvedSecrets | None = None,
    ) -> RunHandle:
        run = WorkflowRun(
            compiled,
            params=params,
            run_id=run_id,
            previous=previous,
            recorder=self.store.recorder(),
            max_concurrency=max_concurrency or self.max_concurrency,
            transport=self._transport,
            limits=self.limits,
            executor=self.executor,
            secrets=secrets,
            cache=self.store.cache,
        )
        handle = RunHandle(self, run, resumed=resumed)
        self._active[run_id] = handle
        for watcher in self._watchers.pop(run_id, ()):
            if not watcher.done():
                watcher.set_result(handle)
        return handle

    def cancel(self, run_id: str) -> bool:
        """Cancel a run this service is executing or holds in its queue, or an execution made
        by `create` and never triggered (CANCELLED at once); False when it is none of these."""
        if self._queue.cancel(run_id):
            return True
        handle = self._active.get(run_id)
        if handle is None:
            return self.store.runs.cancel_pending(run_id)
        handle.cancel()
        return True

    def submit(self, handle: RunHandle) -> None:
        """Execute `handle` on the running event loop, now or, when `max_active_runs` runs are
        executing already, as soon as one ends (in the order submitted)."""
        self._queue.submit(handle)

    @property
    def queued(self) -> int:
        """Submitted runs waiting for a free slot."""
        return self._queue.waiting

    async def stop_runs(self) -> None:
        """Cancel every submitted run, executing or waiting, and wait until each has recorded
        its end (CANCELLED, or whatever it reached first), then close the shared connections:
        for a server shutting down."""
        await self._queue.stop()
        if self._shared is not None:
            await self._shared.close()

    def active(self, run_id: str) -> RunHandle | None:
        """The handle of a run this service is executing now, if it is one."""
        return self._active.get(run_id)

    async def wait_until_active(self, run_id: str, timeout_s: float) -> RunHandle | None:
        """The run's handle as soon as this service starts or resumes it (before it has sent
        any event), or None after `timeout_s`. Call it on the loop that starts runs."""
        handle = self._active.get(run_id)
        if handle is not None:
            return handle
        watcher: asyncio.Future[RunHandle] = asyncio.get_running_loop().create_future()
        self._watchers.setdefault(run_id, []).append(watcher)
        try:
            return await asyncio.wait_for(watcher, timeout_s)
        except TimeoutError:
            return None
        finally:
            watchers = self._watchers.get(run_id, [])
            if watcher in watchers:
                watchers.remove(watcher)
                if not watchers:
                    del self._watchers[run_id]

    # -- history ----------------------------------------------------------------------------

    def list_runs(
        self,
        *,
        workflow: str | None = None,
        limit: int | None = None,
        state: RunState | None = None,
        starting_after: str | None = None,
    ) -> list[RunSummary]:
        """Newest first; every process's runs, including those still running. With
        `starting_after` (a run id), the runs listed after it (UnknownRunError)."""
        return self.store.runs.list_runs(
            workflow=workflow, limit=limit, state=state, starting_after=starting_after
        )

    def load(self, run_id: str) -> StoredRun:
        """A run as stored, by id or unique prefix (UnknownRunError, AmbiguousRunIdError)."""
        return self.store.runs.load(run_id)

    def load_items(
        self, run_id: str, node_id: str, offset: int = 0, limit: int = 100
    ) -> list[ItemResult]:
        """A page of the items of a node with map_over, in item order (items not final yet
        are PENDING): what the inspector lists. Whole run ids only."""
        return self.store.runs.load_items(run_id, node_id, offset, limit)

    def item_counts(self, run_id: str, node_id: str) -> dict[str, int]:
        """State -> how many items of a node with map_over are in it."""
        return self.store.runs.item_counts(run_id, node_id)

    def get(self, run_id: str) -> StoredRun:
        """A run as stored, by its whole id only (UnknownRunError): what the REST API takes."""
        return self.store.runs.load(run_id, exact=True)

    # -- the node cache ---------------------------------------------------------------------

    def cached_outputs(self, workflow: str | None = None) -> list[CachedOutput]:
        """Entries of the node cache (stored by runs of `workflow`, when given), newest first."""
        return self.store.cache.entries(workflow)

    def clear_cache(self, workflow: str | None = None) -> int:
        """Remove the node cache's entries (those of `workflow`'s runs, when given); how many."""
        return self.store.cache.clear(workflow)


class RunNotPendingError(StoreError):
    """`trigger` on an execution that is not waiting for one; `state` is where it is now."""

    def __init__(self, run_id: str, state: RunState) -> None:
        super().__init__(f"execution {run_id} is {state.value}, not waiting for a trigger")
        self.run_id = run_id
        self.state = state


def _masked(
    params: Mapping[str, Any] | None, secrets: ResolvedSecrets | None
) -> Mapping[str, Any] | None:
    """The params as the store keeps them: a secret's value in them is masked (the run itself
    gets them as given)."""
    if params is None or secrets is None:
        return params
    return SecretMask(secrets.values.values()).value(params)


def _limits_from_env() -> RunLimits:
    try:
        return RunLimits.from_env()
    except ValueError as exc:  # a bad setting should not stop the editor or the server
        log.warning("%s; using the default", exc)
        return RunLimits()


def _aiohttp_wanted() -> bool:
    """The engine's own choice of network layer (engine/context.py): aiohttp unless told."""
    return os.environ.get("FLOWDESK_HTTP_TRANSPORT", "aiohttp") != "httpx"
