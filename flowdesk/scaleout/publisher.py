"""Sending tasks and revokes from one thread, so the event loop never waits on the broker.

kombu's producer is synchronous: a publish is a network round trip (longer to a broker on
another machine). The loop hands each message to this thread and goes on; a message that
cannot be sent is reported back through its callback.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flowdesk.scaleout.config import TASK_NAME

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)

Failed = Callable[[Exception], None]
"""Called on the publisher's thread when a message could not be sent."""


@dataclass(slots=True)
class _Send:
    task_id: str
    payload: dict[str, Any]
    on_error: Failed


@dataclass(slots=True)
class _Revoke:
    task_ids: Sequence[str]


class Publisher:
    """One thread, one producer connection, messages in the order they were handed over (a
    revoke never overtakes the task it revokes)."""

    def __init__(self, app: Celery, queue_name: str) -> None:
        self._app = app
        self._queue_name = queue_name
        self._jobs: queue.SimpleQueue[_Send | _Revoke | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def send(self, task_id: str, payload: dict[str, Any], on_error: Failed) -> None:
        self._ensure_thread()
        self._jobs.put(_Send(task_id, payload, on_error))

    def revoke(self, task_ids: Sequence[str]) -> None:
        """Drop queued copies of these tasks and terminate running ones, on every worker."""
        if task_ids:
            self._ensure_thread()
            self._jobs.put(_Revoke(list(task_ids)))

    def stop(self) -> None:
        """Send what is queued, then end the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._jobs.put(None)
            thread.join(timeout=10)

    def _ensure_thread(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._work, name="flowdesk-publisher", daemon=True
                    )
                    self._thread.start()

    def _work(self) -> None:
        producer = None
        try:
            while True:
                job = self._jobs.get()
                if job is None:
                    return
                if isinstance(job, _Revoke):
                    self._revoke(job.task_ids)
                    continue
                try:
                    if producer is None:
                        producer = self._app.producer_pool.acquire(block=True)
                    self._publish(producer, job)
                except Exception as exc:
                    if producer is not None:
                        producer.release()
                        producer = None
                    job.on_error(exc)
        finally:
            if producer is not None:
                producer.release()

    def _publish(self, producer: Any, job: _Send) -> None:
        """The task message, built and sent by Celery's AMQP layer. Not `app.send_task`: with
        the Redis result backend it also subscribes this process to every task's result
        channel (for `AsyncResult.get()`, which FlowDesk never calls), a round trip per task
        and a subscription never released."""
        amqp = self._app.amqp
        message = amqp.create_task_message(
            job.task_id,
            TASK_NAME,
            (job.payload,),
            {},
            argsrepr=job.task_id,  # not a repr of the payload: Celery's costs ~0.3 ms
            kwargsrepr="",
        )
        amqp.send_task_message(
            producer,
            TASK_NAME,
            message,
            queue=self._queue_name,
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0.2},
        )

    def _revoke(self, task_ids: Sequence[str]) -> None:
        try:
            self._app.control.revoke(list(task_ids), terminate=True, signal="SIGTERM")
        except Exception as exc:  # the broker is gone: no worker can run them either
            log.warning("could not revoke %d task(s): %s", len(task_ids), exc)
