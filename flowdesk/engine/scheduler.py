"""The scheduler: start every node the moment its dependencies allow it.

Readiness is a count of unfinished dependencies per node, copied from the
compiled workflow and counted down as nodes end (no polling, no graph walk
per run). A node whose count reaches zero asks its join rule (trigger_rules.py)
whether it runs; one whose rule can no longer be met is skipped at once, and
its own children decide in turn. Ready nodes wait in a queue only when the run already has
`max_concurrency` nodes in flight. A run's life is described in docs/architecture.md.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import httpx

from flowdesk.engine.cache import CacheEntry, NodeCache, RunCache, complete_success
from flowdesk.engine.clock import RunClock
from flowdesk.engine.context import NodeLog, RunResources
from flowdesk.engine.events import (
    EventStream,
    Listener,
    NodeFinished,
    NodeRetrying,
    NodeStarted,
    RunFinished,
    RunStarted,
)
from flowdesk.engine.execution import (
    NodeFailure,
    NodePlan,
    build_context,
    call_with_retries,
    condition_holds,
    evaluate_map_over,
    log_raised,
    resolve_config,
)
from flowdesk.engine.executor import LOCAL, LOCAL_SESSION, Executor, ExecutorSession
from flowdesk.engine.limits import RunLimits
from flowdesk.engine.mapping import ItemMap
from flowdesk.engine.masking import SecretMask
from flowdesk.engine.plan import CompiledWorkflow, InvalidWorkflowError, compile_workflow
from flowdesk.engine.recorder import NullRecorder, ResultNotRecordable, RunRecorder
from flowdesk.engine.registry import HandlerRegistry
from flowdesk.engine.results import NodeResult, RunResult
from flowdesk.engine.reuse import ReusePlan
from flowdesk.engine.states import NodeState, RunState
from flowdesk.engine.trigger_rules import CONDITION_FALSE, decide, hopeless
from flowdesk.model import WorkflowDefinition
from flowdesk.model.secret_refs import ResolvedSecrets, SecretLookup

log = logging.getLogger(__name__)
DEFAULT_MAX_CONCURRENCY = 32


__all__ = ["DEFAULT_MAX_CONCURRENCY", "InvalidWorkflowError", "WorkflowRun", "run_workflow"]


def now() -> datetime:
    return datetime.now(UTC)


class WorkflowRun:
    """One execution of a workflow. Subscribe to its events, `await execute()`, `cancel()`.

    `previous` is a reuse plan (engine/reuse.py): its nodes are REUSED from the start, with
    the stored output and `reused_from` it names, and never run (resume, run from here).
    """

    def __init__(
        self,
        workflow: WorkflowDefinition | CompiledWorkflow,
        registry: HandlerRegistry | None = None,
        params: Mapping[str, Any] | None = None,
        *,
        run_id: str | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        recorder: RunRecorder | None = None,
        previous: ReusePlan | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: RunClock | None = None,
        limits: RunLimits | None = None,
        executor: Executor | None = None,
        secrets: ResolvedSecrets | None = None,
        cache: NodeCache | None = None,
    ) -> None:
        """`executor` decides where handler calls run (this process when None); everything
        else about the run happens here whatever it is.

        `secrets` holds the values of the secrets the workflow reads (the run service looks
        them up). Every value that leaves a node (output, error, resolved config, retry
        messages, log lines) and the params the run reports have them masked as `***`;
        handlers and templates get the real values."""
        if not isinstance(workflow, CompiledWorkflow):
            workflow = compile_workflow(workflow, registry or HandlerRegistry.default())
        if params is not None and not isinstance(params, Mapping):
            raise ValueError(f"params must be a JSON object, not {type(params).__name__}")
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self.compiled = workflow
        self.definition = workflow.definition
        self.id = run_id or uuid.uuid4().hex
        self.events = EventStream()
        self._recorder: RunRecorder = recorder or NullRecorder()
        self._records = recorder is not None and not isinstance(recorder, NullRecorder)
        """False skips the recorder's per-node calls (a tenth of a no-op node's cost)."""
        self._max_concurrency = max_concurrency
        self._resources = RunResources(transport)
        self._clock = clock or RunClock()
        self._limits = limits or RunLimits()
        self._executor: Executor = executor or LOCAL
        self._session: ExecutorSession = LOCAL_SESSION
        self._plans = workflow.plans
        self._children = workflow.children
        self._waiting_on = dict(workflow.waiting_on)
        self._nodes = {node_id: NodeResult(node_id) for node_id in self._plans}
        self._outputs: dict[str, Any] = {}
        """Outputs of succeeded nodes, masked: what downstream templates and handlers see."""
        self._secrets = SecretLookup(secrets)
        self._cache = RunCache(cache, self._clock, secrets)
        """Nodes with `"cache"` look here before running (engine/cache.py); none without it."""
        self._mask = SecretMask(secrets.values.values() if secrets else ())
        self._params = dict(params or {})
        """The real params, for templates and handlers; `result.params` are masked."""
        for node_id, kept in (previous or {}).items():
            if node_id in self._nodes and kept.result.state.succeeded:
                self._nodes[node_id] = replace(
                    kept.result,
                    node_id=node_id,
                    state=NodeState.REUSED,
                    reused=True,
                    reused_from=kept.source_run_id,
                )
                self._outputs[node_id] = kept.result.output
        self.result = RunResult(
            run_id=self.id,
            workflow=workflow.name,
            state=RunState.PENDING,
            params=self._mask.value(self._params),
            nodes=self._nodes,
            output_node_ids=list(workflow.output_node_ids),
        )
        self._queue: deque[str] = deque()
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._in_handler: set[str] = set()
        self._all_done: asyncio.Future[None] | None = None
        self._cancel_requested = False
        self._unrecorded: Exception | None = None
        """Why the recorder failed mid-run: the run then stops, INTERRUPTED (see RunRecorder)."""

    # -- public API ---------------------------------------------------------------------------

    @property
    def state(self) -> RunState:
        return self.result.state

    @property
    def nodes(self) -> Mapping[str, NodeResult]:
        return self._nodes

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        return self.events.subscribe(listener)

    def cancel(self) -> None:
        """Cancel in-flight nodes (CANCELLED) and skip every node that has not started."""
        if self._cancel_requested or self._unrecorded is not None or self.result.state.is_final:
            return
        self._cancel_requested = True
        self._queue.clear()
        for node_id in list(self._in_handler):
            self._tasks[node_id].cancel()
        for result in self._nodes.values():
            if result.state is NodeState.PENDING:
                self._finish_node(result, NodeState.SKIPPED, error="run cancelled")
        self._maybe_done()

    async def execute(self) -> RunResult:
        if self.result.state is not RunState.PENDING:
            raise RuntimeError("a WorkflowRun executes once; create another to run again")
        loop = asyncio.get_running_loop()
        self._all_done = loop.create_future()
        self.result.state = RunState.RUNNING
        self.result.started_at = now()
        for result in self._nodes.values():
            if result.reused and result.finished_at is None:  # taken from another run: final now
                result.finished_at = self.result.started_at
        try:
            await self._recorder.run_started(self.result)
            if self.compiled.needs_http:
                await self._resources.open_http()
            self._session = await self._executor.open_run(self.id, self.compiled)
            reused = tuple(nid for nid, r in self._nodes.items() if r.reused)
            self.events.emit(
                RunStarted(
                    self.id,
                    self.definition.name,
                    self.result.params,
                    tuple(self._plans),
                    self.result.started_at,
                    reused,
                )
            )
            for node_id in reused:
                self.events.emit(
                    NodeFinished(self.id, node_id, NodeState.REUSED, self._nodes[node_id])
                )
            if self._cancel_requested:
                self._all_done.set_result(None)
            else:
                self._release([n for n, count in self._waiting_on.items() if count == 0])
                self._maybe_done()
            try:
                await asyncio.shield(self._all_done)
            except asyncio.CancelledError:
                self.cancel()
                await self._wait_for_tasks()
                await self._conclude()
                raise
            return await self._conclude()
        finally:
            try:
                await self._session.aclose()
            finally:
                await self._resources.aclose()

    # -- scheduling ---------------------------------------------------------------------------

    def _release(self, ready: list[str]) -> None:
        """Queue newly ready nodes; nodes reused from an earlier execution complete at once."""
        while ready:
            reused = [node_id for node_id in ready if self._nodes[node_id].reused]
            self._queue.extend(node_id for node_id in ready if not self._nodes[node_id].reused)
            ready = [
                child for node_id in reused for child in self._settled(node_id, NodeState.REUSED)
            ]
        self._pump()

    def _settled(self, node_id: str, state: NodeState) -> list[str]:
        """Count `node_id`, final in `state`, off its children's dependencies; the children now
        ready. A child whose join rule can no longer be met is SKIPPED with the reason, and
        counted off its own children in turn (a loop, not recursion: chains can be long)."""
        ready = []
        waiting_on = self._waiting_on
        ended = [(node_id, state)]
        while ended:
            node_id, state = ended.pop()
            for child in self._children[node_id]:
                waiting_on[child] -= 1
                if self._nodes[child].reused:  # final from the start: it only passes the count on
                    if waiting_on[child] == 0:
                        ready.append(child)
                    continue
                if self._nodes[child].state is not NodeState.PENDING:
                    continue  # skipped before all its dependencies ended, or cancelled
                rule = self._plans[child].spec.trigger_rule
                reason = None if state.succeeded else hopeless(rule, node_id, state)
                if reason is None and waiting_on[child] == 0 and rule is not None:
                    deps = self.compiled.dependencies[child]
                    reason = decide(rule, {dep: self._nodes[dep].state for dep in deps})
                if reason is not None:
                    self._finish_node(self._nodes[child], NodeState.SKIPPED, error=reason)
                    ended.append((child, NodeState.SKIPPED))
                elif waiting_on[child] == 0:
                    ready.append(child)
        return ready

    def _pump(self) -> None:
        loop = asyncio.get_running_loop()
        while self._queue and len(self._tasks) < self._max_concurrency:
            node_id = self._queue.popleft()
            # Unnamed: naming a task costs ~5 % of a no-op node; tasks are keyed by node id here.
            self._tasks[node_id] = loop.create_task(self._run_node(node_id))

    def _maybe_done(self) -> None:
        if not self._tasks and not self._queue and self._all_done and not self._all_done.done():
            self._all_done.set_result(None)

    async def _run_node(self, node_id: str) -> None:
        plan = self._plans[node_id]
        result = self._nodes[node_id]
        if result.state is not NodeState.PENDING:  # cancelled between its release and now
            del self._tasks[node_id]
            self._maybe_done()
            return
        result.state = NodeState.RUNNING
        result.started_at = now()
        state, output, error = NodeState.FAILED, None, None
        node_log: NodeLog | None = None
        self._in_handler.add(node_id)
        try:
            if plan.spec.when is not None and not await condition_holds(
                plan, self._params, self._outputs, self._limits, self._secrets
            ):
                raise _ConditionFalse
            if self._records:
                self._recorder.node_started(self.id, result)
            self._node_attempt(result, 1)  # amber from now: its templates may take a while
            if plan.spec.map_over is not None:  # one handler call per item: engine/mapping.py
                if plan.spec.cache is not None and self._cache.enabled:
                    await self._look_in_cache(plan, None)  # the whole output, or a miss
                node_log = NodeLog()
                raise _Mapped(await self._map_items(plan, result, node_log))
            config, resolved = await resolve_config(
                plan, self._params, self._outputs, self._limits, self._secrets
            )
            result.resolved_config = self._mask.value(resolved)
            if plan.spec.cache is not None and self._cache.enabled:
                await self._look_in_cache(plan, result.resolved_config)  # a hit raises _CacheHit
            node_log = NodeLog()
            output, result.attempts = await call_with_retries(
                plan,
                config,
                lambda attempt: build_context(
                    self.id, plan, attempt, self._params, self._outputs, self._resources, node_log
                ),
                lambda attempt: attempt > 1 and self._node_attempt(result, attempt),
                lambda attempt, message, delay: self.events.emit(
                    NodeRetrying(self.id, node_id, attempt, self._mask.text(message), delay, now())
                ),
                self._clock,
                self._limits,
                self._session,
                resolved,
                self._mask,
            )
            state = NodeState.SUCCEEDED
        except _CacheHit as hit:  # final without running: the output an earlier run stored
            state, output, result.attempts = NodeState.REUSED, hit.entry.output, 0
            result.reused_from, result.cached = hit.entry.run_id, True
        except _ConditionFalse:
            state, error, result.started_at = NodeState.SKIPPED, CONDITION_FALSE, None
        except _Mapped as mapped:  # every item final; under on_item_failure "skip", some failed
            state, output = NodeState.SUCCEEDED, mapped.outputs
        except NodeFailure as failure:
            error = str(failure)
        except asyncio.CancelledError:
            state, error = NodeState.CANCELLED, "cancelled"
        except Exception as exc:  # a bug in our own code: fail the node, keep the run going
            log_raised(log, f"node '{node_id}' failed unexpectedly", exc, self._mask)
            error = f"internal error: {type(exc).__name__}: {exc}"
        finally:
            self._in_handler.discard(node_id)
        # The one place a node's values leave it: secrets are masked before anything sees them.
        output, error = self._mask.value(output), self._mask.text(error)
        result.log = self._mask.text(node_log.text()) if node_log is not None else None
        result.state, result.output, result.error = state, output, error
        result.finished_at = now()
        if state is NodeState.SKIPPED:
            pass  # it never ran: written with the run's end, like every SKIPPED node
        elif not await self._record(result):
            # Its outcome is not kept: a resume runs it again, as after a crash.
            result.state, result.error = NodeState.INTERRUPTED, None
        state = result.state
        if self._cache.waiting(node_id):  # it missed: keep what it produced for the next run
            await self._cache.keep(node_id, output, self.id, complete_success(result))
        del self._tasks[node_id]
        self._finish_node(result, state, error=result.error)
        if self._unrecorded is not None:
            pass  # the run is stopping: nothing more starts, and nothing is skipped
        else:
            if state.succeeded:
                self._outputs[node_id] = output
            if not self._cancel_requested:
                self._release(self._settled(node_id, state))
            else:
                self._pump()
        self._maybe_done()

    async def _look_in_cache(self, plan: NodePlan, config: Any) -> None:
        """Raise _CacheHit when the cache holds an output of this handler for this config
        (masked; secrets enter the key as digests), these params and these direct inputs.

        A node with map_over (`config` None) is keyed by its raw config and its resolved list
        instead, and by the outputs its config's templates read (they are not resolved yet)."""
        node_id = plan.node_id
        inputs = self.compiled.dependencies[node_id]
        if config is None:
            values = await evaluate_map_over(
                plan, self._params, self._outputs, self._limits, self._secrets
            )
            config = {"config": plan.spec.config, "map_over": self._mask.value(values)}
            inputs = (*inputs, *sorted(plan.template_refs.difference(inputs)))
        entry = await self._cache.find(
            node_id,
            plan.handler.name,
            plan.spec.cache,
            config,
            {dep: self._outputs.get(dep) for dep in inputs},
            self.result.params,
            plan.secret_refs,
            plan.spec.config,
        )
        if entry is not None:
            raise _CacheHit(entry)

    async def _map_items(self, plan: NodePlan, result: NodeResult, node_log: NodeLog) -> list[Any]:
        """The item outputs of a node with map_over; raises NodeFailure (engine/mapping.py)."""
        return await ItemMap(
            run_id=self.id,
            plan=plan,
            params=self._params,
            outputs=self._outputs,
            limits=self._limits,
            secrets=self._secrets,
            resources=self._resources,
            clock=self._clock,
            session=self._session,
            mask=self._mask,
            emit=self.events.emit,
            recorder=self._recorder if self._records else None,
            max_workers=self._max_concurrency,
            node_log=node_log,
        ).run(result)

    async def _record(self, result: NodeResult) -> bool:
        """Record a finished node; False when the run can no longer be recorded (it stops).

        A result the recorder cannot keep (too large) fails its node, without its output."""
        if self._unrecorded is not None:
            return False
        if not self._records:
            return True
        try:
            await self._recorder.node_finished(self.id, result)
        except ResultNotRecordable as exc:
            result.state, result.error = NodeState.FAILED, str(exc)
            result.output = result.resolved_config = None  # the run's end records it so
        except Exception as exc:
            self._stop_unrecorded(exc)
            return False
        return True

    def _stop_unrecorded(self, error: Exception) -> None:
        """The recorder failed (the database is locked, damaged, full): start nothing more and
        cancel what runs. The run ends INTERRUPTED, as the store will show it, and `execute`
        raises `error` so the front-end can say why."""
        if self._unrecorded is not None:
            return
        self._unrecorded = error
        self._queue.clear()
        for node_id in list(self._in_handler):
            self._tasks[node_id].cancel()

    def _node_attempt(self, result: NodeResult, attempt: int) -> None:
        result.attempts = attempt
        at = result.started_at if attempt == 1 and result.started_at else now()
        self.events.emit(NodeStarted(self.id, result.node_id, attempt, at))

    def _finish_node(self, result: NodeResult, state: NodeState, *, error: str | None) -> None:
        result.state = state
        result.error = error
        if result.finished_at is None:
            result.finished_at = now()
        self.events.emit(NodeFinished(self.id, result.node_id, state, result))

    async def _wait_for_tasks(self) -> None:
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def _conclude(self) -> RunResult:
        if self._unrecorded is None:
            self._settle_states()
        self.result.finished_at = now()
        try:
            if self._unrecorded is None:
                await self._recorder.run_finished(self.result)
        except Exception as exc:
            self._unrecorded = exc
        finally:
            if self._unrecorded is not None:
                # Not recorded to the end: INTERRUPTED, as the store shows it once this process
                # has ended; nodes that never started stay PENDING there and here.
                self.result.state = RunState.INTERRUPTED
            self.events.emit(
                RunFinished(self.id, self.result.state, self.result, self.result.finished_at)
            )
        if self._unrecorded is not None:
            raise self._unrecorded
        return self.result

    def _settle_states(self) -> None:
        """The run's final state from its nodes' (every node is final by now)."""
        stuck = False
        for result in self._nodes.values():
            if not result.state.is_final:  # defensive: nothing should be left, but never hang on it
                self._finish_node(result, NodeState.SKIPPED, error="never became ready")
                stuck = True
        states = {result.state for result in self._nodes.values()}
        if self._cancel_requested:
            self.result.state = RunState.CANCELLED
        elif not stuck and states <= {NodeState.SUCCEEDED, NodeState.REUSED, NodeState.SKIPPED}:
            # Nodes skipped by a condition or a join rule do not fail the run; one skipped
            # because something upstream failed comes with that FAILED node.
            self.result.state = RunState.COMPLETED
        else:
            self.result.state = RunState.FAILED


class _CacheHit(Exception):
    """The node cache holds a fresh output for this execution of the node: it is REUSED."""

    def __init__(self, entry: CacheEntry) -> None:
        super().__init__(entry.run_id)
        self.entry = entry


class _ConditionFalse(Exception):
    """The node's `when` was falsy: it is SKIPPED, not run."""


class _Mapped(Exception):
    """A node with map_over ran its items: it SUCCEEDED with their outputs, in item order."""

    def __init__(self, outputs: list[Any]) -> None:
        super().__init__()
        self.outputs = outputs


async def run_workflow(
    definition: WorkflowDefinition,
    params: Mapping[str, Any] | None = None,
    *,
    registry: HandlerRegistry | None = None,
    listeners: tuple[Listener, ...] = (),
    **options: Any,
) -> RunResult:
    """Run a workflow to the end and return its result (the simplest way to use the engine)."""
    run = WorkflowRun(definition, registry or HandlerRegistry.default(), params, **options)
    for listener in listeners:
        run.subscribe(listener)
    return await run.execute()
