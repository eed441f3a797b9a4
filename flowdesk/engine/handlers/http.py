"""`call_external_service`: one HTTP request through the run's shared httpx client."""

from __future__ import annotations

import json
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from flowdesk.engine.context import HandlerError, NodeContext
from flowdesk.engine.registry import handler
from flowdesk.model.templates import is_template

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
BODY_PREVIEW_CHARS = 200


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
    timeout_s: float = Field(default=30, gt=0, le=3600)

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
        url = httpx.URL(config.url)
        if config.query:
            url = url.copy_merge_params(config.query)
        response = await context.http.request(
            config.method,
            url,
            headers=config.headers,
            json=config.json_body,
            content=config.body,
            timeout=config.timeout_s,
        )
    except httpx.TimeoutException:
        raise HandlerError(f"{what} timed out after {config.timeout_s:g} s") from None
    except httpx.ConnectError as exc:
        raise HandlerError(f"{what}: cannot connect ({exc or 'connection refused'})") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise HandlerError(f"{what}: {type(exc).__name__}: {exc}") from None
    body = _decode_body(response)
    if not response.is_success:
        text = response.text
        preview = text[:BODY_PREVIEW_CHARS] + ("…" if len(text) > BODY_PREVIEW_CHARS else "")
        raise HandlerError(f"{what} returned HTTP {response.status_code}: {preview}")
    return {"status_code": response.status_code, "headers": dict(response.headers), "body": body}


def _decode_body(response: httpx.Response) -> Any:
    content_type = response.headers.get("content-type", "").lower()
    looks_json = "json" in content_type or not content_type
    if looks_json and response.content:
        try:
            return json.loads(response.content)
        except ValueError:
            pass
    return response.text
