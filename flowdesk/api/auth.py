"""The bearer token: with one set, every request but the health check must carry it."""

from __future__ import annotations

import hmac

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from flowdesk.api.schemas import ErrorResponse

OPEN_PATHS = frozenset({"/healthz"})


class BearerToken:
    """ASGI middleware: `Authorization: Bearer <token>` or 401, compared in constant time.

    It sits before routing, so the API's documentation and unknown paths are closed too."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        if not token:
            raise ValueError("an empty token protects nothing")
        self.app = app
        self._token = token.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS or self._allowed(scope):
            await self.app(scope, receive, send)
            return
        body = ErrorResponse(detail="this server needs 'Authorization: Bearer <token>'")
        response = JSONResponse(
            body.model_dump(), status_code=401, headers={"WWW-Authenticate": "Bearer"}
        )
        await response(scope, receive, send)

    def _allowed(self, scope: Scope) -> bool:
        scheme, _, given = Headers(scope=scope).get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(
            given.strip().encode("latin-1", "replace"), self._token
        )
