"""Which workers are alive and consume our queue, from Celery's worker events.

A thread listens to the workers' heartbeats (every 2 s by default) and offline events, asks
each new worker which queues it consumes, and declares a worker gone when it says goodbye or
its heartbeats stop (a SIGKILLed worker sends nothing). Whoever subscribed hears of it at once,
so a task held by that worker can be sent again without waiting for Redis to redeliver it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from celery.events.receiver import EventReceiver

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)

LOST_AFTER_S = 6.0
"""A worker whose heartbeats stopped this long ago (or three of its intervals) is gone."""
ASK_AGAIN_S = 3.0
"""How soon to ask a worker for its queues again when it did not answer."""

WorkerLost = Callable[[str], None]
"""Called on the watch's thread with the lost worker's name."""


@dataclass
class _Worker:
    seen: float
    """time.monotonic() of its latest event, in this process (clocks of machines differ)."""
    freq: float = 2.0
    queues: frozenset[str] | None = None
    asked: float = 0.0


class WorkerWatch:
    """Live workers of one broker, by name, with the queues they consume."""

    def __init__(self, app: Celery, *, lost_after_s: float = LOST_AFTER_S) -> None:
        self._app = app
        self._lost_after_s = lost_after_s
        self._workers: dict[str, _Worker] = {}
        self._lock = threading.Lock()
        self._listeners: list[WorkerLost] = []
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._thread: threading.Thread | None = None
        self._receiver: EventReceiver | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._watch, name="flowdesk-worker-watch", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """The thread ends within a second (at its next tick), closing its connection; nobody
        needs to wait for it."""
        self._stopping.set()
        receiver = self._receiver
        if receiver is not None:
            receiver.should_stop = True
        self._thread = None

    def subscribe(self, listener: WorkerLost) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def serving(self, queue: str) -> frozenset[str]:
        """Names of the live workers known to consume `queue`."""
        with self._lock:
            return frozenset(
                name
                for name, worker in self._workers.items()
                if worker.queues is not None and queue in worker.queues
            )

    @property
    def connected(self) -> bool:
        """Listening to the broker now (and asked the workers there once)."""
        return self._connected.is_set()

    def expect(self, name: str) -> None:
        """`name` holds a task of ours: if it was never heard of (it took the task before its
        first heartbeat reached us), count it alive from now, so that its silence is noticed."""
        with self._lock:
            if name not in self._workers:
                self._workers[name] = _Worker(seen=time.monotonic())

    # -- the thread ---------------------------------------------------------------------------

    def _watch(self) -> None:
        while not self._stopping.is_set():
            try:
                with self._app.connection_for_read() as connection:
                    receiver = _Receiver(
                        connection,
                        handlers={"*": self._on_event},
                        routing_key="worker.#",
                        app=self._app,
                    )
                    receiver.on_tick = self._tick
                    self._receiver = receiver
                    if self._stopping.is_set():
                        return
                    receiver.capture(limit=None, timeout=None, wakeup=True)
            except Exception as exc:
                self._connected.clear()
                log.debug("worker watch lost the broker (%s); trying again", exc)
                self._stopping.wait(1.0)

    def _on_event(self, event: dict[str, Any]) -> None:
        kind, name = event.get("type", ""), event.get("hostname")
        if not name:
            return
        if kind == "worker-offline":
            self._lose(name, "stopped")
            return
        with self._lock:
            worker = self._workers.get(name)
            if worker is None:
                worker = self._workers[name] = _Worker(seen=time.monotonic())
                log.info("worker %s is alive", name)
            worker.seen = time.monotonic()
            worker.freq = float(event.get("freq") or worker.freq)

    def _tick(self) -> None:
        """Every second on the watch's thread: learn new workers' queues, expire silent ones."""
        if not self._connected.is_set():
            with self._lock:  # heartbeats missed while disconnected were not the workers' fault
                for worker in self._workers.values():
                    worker.seen = time.monotonic()
            # Every live worker answers this at once; heartbeats take up to their interval.
            self._ask_queues(None)
            self._connected.set()
        now = time.monotonic()
        with self._lock:
            silent = [
                name
                for name, worker in self._workers.items()
                if now - worker.seen > max(self._lost_after_s, 3 * worker.freq)
            ]
            unknown = [
                name
                for name, worker in self._workers.items()
                if worker.queues is None and now - worker.asked > ASK_AGAIN_S
            ]
            for name in unknown:
                self._workers[name].asked = now
        for name in silent:
            self._lose(name, "gone (no heartbeat)")
        if unknown:
            self._ask_queues(unknown)

    def _ask_queues(self, names: list[str] | None) -> None:
        """Ask these workers (all when None) which queues they consume; those that answer are
        alive."""
        try:
            replies = (
                self._app.control.inspect(destination=names, timeout=1.0).active_queues() or {}
            )
        except Exception as exc:
            log.debug("could not ask workers %s for their queues: %s", names or "all", exc)
            return
        with self._lock:
            for name, queues in replies.items():
                worker = self._workers.get(name)
                if worker is None:
                    worker = self._workers[name] = _Worker(seen=time.monotonic())
                    log.info("worker %s is alive", name)
                worker.queues = frozenset(q.get("name", "") for q in queues or ())

    def _lose(self, name: str, how: str) -> None:
        with self._lock:
            if self._workers.pop(name, None) is None:
                return
            listeners = list(self._listeners)
        log.log(logging.INFO if how == "stopped" else logging.WARNING, "worker %s %s", name, how)
        for listener in listeners:
            try:
                listener(name)
            except Exception:
                log.exception("a worker-lost listener failed")


class _Receiver(EventReceiver):
    """Celery's event receiver, with a hook its consume loop calls about once a second."""

    on_tick: Callable[[], None] = staticmethod(lambda: None)

    def on_iteration(self) -> None:
        self.on_tick()
