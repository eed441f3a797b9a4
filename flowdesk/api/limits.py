"""The REST API's limits (request sizes, key lengths, page sizes, how often streams look) and the
middleware that holds bodies to theirs."""

from __future__ import annotations

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 10 * 1024 * 1024
"""Larger request bodies are refused with 413, checked from Content-Length and while reading."""
MAX_IDEMPOTENCY_KEY = 255
"""Characters in an Idempotency-Key header."""
DEFAULT_PAGE = 50
MAX_PAGE = 1000
"""Runs in one `GET /runs` page: the default and the most a client may ask for."""
STREAM_POLL_S = 0.25
"""How often an event stream looks for a run that is not executing in this process (waiting
for its trigger, or running in another process): no busy polling of the database."""
KEEPALIVE_S = 15.0
"""An event stream quiet this long sends a comment line, so idle connections stay open."""
CANCEL_WAIT_S = 5.0
"""How long `POST .../cancel` waits for a cancelled run to record its end before answering."""


class BodyTooLarge(HTTPException):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the body is larger than {max_bytes / 1024 / 1024:g} MB")


class BodyLimit:
    """ASGI middleware: a body over `max_bytes` is refused with 413 without being read whole:
    at once when its Content-Length says so, else as soon as the bytes read pass the limit
    (chunked bodies). The refusal is the JSON error every other failure is."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            too_large = BodyTooLarge(self.max_bytes)
            response = JSONResponse({"detail": too_large.detail}, status_code=413)
            await response(scope, receive, send)
            return
        read = 0

        async def counted() -> Message:
            nonlocal read
            message = await receive()
            if message["type"] == "http.request":
                read += len(message.get("body", b""))
                if read > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)  # FastAPI answers it like any 413
            return message

        await self.app(scope, counted, send)
