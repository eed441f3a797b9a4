"""The Idempotency-Key header: a retried request gets the first answer, and nothing runs twice.

The answer is kept in the database (`store/idempotency.py`), so it outlives the server. A key
is one request: the same key with another method, path or body is refused (422), and a
second request with a key whose first is still being answered gets 409.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable

from fastapi.responses import JSONResponse

from flowdesk.api.errors import ApiError
from flowdesk.api.schemas import ErrorResponse
from flowdesk.runs import RunService
from flowdesk.store import KeyState

REPLAYED_HEADER = "Idempotent-Replayed"


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests the same: method, path and body (JSON compared by content)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except (ValueError, UnicodeDecodeError):
        canonical = body
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


async def answer_once(
    service: RunService,
    key: str | None,
    request_id: tuple[str, str, bytes],
    answer: Callable[[], Awaitable[JSONResponse]],
) -> JSONResponse:
    """`answer()`, or with a key seen before, the answer it gave then (status and body).

    Answers below 500 are kept (a 422 for an invalid workflow is as final as a 201); a
    failure on our side releases the key so that a retry does the work.
    """
    if key is None:
        return await _answer(answer)
    outcome = await service.idempotency.reserve(key, fingerprint(*request_id))
    if outcome.state is KeyState.REPLAY:
        return JSONResponse(
            json.loads(outcome.response_json or "null"),
            status_code=outcome.status_code or 200,
            headers={REPLAYED_HEADER: "true"},
        )
    if outcome.state is KeyState.MISMATCH:
        raise ApiError.invalid(
            "this Idempotency-Key was used with another request (method, path or body)",
            rule="idempotency-key",
        )
    if outcome.state is KeyState.IN_PROGRESS:
        raise ApiError(
            409, ErrorResponse(detail="a request with this Idempotency-Key is still in progress")
        )
    try:
        response = await _answer(answer)
    except BaseException:
        await service.idempotency.release(key)
        raise
    if response.status_code >= 500:
        await service.idempotency.release(key)
    else:
        await service.idempotency.complete(key, response.status_code, bytes(response.body).decode())
    return response


async def _answer(answer: Callable[[], Awaitable[JSONResponse]]) -> JSONResponse:
    try:
        return await answer()
    except ApiError as error:
        return error.response()
