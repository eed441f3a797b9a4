"""Where the broker is and how FlowDesk's Celery app is configured (the same on both sides).

The orchestrating process (editor, `flowdesk run`, `flowdesk serve`) and every `flowdesk
worker` build their app here, so they agree on the serializer, the acknowledgement rules and
the broker's transport options.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from kombu.utils.url import maybe_sanitize_url
from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from celery import Celery

BROKER_ENV = "FLOWDESK_BROKER"
DEFAULT_BROKER = "redis://127.0.0.1:6379/0"
DEFAULT_QUEUE = "flowdesk"
VISIBILITY_ENV = "FLOWDESK_VISIBILITY_TIMEOUT"
DEFAULT_VISIBILITY_TIMEOUT_S = 3600.0
"""Redis hands an unacknowledged task to another worker once it is this old: it must stay
above the longest node timeout, or a long task runs twice. A killed worker's task is not left
waiting that long: the orchestrator sends it again as soon as the worker is seen gone."""
DEFAULT_WORKER_WAIT_S = 30.0
TASK_NAME = "flowdesk.run_handler"
RESULT_KEY_PREFIX = "celery-task-meta-"
"""Celery's Redis result backend stores (and publishes) a task's state under this + its id."""


def broker_url(given: str | None = None) -> str:
    """--broker, else $FLOWDESK_BROKER, else a Redis on this machine."""
    return given or os.environ.get(BROKER_ENV) or DEFAULT_BROKER


def shown_url(url: str) -> str:
    """The URL as it may be printed: any password masked."""
    return maybe_sanitize_url(url)


def visibility_timeout_from_env() -> float:
    text = os.environ.get(VISIBILITY_ENV)
    if not text:
        return DEFAULT_VISIBILITY_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{VISIBILITY_ENV}={text!r} is not a number of seconds") from None
    if value < 10:
        raise ValueError(f"{VISIBILITY_ENV}={text!r}: must be at least 10 seconds")
    return value


class ScaleoutSettings(BaseModel):
    """What both sides must agree on, and what the orchestrator waits for."""

    model_config = ConfigDict(frozen=True)

    broker_url: str = DEFAULT_BROKER
    queue: str = Field(DEFAULT_QUEUE, min_length=1)
    visibility_timeout_s: float = Field(DEFAULT_VISIBILITY_TIMEOUT_S, ge=10)
    worker_wait_s: float = Field(DEFAULT_WORKER_WAIT_S, gt=0)

    @property
    def shown_broker(self) -> str:
        return shown_url(self.broker_url)


def make_app(settings: ScaleoutSettings) -> Celery:
    """FlowDesk's Celery app: JSON only, late acknowledgement, one task per worker process at a
    time, results in Redis, and kombu's sweep for lost tasks every second (the default sweeps
    every ~100 s)."""
    from celery import Celery

    app = Celery("flowdesk", broker=settings.broker_url, backend=settings.broker_url)
    transport_options = {
        "visibility_timeout": settings.visibility_timeout_s,
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_accept_content=["json"],
        event_serializer="json",
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_track_started=False,  # the task announces its start itself (scaleout/tasks.py)
        task_default_queue=settings.queue,
        task_create_missing_queues=True,
        result_expires=86_400,
        broker_transport_options=transport_options,
        result_backend_transport_options={"visibility_timeout": settings.visibility_timeout_s},
        broker_connection_retry_on_startup=True,
        worker_send_task_events=False,
        task_send_sent_event=False,
    )
    return app
