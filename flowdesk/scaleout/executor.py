"""The Celery executor: each handler call becomes a task on FlowDesk's queue; its result comes
back through Redis without blocking the event loop.

Orchestration stays in this process (the engine's). Per execution of a run, a session:
- sends each call as task `<run_id>:<node_id>:<attempt>` (from the publisher's thread);
- listens to the result backend's announcements of exactly its own tasks (one Redis pattern
  subscription on this loop) and accepts one result per task id: a duplicate is ignored;
- notes which worker started each task (Celery's STARTED state) and, when the worker watch
  says that worker is gone, sends the same task id again; Redis's later redelivery of the old
  message is then a duplicate, dropped by the worker and ignored here;
- fails calls still waiting after `worker_wait_s` with no live worker on the queue;
- revokes (and terminates) the task of a call that is cancelled or timed out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import redis
import redis.asyncio

from flowdesk.engine import ExecutorError, HandlerError, HandlerSpec, NodeContext
from flowdesk.scaleout.config import (
    RESULT_KEY_PREFIX,
    ScaleoutSettings,
    make_app,
    shown_url,
)
from flowdesk.scaleout.liveness import WorkerWatch
from flowdesk.scaleout.protocol import execution_prefix, task_id
from flowdesk.scaleout.publisher import Publisher

if TYPE_CHECKING:
    from pydantic import BaseModel

    from flowdesk.engine import CompiledWorkflow

log = logging.getLogger(__name__)

CHECK_EVERY_S = 0.5
SUBSCRIBE_WAIT_S = 5.0
UNACKED_KEY, UNACKED_INDEX_KEY = "unacked", "unacked_index"
"""Where kombu's Redis transport keeps messages delivered but not yet acknowledged."""
READY = frozenset({"SUCCESS", "FAILURE", "REVOKED"})
EXECUTIONS_KEY = "flowdesk:executions:"


class BrokerUnreachable(Exception):
    """The broker cannot be reached: nothing was sent."""


def check_broker(url: str, timeout_s: float = 3.0) -> None:
    """Raise BrokerUnreachable, in one line naming the URL, unless a Redis answers there."""
    shown = shown_url(url)
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise BrokerUnreachable(
            f"broker {shown}: FlowDesk's workers need a Redis broker (redis://, rediss://)"
        )
    try:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s
        )
        try:
            client.ping()
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError) as exc:
        reason = str(exc).rstrip(".") or type(exc).__name__
        hint = "; start one with: flowdesk broker" if _is_local(url) else ""
        raise BrokerUnreachable(f"cannot reach the broker at {shown} ({reason}){hint}") from None


def _is_local(url: str) -> bool:
    return "//127.0.0.1" in url or "//localhost" in url or "@127.0.0.1" in url


class CeleryExecutor:
    """Runs handler calls on `flowdesk worker`s. One per process and broker; `close()` at the
    end. Check the broker first (`check()`): a run should not start without one."""

    def __init__(self, settings: ScaleoutSettings) -> None:
        self.settings = settings
        self.app = make_app(settings)
        self.watch = WorkerWatch(self.app)
        self.publisher = Publisher(self.app, settings.queue)
        self._started = False

    def check(self, timeout_s: float = 3.0) -> None:
        """BrokerUnreachable unless the broker answers."""
        check_broker(self.settings.broker_url, timeout_s)

    def start(self) -> None:
        """Start watching workers (a thread); sessions do it too."""
        if not self._started:
            self._started = True
            self.watch.start()

    def live_workers(self) -> int:
        """Workers alive now that consume this executor's queue."""
        return len(self.watch.serving(self.settings.queue))

    @property
    def no_worker_message(self) -> str:
        if not self.watch.connected:
            return f"lost the broker at {self.settings.shown_broker}: no worker can be reached"
        return (
            f"no FlowDesk worker is consuming queue '{self.settings.queue}' on "
            f"{self.settings.shown_broker}"
        )

    async def open_run(self, run_id: str, workflow: CompiledWorkflow) -> CelerySession:
        self.start()
        longest = max((plan.spec.timeout_s or 0 for plan in workflow.plans.values()), default=0)
        if longest >= self.settings.visibility_timeout_s:
            log.warning(
                "a node of '%s' may run %g s, not less than the broker's visibility timeout "
                "(%g s): a task that long can be handed to a second worker while it runs",
                workflow.name,
                longest,
                self.settings.visibility_timeout_s,
            )
        session = CelerySession(self, run_id)
        await session.start()
        return session

    def close(self) -> None:
        self.publisher.stop()
        self.watch.stop()


@dataclass(slots=True)
class _Pending:
    task_id: str
    payload: dict[str, Any]
    future: asyncio.Future[dict[str, Any]]
    sent_at: float
    started_by: str | None = None


class CelerySession:
    """The calls of one execution of one run, on the loop that runs it."""

    def __init__(self, executor: CeleryExecutor, run_id: str) -> None:
        self._executor = executor
        self._settings = executor.settings
        self._run_id = run_id
        self._prefix = run_id
        self._loop = asyncio.get_running_loop()
        self._client = redis.asyncio.Redis.from_url(self._settings.broker_url)
        self._pending: dict[str, _Pending] = {}
        self._to_revoke: list[str] = []
        self._no_worker_since: float | None = None
        self._subscribed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._unsubscribe: Callable[[], None] | None = None

    async def start(self) -> None:
        key = EXECUTIONS_KEY + self._run_id
        try:
            execution = await self._client.incr(key)
            await self._client.expire(key, 30 * 86_400)
            self._prefix = execution_prefix(self._run_id, execution)
        except (redis.RedisError, OSError) as exc:  # the broker went away since the check
            self._prefix = f"{self._run_id}.{uuid.uuid4().hex[:8]}"
            log.warning("broker %s: %s", self._settings.shown_broker, exc)
        self._tasks = [
            self._loop.create_task(self._listen()),
            self._loop.create_task(self._check_workers()),
        ]
        self._unsubscribe = self._executor.watch.subscribe(self._on_worker_lost)
        # No result can be missed: none was sent yet (and a late subscription catches up).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), SUBSCRIBE_WAIT_S)

    def _on_worker_lost(self, name: str) -> None:
        """On the watch's thread."""
        with contextlib.suppress(RuntimeError):  # the loop is closed: the session is over
            self._loop.call_soon_threadsafe(self._worker_lost, name)

    async def aclose(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        for pending in self._pending.values():  # the engine awaited every call: none is left
            pending.future.cancel()
            self._to_revoke.append(pending.task_id)
        self._pending.clear()
        self._flush_revokes()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._client.aclose()

    # -- calls --------------------------------------------------------------------------------

    async def call(
        self,
        handler: HandlerSpec,
        config: BaseModel,
        resolved: Mapping[str, Any],
        context: NodeContext,
    ) -> Any:
        tid = task_id(self._prefix, context.node_id, context.attempt, context.item_index)
        payload = {
            "run_id": context.run_id,
            "node_id": context.node_id,
            "attempt": context.attempt,
            "handler": handler.name,
            "config": resolved,
            "params": context.params,
            "inputs": context.inputs,
        }
        pending = _Pending(tid, payload, self._loop.create_future(), time.monotonic())
        self._pending[tid] = pending
        self._send(pending)
        try:
            meta = await pending.future
        except asyncio.CancelledError:
            if self._pending.pop(tid, None) is not None:
                self._revoke(tid)
            raise
        return _outcome(meta, pending.started_by, context)

    def _send(self, pending: _Pending) -> None:
        tid = pending.task_id
        self._executor.publisher.send(
            tid,
            pending.payload,
            lambda exc: self._loop.call_soon_threadsafe(self._send_failed, tid, exc),
        )

    def _send_failed(self, tid: str, exc: Exception) -> None:
        pending = self._pending.pop(tid, None)
        if pending is not None and not pending.future.done():
            pending.future.set_exception(
                HandlerError(
                    f"cannot send the task to the broker at {self._settings.shown_broker}: {exc}"
                )
            )

    def _revoke(self, tid: str) -> None:
        if not self._to_revoke:
            self._loop.call_soon(self._flush_revokes)  # one broadcast for a whole cancel
        self._to_revoke.append(tid)

    def _flush_revokes(self) -> None:
        ids, self._to_revoke = self._to_revoke, []
        self._executor.publisher.revoke(ids)

    def _fail(self, pending: _Pending, error: Exception) -> None:
        del self._pending[pending.task_id]
        self._revoke(pending.task_id)
        if not pending.future.done():
            pending.future.set_exception(error)

    # -- results ------------------------------------------------------------------------------

    async def _listen(self) -> None:
        pattern = RESULT_KEY_PREFIX + _glob_escape(self._prefix) + ":*"
        while True:
            pubsub = self._client.pubsub()
            try:
                await pubsub.psubscribe(pattern)
                await self._catch_up()  # answered while we were not subscribed
                self._subscribed.set()
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=None)
                    if message is not None:
                        self._on_result(message["data"])
            except (redis.RedisError, OSError) as exc:
                log.warning("lost the result channel (%s); subscribing again", exc)
                await asyncio.sleep(0.5)
            finally:
                await pubsub.aclose()

    async def _catch_up(self) -> None:
        ids = list(self._pending)
        if ids:
            values = await self._client.mget([RESULT_KEY_PREFIX + tid for tid in ids])
            for value in values:
                if value is not None:
                    self._on_result(value)

    def _on_result(self, data: bytes | str) -> None:
        try:
            meta = json.loads(data)
            pending = self._pending.get(meta["task_id"])
        except (ValueError, KeyError, TypeError):
            return
        if pending is None:  # not ours, answered already, or given up: a duplicate is ignored
            return
        status = meta.get("status")
        if status == "STARTED":
            info = meta.get("result")
            pending.started_by = info.get("hostname") if isinstance(info, dict) else None
            if pending.started_by:
                self._executor.watch.expect(pending.started_by)
        elif status in READY:
            del self._pending[pending.task_id]
            if not pending.future.done():
                pending.future.set_result(meta)

    # -- workers ------------------------------------------------------------------------------

    async def _check_workers(self) -> None:
        while True:
            await asyncio.sleep(CHECK_EVERY_S)
            self._fail_unserved()

    def _fail_unserved(self) -> None:
        """Fail calls that waited `worker_wait_s` while no worker consumed the queue."""
        if self._executor.watch.serving(self._settings.queue):
            self._no_worker_since = None
            return
        now = time.monotonic()
        if self._no_worker_since is None:
            self._no_worker_since = now
        since = self._no_worker_since
        waited_out = [
            pending
            for pending in self._pending.values()
            if pending.started_by is None
            and now - max(pending.sent_at, since) >= self._settings.worker_wait_s
        ]
        for pending in waited_out:
            self._fail(pending, ExecutorError(self._executor.no_worker_message))

    def _worker_lost(self, name: str) -> None:
        """Send again the tasks the lost worker had started, then look for those it had
        received but not started yet."""
        for pending in [p for p in self._pending.values() if p.started_by == name]:
            self._resend(pending, f"worker {name} is gone")
        if self._pending:
            self._tasks.append(self._loop.create_task(self._recover_reserved(name)))

    def _resend(self, pending: _Pending, why: str) -> None:
        log.warning("%s; task %s sent again", why, pending.task_id)
        pending.started_by = None
        pending.sent_at = time.monotonic()
        self._send(pending)

    async def _recover_reserved(self, name: str) -> None:
        """Tasks a worker had taken from the queue without starting them are in kombu's
        unacknowledged set, delivered before it died and never STARTED; live workers start
        what they take at once (one task per free process), so what is left is the dead one's."""
        try:
            held = await self._client.hgetall(UNACKED_KEY)
            delivered = dict(await self._client.zrange(UNACKED_INDEX_KEY, 0, -1, withscores=True))
        except (redis.RedisError, OSError) as exc:
            log.warning("could not look for the tasks worker %s held: %s", name, exc)
            return
        cutoff, sent_before = time.time() - 2.0, time.monotonic() - 2.0
        for tag, value in held.items():
            when = delivered.get(tag)
            if when is None or when > cutoff:
                continue
            try:
                tid = json.loads(value)[0]["headers"]["id"]
            except (ValueError, KeyError, IndexError, TypeError):
                continue
            pending = self._pending.get(tid)
            if pending is not None and pending.started_by is None and pending.sent_at < sent_before:
                self._resend(pending, f"worker {name} is gone with task {tid} not started")


def _outcome(meta: dict[str, Any], worker: str | None, context: NodeContext) -> Any:
    status, result = meta.get("status"), meta.get("result")
    if status == "SUCCESS" and isinstance(result, dict) and "ok" in result:
        if isinstance(result.get("log"), str):  # the engine masks and keeps it as a local one
            context.write_log(result["log"])
        if result["ok"]:
            return result.get("output")
        error = str(result.get("error") or "the handler failed")
        raise ExecutorError(error) if result.get("final") else HandlerError(error)
    where = f" on worker '{worker}'" if worker else ""
    if status == "REVOKED":
        raise HandlerError(f"the task was revoked{where}")
    if isinstance(result, dict) and "exc_type" in result:
        raise HandlerError(f"{result['exc_type']}: {result.get('exc_message')}{where}")
    raise HandlerError(f"the worker answered {status} with {str(result)[:200]!r}{where}")


def _glob_escape(text: str) -> str:
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)
