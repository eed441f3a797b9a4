"""Scale-out: handler calls executed by Celery workers over Redis, orchestrated here.

The engine sees only an executor (`flowdesk.engine.Executor`); this package is the Celery one,
the worker's task and the local broker. Importing it loads Celery: front-ends import it only
when the user asks for workers.
"""

from flowdesk.scaleout.config import (
    BROKER_ENV,
    DEFAULT_BROKER,
    DEFAULT_QUEUE,
    DEFAULT_WORKER_WAIT_S,
    ScaleoutSettings,
    broker_url,
    make_app,
    shown_url,
    visibility_timeout_from_env,
)
from flowdesk.scaleout.executor import BrokerUnreachable, CeleryExecutor, check_broker
from flowdesk.scaleout.redis_server import NoRedisServer, find_redis_server, redis_server_argv
from flowdesk.scaleout.tasks import HandlerHost, register_task

__all__ = [
    "BROKER_ENV",
    "DEFAULT_BROKER",
    "DEFAULT_QUEUE",
    "DEFAULT_WORKER_WAIT_S",
    "BrokerUnreachable",
    "CeleryExecutor",
    "HandlerHost",
    "NoRedisServer",
    "ScaleoutSettings",
    "broker_url",
    "check_broker",
    "find_redis_server",
    "make_app",
    "redis_server_argv",
    "register_task",
    "shown_url",
    "visibility_timeout_from_env",
]
