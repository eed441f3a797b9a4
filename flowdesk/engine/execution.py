"""Running one node: resolve its templates, validate its config, call the handler with retries
and a timeout, and check that the output is JSON."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from flowdesk.engine.clock import RunClock
from flowdesk.engine.context import HandlerError, NodeContext, NodeLog, RunResources
from flowdesk.engine.executor import LOCAL_SESSION, ExecutorError, ExecutorSession
from flowdesk.engine.limits import MAX_VALUE_ENV, RunLimits
from flowdesk.engine.masking import SecretMask
from flowdesk.engine.registry import HandlerSpec
from flowdesk.model import NodeSpec, TemplateError, referenced_names
from flowdesk.model.secret_refs import SECRETS, SecretLookup
from flowdesk.model.template_limits import MAX_INT_DIGITS, TemplateBudget
from flowdesk.model.templates import (
    ITEM_NAMES,
    PARAMS,
    iter_templates,
    referenced_secrets,
    resolve_templates,
    runs_long,
)

log = logging.getLogger(__name__)


class NodeFailure(Exception):
    """A node failed for a reason worth showing as is. `retryable` is False when trying again
    cannot help (a bad template, config or output)."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


@dataclass(frozen=True)
class NodePlan:
    """Everything about a node that does not change during a run, computed once."""

    spec: NodeSpec
    handler: HandlerSpec
    template_refs: frozenset[str]
    """Upstream node ids the config's templates use (validation checked they are ancestors)."""
    static_config: BaseModel | None
    """The validated config when it holds no templates (the common case: validate once)."""
    templates_run_long: bool = False
    """Its templates have loops or macros: they are evaluated on a worker thread."""
    secret_refs: frozenset[str] = frozenset()
    """The secrets its templates read (`secrets.NAME`), its `when` included."""
    condition_refs: frozenset[str] = frozenset()
    """Upstream node ids its `when` uses."""
    map_refs: frozenset[str] = frozenset()
    """Upstream node ids its `map_over` uses (engine/mapping.py)."""

    @classmethod
    def build(cls, spec: NodeSpec, handler: HandlerSpec) -> NodePlan:
        has_templates = any(True for _ in iter_templates(spec.config))
        static = None if has_templates else handler.config_model.model_validate(spec.config)
        refs = referenced_names(spec.config) - {PARAMS, SECRETS} if has_templates else frozenset()
        secrets = referenced_secrets(spec.config) if has_templates else frozenset()
        long = has_templates and runs_long(spec.config)
        condition_refs: frozenset[str] = frozenset()
        if spec.when is not None:
            condition_refs = referenced_names(spec.when) - {PARAMS, SECRETS}
            secrets |= referenced_secrets(spec.when)
        map_refs: frozenset[str] = frozenset()
        if spec.map_over is not None:
            refs -= ITEM_NAMES  # the current item, given per item (engine/mapping.py)
            map_refs = referenced_names(spec.map_over) - {PARAMS, SECRETS}
            secrets |= referenced_secrets(spec.map_over)
        return cls(spec, handler, frozenset(refs), static, long, secrets, condition_refs, map_refs)

    @property
    def node_id(self) -> str:
        return self.spec.id

    @property
    def max_attempts(self) -> int:
        return self.spec.retry.max_attempts if self.spec.retry else 1

    def backoff_delay(self, failed_attempt: int, rng: random.Random) -> float:
        """Exponential backoff with jitter: base * 2^(n-1), scaled by a random 0.5-1.5."""
        base = self.spec.retry.backoff_s if self.spec.retry else 0.0
        return base * 2 ** (failed_attempt - 1) * rng.uniform(0.5, 1.5)


async def resolve_config(
    plan: NodePlan,
    params: Mapping[str, Any],
    outputs: Mapping[str, Any],
    limits: RunLimits | None = None,
    secrets: SecretLookup | None = None,
    item: Mapping[str, Any] | None = None,
) -> tuple[BaseModel, dict[str, Any]]:
    """The handler's config model instance and the resolved config as plain data.

    Templates are evaluated within the node's bounds (see `_evaluate`). `secrets` gives the
    values of the run's secrets (none are set without it). `item` holds `item` and
    `item_index` for one item of a mapped node.
    """
    if plan.static_config is not None:
        return plan.static_config, plan.spec.config
    resolved = await _evaluate(
        plan, plan.spec.config, "config", plan.template_refs, plan.templates_run_long,
        params, outputs, limits, secrets, item,
    )  # fmt: skip
    try:
        return plan.handler.config_model.model_validate(resolved), resolved
    except ValidationError as exc:
        raise NodeFailure(_config_error(exc), retryable=False) from None


async def condition_holds(
    plan: NodePlan,
    params: Mapping[str, Any],
    outputs: Mapping[str, Any],
    limits: RunLimits | None = None,
    secrets: SecretLookup | None = None,
) -> bool:
    """Whether the node's `when` is truthy (jinja truthiness of its value); True without one.

    Evaluated within the same bounds as config templates; a template error raises
    NodeFailure (the node fails). A skipped upstream node is `none` in it."""
    if plan.spec.when is None:
        return True
    value = await _evaluate(
        plan, plan.spec.when, "when", plan.condition_refs, runs_long(plan.spec.when),
        params, outputs, limits, secrets,
    )  # fmt: skip
    return bool(value)


async def evaluate_map_over(
    plan: NodePlan,
    params: Mapping[str, Any],
    outputs: Mapping[str, Any],
    limits: RunLimits | None = None,
    secrets: SecretLookup | None = None,
) -> Any:
    """The value of the node's `map_over` (the caller checks it is a list), evaluated within
    the same bounds as config templates; a template error raises NodeFailure."""
    assert plan.spec.map_over is not None
    return await _evaluate(
        plan, plan.spec.map_over, "map_over", plan.map_refs, runs_long(plan.spec.map_over),
        params, outputs, limits, secrets,
    )  # fmt: skip


async def _evaluate(
    plan: NodePlan,
    value: Any,
    path: str,
    refs: frozenset[str],
    on_thread: bool,
    params: Mapping[str, Any],
    outputs: Mapping[str, Any],
    limits: RunLimits | None,
    secrets: SecretLookup | None,
    extra: Mapping[str, Any] | None = None,
) -> Any:
    """`value` (a node's config, `when` or `map_over`) with its templates evaluated, within the
    node's timeout (or the run's template default) and the run's size limit; NodeFailure on
    error. `extra` adds names (a mapped node's current item).

    Templates with loops run on a worker thread, so the event loop (and the editor) stays
    responsive; cancelling the node stops them at their next loop step or call."""
    limits = limits or RunLimits()
    # An upstream node that did not succeed (skipped, or failed under a join rule) is `none`.
    context = {PARAMS: params, **{ref: outputs.get(ref) for ref in refs}}
    if plan.secret_refs:
        context[SECRETS] = secrets or SecretLookup()
    if extra:
        context.update(extra)
    budget = TemplateBudget(
        max_bytes=limits.max_value_bytes,
        timeout_s=plan.spec.timeout_s or limits.template_timeout_s,
    )
    try:
        if on_thread:
            return await _on_worker_thread(
                lambda: resolve_templates(value, context, path, budget), budget
            )
        return resolve_templates(value, context, path, budget)
    except TemplateError as exc:
        raise NodeFailure(str(exc), retryable=False) from None


async def _on_worker_thread(evaluate: Callable[[], Any], budget: TemplateBudget) -> Any:
    try:
        return await asyncio.to_thread(evaluate)
    except asyncio.CancelledError:
        budget.stop()  # the thread cannot be killed: it ends at its next deadline check
        raise


def _config_error(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in ("config", *error["loc"]))
        parts.append(f"{where}: {error['msg']} (after templates: {error.get('input')!r})")
    return "; ".join(parts)


async def call_with_retries(
    plan: NodePlan,
    config: BaseModel,
    make_context: Callable[[int], NodeContext],
    on_attempt: Callable[[int], None],
    on_retry: Callable[[int, str, float], None],
    clock: RunClock | None = None,
    limits: RunLimits | None = None,
    session: ExecutorSession | None = None,
    resolved: Mapping[str, Any] | None = None,
    mask: SecretMask | None = None,
) -> tuple[Any, int]:
    """The handler's output and the number of attempts it took; raises NodeFailure.

    Backoff waits and their jitter come from `clock` (the run's; a real one when None).
    Each attempt is made through `session` (the run's executor; in this process when None),
    given `config` and the same as plain data, `resolved`. `mask` hides the run's secrets in
    what is logged here (the caller masks the failures it is given).
    """
    max_bytes = (limits or RunLimits()).max_value_bytes
    session = session or LOCAL_SESSION
    data = plan.spec.config if resolved is None else resolved
    attempt = 0
    while True:
        attempt += 1
        on_attempt(attempt)
        try:
            output = await _call_once(plan, config, data, make_context(attempt), session, mask)
            check_json(output, max_bytes)
            return output, attempt
        except NodeFailure as failure:
            if not failure.retryable or attempt >= plan.max_attempts:
                raise NodeFailure(
                    _with_attempts(str(failure), attempt), retryable=failure.retryable
                ) from None
            clock = clock or RunClock()
            delay = plan.backoff_delay(attempt, clock.random)
            on_retry(attempt, str(failure), delay)
            await clock.sleep(delay)


def _with_attempts(message: str, attempts: int) -> str:
    return f"{message} (after {attempts} attempts)" if attempts > 1 else message


async def _call_once(
    plan: NodePlan,
    config: BaseModel,
    resolved: Mapping[str, Any],
    context: NodeContext,
    session: ExecutorSession,
    mask: SecretMask | None = None,
) -> Any:
    timeout_s = plan.spec.timeout_s
    try:
        if timeout_s is None:
            return await session.call(plan.handler, config, resolved, context)
        async with asyncio.timeout(timeout_s) as scope:
            return await session.call(plan.handler, config, resolved, context)
    except ExecutorError as exc:
        raise NodeFailure(str(exc), retryable=False) from None
    except HandlerError as exc:
        raise NodeFailure(str(exc), retryable=True) from None
    except TimeoutError as exc:
        if timeout_s is not None and scope.expired():
            raise NodeFailure(f"timed out after {timeout_s:g} s", retryable=True) from None
        raise NodeFailure(f"TimeoutError: {exc}", retryable=True) from None
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log_raised(log, f"handler '{plan.handler.name}' of node '{plan.node_id}' raised", exc, mask)
        raise NodeFailure(f"{type(exc).__name__}: {exc}", retryable=True) from None


def log_raised(
    logger: logging.Logger, what: str, exc: BaseException, mask: SecretMask | None
) -> None:
    """Log an exception a node raised, as `log.exception` would. With secrets in the run its
    text and traceback are masked first, so no value reaches a log line."""
    if not mask:
        logger.error("%s", what, exc_info=exc)
        return
    trace = "".join(traceback.format_exception(exc))
    logger.error("%s: %s", what, mask.text(f"{type(exc).__name__}: {exc}"))
    logger.debug("%s", mask.text(trace))


def check_json(output: Any, max_bytes: int | None = None) -> None:
    """Outputs are stored and passed on as JSON: refuse anything else, or too big, now."""
    max_bytes = max_bytes or RunLimits().max_value_bytes
    if output is None or isinstance(output, bool | float):
        return
    if isinstance(output, int):
        if output.bit_length() * 0.30103 > MAX_INT_DIGITS:
            raise NodeFailure(
                f"output is an integer with more than {MAX_INT_DIGITS:,} digits", retryable=False
            )
        return
    if isinstance(output, str):
        size = len(output)
    else:
        try:
            size = len(json.dumps(output))
        except RecursionError:
            raise NodeFailure("output is nested too deeply to store", retryable=False) from None
        except (TypeError, ValueError) as exc:
            raise NodeFailure(f"output is not JSON-serializable: {exc}", retryable=False) from None
    if size > max_bytes:
        raise NodeFailure(
            f"output too large: {size / 2**20:,.1f} MB (limit {max_bytes / 2**20:,.1f} MB;"
            f" {MAX_VALUE_ENV} raises it)",
            retryable=False,
        )


def build_context(
    run_id: str,
    plan: NodePlan,
    attempt: int,
    params: Mapping[str, Any],
    outputs: Mapping[str, Any],
    resources: RunResources,
    log: NodeLog | None = None,
) -> NodeContext:
    return NodeContext(
        run_id, plan.node_id, attempt, params, resources, plan.spec.dependencies, outputs, log
    )
