"""`call_external_service`: one HTTP request through the run's shared httpx client.

The request is bounded as a whole: `timeout_s` covers connecting, the headers and
the complete body, and the body is read as a stream and given up as soon as its
decoded size passes `max_response_mb`, so a trickled, endless or gzip-bomb body
fails the node instead of holding it (or memory) hostage.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from flowdesk.engine.context import HandlerError, NodeContext
from flowdesk.engine.registry import handler
from flowdesk.model.loading import read_json
from flowdesk.model.templates import is_template

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
BODY_PREVIEW_CHARS = 200
ERROR_BODY_READ_BYTES = 4 * BODY_PREVIEW_CHARS + 1  # enough for the preview in any UTF-8
MB = 1024 * 1024


class HttpCallConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, title="call_external_service")

    url: str = Field(description="http:// or https:// address; may hold templates.")
    method: Method = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str | int | float | bool | list[str | int | float | bool]] = Field(
        default_factory=dict, description="Query-string parameters."
    )
    json_body: Any = Field(default=None, alias="json", description="A JSON request body.")
    body: str | None = Field(default=None, description="A raw text request body.")
    timeout_s: float = Field(
        default=30,
        gt=0,
        le=3600,
        description="Seconds for the whole request: connecting, the headers and the complete body.",
    )
    max_response_mb: float = Field(
        default=50,
        gt=0,
        le=1024,
        description="Largest response body accepted, in MB once decompressed; "
        "a larger one fails the node.",
    )

    @field_validator("method", mode="before")
    @classmethod
    def _upper_method(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) and not is_template(value) else value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if is_template(value):
            return value
        url = httpx.URL(value)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"'{value}' is not an http:// or https:// URL")
        return value

    @field_validator("headers")
    @classmethod
    def _ascii_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        """HTTP carries header names and values as ASCII: say which one is not, instead of
        letting the client fail with an encoding error deep in the request."""
        for name, value in headers.items():
            for what, text in (("name", name), ("value", value)):
                if is_template(text):
                    continue
                bad = next((c for c in text if not c.isascii()), None)
                if bad is not None:
                    raise ValueError(
                        f"header {name!r}: its {what} has {bad!r} at position "
                        f"{text.index(bad)}; HTTP headers carry only ASCII "
                        "(percent-encode or base64 the value)"
                    )
        return headers

    @model_validator(mode="after")
    def _one_body(self) -> HttpCallConfig:
        if self.json_body is not None and self.body is not None:
            raise ValueError("give either 'json' or 'body', not both")
        return self


@handler("call_external_service", HttpCallConfig, category="HTTP", needs_http=True)
async def call_external_service(config: HttpCallConfig, context: NodeContext) -> dict[str, Any]:
    """Sends an HTTP request; outputs status_code, headers and the body (JSON decoded)."""
    what = f"{config.method} {config.url}"
    try:
        async with asyncio.timeout(config.timeout_s):
            response, content, complete = await _exchange(config, context.http)
    except (TimeoutError, httpx.TimeoutException):
        raise HandlerError(f"{what} timed out after {config.timeout_s:g} s") from None
    except httpx.ConnectError as exc:
        raise HandlerError(f"{what}: cannot connect ({exc or 'connection refused'})") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise HandlerError(f"{what}: {type(exc).__name__}: {exc}") from None
    if not response.is_success:
        text = _text(response, content)
        cut = not complete or len(text) > BODY_PREVIEW_CHARS
        preview = text[:BODY_PREVIEW_CHARS] + ("…" if cut else "")
        raise HandlerError(f"{what} returned HTTP {response.status_code}: {preview}")
    if not complete:
        raise HandlerError(f"{what}: response larger than {config.max_response_mb:g} MB")
    body = _decode_body(response, content)
    return {"status_code": response.status_code, "headers": dict(response.headers), "body": body}


async def _exchange(
    config: HttpCallConfig, client: httpx.AsyncClient
) -> tuple[httpx.Response, bytearray, bool]:
    """(the final response, its decoded body up to the limit, whether that is all of it).

    Redirects are followed here rather than by httpx, which reads each redirect's
    body whole before following it; here every body read is bounded.
    """
    url = httpx.URL(config.url)
    if config.query:
        url = url.copy_merge_params(config.query)
    request = client.build_request(
        config.method,
        url,
        headers=config.headers,
        json=config.json_body,
        content=config.body,
        timeout=config.timeout_s,
    )
    for _ in range(client.max_redirects + 1):
        response = await client.send(request, stream=True, follow_redirects=False)
        try:
            if response.next_request is None or not client.follow_redirects:
                if response.is_success:
                    limit = int(config.max_response_mb * MB)
                else:
                    limit = ERROR_BODY_READ_BYTES  # only its start is shown
                content, complete = await _read_body(response, limit)
                return response, content, complete
            request = response.next_request
        finally:
            await response.aclose()
    raise httpx.TooManyRedirects("Exceeded maximum allowed redirects.", request=request)


async def _read_body(response: httpx.Response, max_bytes: int) -> tuple[bytearray, bool]:
    """The decoded body, read until it passes `max_bytes`: (at most `max_bytes` of it, whether
    that is all). One buffer grown in place: a body near the limit is not held twice."""
    content = bytearray()
    async for chunk in response.aiter_bytes():
        room = max_bytes - len(content)
        if len(chunk) > room:
            content += memoryview(chunk)[:room]
            return content, False
        content += chunk
    return content, True


def _text(response: httpx.Response, content: bytes | bytearray) -> str:
    return content.decode(response.encoding or "utf-8", errors="replace")


def _decode_body(response: httpx.Response, content: bytearray) -> Any:
    content_type = response.headers.get("content-type", "").lower()
    looks_json = "json" in content_type or not content_type
    if looks_json and content:
        try:  # within FlowDesk's JSON limits: a body nested 100,000 deep is kept as text
            return read_json(content.decode("utf-8"))
        except ValueError:
            pass
    return _text(response, content)
