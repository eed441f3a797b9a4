"""Every failure as one JSON shape: problems (400/422), conflicts (409), store errors, and internal
errors as a one-line JSON 500 whose traceback goes to the server's stderr, never to the client."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flowdesk.api.schemas import ConflictResponse, ErrorResponse, ProblemOut, ProblemsResponse
from flowdesk.engine import RunState
from flowdesk.logs import OneLineFormatter, StderrHandler
from flowdesk.model import Problem
from flowdesk.store import DatabaseLockedError, StoreError, UnknownRunError

log = logging.getLogger("flowdesk.api")
INVALID_REQUEST = "invalid-request"
"""The rule of a problem with the request itself (a query parameter, a header, the trigger body)."""


class ApiError(Exception):
    """An answer other than success, raised where it is found and sent as is."""

    def __init__(self, status_code: int, body: BaseModel, headers: dict[str, str] | None = None):
        super().__init__(status_code)
        self.status_code = status_code
        self.body = body
        self.headers = headers

    def response(self) -> JSONResponse:
        return JSONResponse(
            self.body.model_dump(mode="json"), status_code=self.status_code, headers=self.headers
        )

    @classmethod
    def problems(cls, problems: list[Problem], *, status_code: int = 422) -> ApiError:
        return cls(status_code, ProblemsResponse(detail=[ProblemOut.of(p) for p in problems]))

    @classmethod
    def invalid(cls, message: str, *, rule: str = INVALID_REQUEST) -> ApiError:
        return cls(
            422, ProblemsResponse(detail=[ProblemOut(node=None, rule=rule, message=message)])
        )

    @classmethod
    def not_found(cls, execution_id: str) -> ApiError:
        return cls(404, ErrorResponse(detail=f"no execution with id '{execution_id}'"))

    @classmethod
    def conflict(cls, message: str, execution_id: str | None, state: RunState | None) -> ApiError:
        return cls(409, ConflictResponse(detail=message, execution_id=execution_id, status=state))

    @classmethod
    def unavailable(cls, message: str) -> ApiError:
        return cls(503, ErrorResponse(detail=message), headers={"Retry-After": "1"})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _request_problems)  # type: ignore[arg-type]
    app.add_exception_handler(StoreError, _store_error)  # type: ignore[arg-type]


async def _api_error(_request: Request, error: ApiError) -> JSONResponse:
    return error.response()


async def _request_problems(_request: Request, error: RequestValidationError) -> JSONResponse:
    """FastAPI's own checks (headers, query parameters) in our problem shape."""
    body = ProblemsResponse(detail=problems_of(error))
    return JSONResponse(body.model_dump(), status_code=422)


def problems_of(error: RequestValidationError | ValidationError) -> list[ProblemOut]:
    """One problem per pydantic error, named by where it is (`query.limit`, `params`)."""
    return [
        ProblemOut(node=None, rule=INVALID_REQUEST, message=f"{_location(item)}: {item['msg']}")
        for item in error.errors()
    ]


def _location(item: Any) -> str:
    return ".".join(str(part) for part in item.get("loc", ()) if part != "body") or "body"


async def _store_error(request: Request, error: StoreError) -> JSONResponse:
    if isinstance(error, UnknownRunError):
        return JSONResponse({"detail": str(error)}, status_code=404)
    if isinstance(error, DatabaseLockedError):
        return ApiError.unavailable(str(error)).response()
    log.error("%s %s: %s", request.method, request.url.path, error)
    return JSONResponse({"detail": str(error)}, status_code=500)


class InternalErrors:
    """ASGI middleware: an unexpected exception becomes a one-line JSON 500, its traceback is
    logged on stderr. (Once a response has started nothing can be sent: it is left to uvicorn.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if started:
                raise
            log.error(
                "internal error answering %s %s", scope["method"], scope["path"], exc_info=exc
            )
            text = " ".join(str(exc).split())
            body = ErrorResponse(detail=f"internal error: {type(exc).__name__}: {text}".strip())
            await JSONResponse(body.model_dump(), status_code=500)(scope, receive, send)


class TracebackFormatter(OneLineFormatter):
    """The command's one-line format, then the whole traceback: internal errors of the server
    are worth every line (FLOWDESK_DEBUG or not)."""

    def format(self, record: logging.LogRecord) -> str:
        exc_info, record.exc_info = record.exc_info, None
        try:
            line = super().format(record)
        finally:
            record.exc_info = exc_info
        if exc_info and exc_info[1] is not None:
            line += "\n" + "".join(traceback.format_exception(*exc_info)).rstrip()
        return line


def configure_api_logging() -> None:
    """Tracebacks of the API's internal errors on stderr; calling it again changes nothing."""
    if not any(isinstance(h.formatter, TracebackFormatter) for h in log.handlers):
        handler = StderrHandler()
        handler.setFormatter(TracebackFormatter())
        log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.WARNING)
