"""The worker's side: the one Celery task, which runs a registered handler and returns its JSON
output (or why it failed). Built-in handlers and entry-point plugins must be installed on the
worker; templates, config validation, retries and timeouts stay with the orchestrator."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from flowdesk.engine import HandlerError, HandlerRegistry, NodeContext, RunResources
from flowdesk.engine.context import NodeLog
from flowdesk.scaleout.config import TASK_NAME
from flowdesk.scaleout.protocol import HandlerCall, failed, succeeded

if TYPE_CHECKING:
    from celery import Celery, Task

log = logging.getLogger(__name__)


class HandlerHost:
    """What one worker process keeps between tasks: the handler registry, an event loop and
    the HTTP client of its handlers (connections are reused from task to task). Built before
    the pool forks, so each child starts with the registry loaded; the loop is made in the
    child, on its first task."""

    def __init__(self, registry: HandlerRegistry) -> None:
        self.registry = registry
        self._loop: asyncio.AbstractEventLoop | None = None
        self._resources: RunResources | None = None

    def run(self, payload: Any, worker: str) -> dict[str, Any]:
        try:
            call = HandlerCall.model_validate(payload)
        except ValidationError as exc:
            return failed(f"malformed task on worker '{worker}': {exc}", final=True)
        if call.handler not in self.registry:
            return failed(
                f"handler '{call.handler}' is not installed on worker '{worker}'", final=True
            )
        spec = self.registry.get(call.handler)
        try:
            config = spec.config_model.model_validate(call.config)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in ("config", *first["loc"]))
            return failed(
                f"handler '{call.handler}' on worker '{worker}' refuses the config "
                f"({where}: {first['msg']}): is the same version installed there?",
                final=True,
            )
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
            self._resources = RunResources()
        assert self._resources is not None
        node_log = NodeLog()  # travels back with the answer, to be masked and kept there
        context = NodeContext(
            call.run_id,
            call.node_id,
            call.attempt,
            call.params,
            self._resources,
            list(call.inputs),
            call.inputs,
            node_log,
        )
        try:
            output = self._loop.run_until_complete(spec.run(config, context))
        except HandlerError as exc:
            return failed(str(exc), log=node_log.text())
        except Exception as exc:
            log.exception("handler '%s' of node '%s' raised", call.handler, call.node_id)
            return failed(f"{type(exc).__name__}: {exc}", log=node_log.text())
        try:  # strict JSON: kombu's encoder would quietly turn dates and decimals into text
            json.dumps(output)
        except (TypeError, ValueError, RecursionError) as exc:
            return failed(f"output is not JSON-serializable: {exc}", final=True)
        return succeeded(output, node_log.text())


def register_task(app: Celery, host: HandlerHost) -> Task:
    """The task `TASK_NAME` on `app`, running calls through `host`."""
    from celery.exceptions import Ignore

    @app.task(name=TASK_NAME, bind=True)
    def run_handler(task: Task, payload: Any) -> dict[str, Any]:
        request = task.request
        if (request.delivery_info or {}).get("redelivered") and _answered(task, request.id):
            # Redis gave back a message whose task was sent again and answered meanwhile
            # (its first worker died): the orchestrator has its result already.
            log.info("task %s was answered already; its redelivered copy is dropped", request.id)
            raise Ignore()
        _announce_start(task, request.id, request.hostname or "?")
        return host.run(payload, request.hostname or "?")

    return run_handler


def _announce_start(task: Task, task_id: str, worker: str) -> None:
    """Tell the orchestrator which worker holds the task, in the STARTED message Celery's
    `task_track_started` would publish, but published only (one round trip): Celery's also
    reads and writes the stored state first, which cost a third of a no-op node's time."""
    meta = {"task_id": task_id, "status": "STARTED", "result": {"hostname": worker}}
    try:
        task.backend.client.publish(task.backend.get_key_for_task(task_id), json.dumps(meta))
    except Exception as exc:  # only the orchestrator's watch over this worker loses by it
        log.warning("could not announce the start of task %s: %s", task_id, exc)


def _answered(task: Task, task_id: str) -> bool:
    from celery import states

    return task.backend.get_task_meta(task_id).get("status") in states.READY_STATES
