"""Running one node: resolve its templates, validate its config, call the handler with retries
and a timeout, and check that the output is JSON."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from flowdesk.engine.clock import RunClock
from flowdesk.engine.context import HandlerError, NodeContext, RunResources
from flowdesk.engine.registry import HandlerSpec
from flowdesk.model import NodeSpec, TemplateError, referenced_names
from flowdesk.model.templates import PARAMS, iter_templates, resolve_templates

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

    @classmethod
    def build(cls, spec: NodeSpec, handler: HandlerSpec) -> NodePlan:
        has_templates = any(True for _ in iter_templates(spec.config))
        static = None if has_templates else handler.config_model.model_validate(spec.config)
        refs = referenced_names(spec.config) - {PARAMS} if has_templates else frozenset()
        return cls(spec, handler, frozenset(refs), static)

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


def resolve_config(
    plan: NodePlan, params: Mapping[str, Any], outputs: Mapping[str, Any]
) -> tuple[BaseModel, dict[str, Any]]:
    """The handler's config model instance and the resolved config as plain data."""
    if plan.static_config is not None:
        return plan.static_config, plan.spec.config
    context = {PARAMS: params, **{ref: outputs[ref] for ref in plan.template_refs}}
    try:
        resolved = resolve_templates(plan.spec.config, context)
    except TemplateError as exc:
        raise NodeFailure(str(exc), retryable=False) from None
    try:
        return plan.handler.config_model.model_validate(resolved), resolved
    except ValidationError as exc:
        raise NodeFailure(_config_error(exc), retryable=False) from None


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
) -> tuple[Any, int]:
    """The handler's output and the number of attempts it took; raises NodeFailure.

    Backoff waits and their jitter come from `clock` (the run's; a real one when None).
    """
    attempt = 0
    while True:
        attempt += 1
        on_attempt(attempt)
        try:
            output = await _call_once(plan, config, make_context(attempt))
            check_json(output)
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


async def _call_once(plan: NodePlan, config: BaseModel, context: NodeContext) -> Any:
    timeout_s = plan.spec.timeout_s
    try:
        if timeout_s is None:
            return await plan.handler.run(config, context)
        async with asyncio.timeout(timeout_s) as scope:
            return await plan.handler.run(config, context)
    except HandlerError as exc:
        raise NodeFailure(str(exc), retryable=True) from None
    except TimeoutError as exc:
        if timeout_s is not None and scope.expired():
            raise NodeFailure(f"timed out after {timeout_s:g} s", retryable=True) from None
        raise NodeFailure(f"TimeoutError: {exc}", retryable=True) from None
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.exception("handler '%s' of node '%s' raised", plan.handler.name, plan.node_id)
        raise NodeFailure(f"{type(exc).__name__}: {exc}", retryable=True) from None


def check_json(output: Any) -> None:
    """Outputs are stored and passed on as JSON: refuse anything else now, not later."""
    if output is None or isinstance(output, str | int | float | bool):
        return
    try:
        json.dumps(output)
    except (TypeError, ValueError) as exc:
        raise NodeFailure(f"output is not JSON-serializable: {exc}", retryable=False) from None


def build_context(
    run_id: str,
    plan: NodePlan,
    attempt: int,
    params: Mapping[str, Any],
    outputs: Mapping[str, Any],
    resources: RunResources,
) -> NodeContext:
    return NodeContext(
        run_id, plan.node_id, attempt, params, resources, plan.spec.dependencies, outputs
    )
