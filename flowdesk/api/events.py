"""Server-Sent Events of one execution: every node's state now, each change, then the run's end.

A run executing in this process is followed through its handle's engine events, from the
moment it is triggered or resumed here; one that is not (waiting for its trigger, or running in
another process) is looked at in the store every STREAM_POLL_S until it executes here or ends.
A finished run is replayed and the stream ends.

The stream is written by hand (`text/event-stream` is a few lines of text per event) so that
events the engine sends in one turn of the loop leave in one write: FastAPI's SSE support
writes each event on its own, through two task-to-task channels, which cost the server more
than the run itself (benchmarks/api.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping

from pydantic import BaseModel
from starlette.responses import StreamingResponse

from flowdesk.api.limits import KEEPALIVE_S, STREAM_POLL_S
from flowdesk.api.schemas import NodeEvent, RunEndEvent
from flowdesk.engine import (
    NodeFinished,
    NodeResult,
    NodeRetrying,
    NodeStarted,
    RunEvent,
    RunFinished,
    RunResult,
    RunState,
)
from flowdesk.runs import RunHandle, RunService
from flowdesk.store import UnknownRunError

LIVE = (RunState.PENDING, RunState.RUNNING)
KEEPALIVE = b": keepalive\n\n"
"""A comment line: clients ignore it; it keeps proxies from closing a quiet stream."""
Sent = dict[str, tuple[str, int]]


class EventStreamResponse(StreamingResponse):
    media_type = "text/event-stream"

    def __init__(self, content: AsyncIterator[bytes]) -> None:
        super().__init__(content, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


async def execution_events(
    service: RunService, run_id: str, closing: asyncio.Event
) -> AsyncIterator[bytes]:
    """The stream for `run_id` (which exists), in chunks of whole events; ends after `run`."""
    sent: Sent = {}
    quiet_since = time.monotonic()
    while True:
        handle = service.active(run_id)
        if handle is not None:
            async for chunk in _follow(service, handle, sent):
                yield chunk
            return
        try:
            result = service.get(run_id).result
        except UnknownRunError:  # deleted meanwhile: nothing more will happen to it
            return
        chunk = _changes(result.nodes, sent)
        if result.state not in LIVE or closing.is_set():
            yield chunk + _run_end(result)
            return
        if chunk or time.monotonic() - quiet_since > KEEPALIVE_S:
            yield chunk or KEEPALIVE
            quiet_since = time.monotonic()
        await service.wait_until_active(run_id, STREAM_POLL_S)


async def _follow(service: RunService, handle: RunHandle, sent: Sent) -> AsyncIterator[bytes]:
    """Nodes as the handle has them now, then its engine events until the run's end."""
    events: asyncio.Queue[RunEvent | None] = asyncio.Queue()
    unsubscribe = handle.subscribe(events.put_nowait)
    # None after the last event: also when the execution failed to start and sent no RunFinished.
    ended = asyncio.ensure_future(handle.wait())
    ended.add_done_callback(lambda _: events.put_nowait(None))
    try:
        now = _changes(handle.run.nodes, sent)  # taken at once: later changes are queued
        if handle.ended:
            yield now + _run_end(handle.result)
            return
        if now:
            yield now
        while True:
            try:
                async with asyncio.timeout(KEEPALIVE_S):
                    batch = [await events.get()]
            except TimeoutError:
                yield KEEPALIVE
                continue
            while not events.empty():  # everything of this turn leaves in one write
                batch.append(events.get_nowait())
            chunk = b""
            for event in batch:
                if event is None or isinstance(event, RunFinished):
                    result = event.result if event else service.get(handle.run_id).result
                    yield chunk + _run_end(result)
                    return
                node_event = _node_event(event)
                if node_event is not None and _is_new(node_event, sent):
                    chunk += _encode("node", node_event)
            if chunk:
                yield chunk
    finally:
        unsubscribe()
        ended.cancel()


def _node_event(event: RunEvent) -> NodeEvent | None:
    if isinstance(event, NodeStarted):
        return NodeEvent(
            node=event.node_id, status="RUNNING", attempt=event.attempt, at=event.at, error=None
        )
    if isinstance(event, NodeRetrying):
        return NodeEvent(
            node=event.node_id,
            status="RETRYING",
            attempt=event.attempt,
            at=event.at,
            error=event.error,
        )
    if isinstance(event, NodeFinished):
        return _state_of(event.result)
    return None


def _state_of(node: NodeResult) -> NodeEvent:
    return NodeEvent(
        node=node.node_id,
        status=node.state,
        attempt=node.attempts,
        at=node.finished_at or node.started_at,
        error=node.error,
    )


def _changes(nodes: Mapping[str, NodeResult], sent: Sent) -> bytes:
    """`node` events for every node whose state was not sent yet."""
    events = (_state_of(node) for node in nodes.values())
    return b"".join(_encode("node", event) for event in events if _is_new(event, sent))


def _is_new(event: NodeEvent, sent: Sent) -> bool:
    """Each node's state is sent once (a replay after a poll repeats nothing)."""
    key = (str(event.status), event.attempt)
    if sent.get(event.node) == key:
        return False
    sent[event.node] = key
    return True


def _run_end(result: RunResult) -> bytes:
    end = RunEndEvent(execution_id=result.run_id, status=result.state, at=result.finished_at)
    return _encode("run", end)


def _encode(kind: str, data: BaseModel) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + data.model_dump_json().encode() + b"\n\n"
