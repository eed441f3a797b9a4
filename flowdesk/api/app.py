"""The app factory: routes, error shapes, the token, the body limit and an exact OpenAPI schema.

The app is a front-end of the run service it is given: runs execute on the engine in the
server's event loop and are recorded in that service's store (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from flowdesk import __version__
from flowdesk.api.auth import OPEN_PATHS, BearerToken
from flowdesk.api.context import ApiContext
from flowdesk.api.errors import InternalErrors, install_error_handlers
from flowdesk.api.limits import MAX_BODY_BYTES, BodyLimit
from flowdesk.api.routes import router
from flowdesk.api.schemas import ErrorResponse, NodeEvent, RunEndEvent, TriggerRequest
from flowdesk.model import WorkflowDefinition
from flowdesk.runs import RunService

DESCRIPTION = (
    "Create, trigger, follow and fetch workflow executions on FlowDesk's engine; every "
    "execution is a run in the same SQLite store as the editor's and the command line's."
)


def create_app(
    service: RunService, *, token: str | None = None, max_body_bytes: int = MAX_BODY_BYTES
) -> FastAPI:
    """An app over `service` (whose store it does not close). With `token`, every endpoint but
    /healthz needs `Authorization: Bearer <token>`."""
    context = ApiContext(service)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        service.idempotency.purge()
        yield
        await context.stop()  # runs the server did not stop before draining (tests, errors)

    app = FastAPI(
        title="FlowDesk",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.api = context
    app.include_router(router)
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    if token:
        app.add_middleware(BearerToken, token=token)
    app.add_middleware(InternalErrors)  # the outermost of ours: it sees every failure
    app.openapi = lambda: _openapi(app, secured=bool(token))  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI, *, secured: bool) -> dict[str, Any]:
    """FastAPI's schema plus the workflow body (read by our own loader, so that its problems
    are the validator's) and, with a token, the bearer scheme and its 401."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    _use_our_problems(schema)
    workflow = WorkflowDefinition.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(workflow.pop("$defs", {}))
    workflow["required"] = sorted({*workflow.get("required", []), "dag"})
    components["WorkflowDefinition"] = workflow
    components["TriggerRequest"] = TriggerRequest.model_json_schema()
    for event in (NodeEvent, RunEndEvent):  # the event stream's payloads
        event_schema = event.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(event_schema.pop("$defs", {}))
        components[event.__name__] = event_schema
    if secured:
        schema["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        components.setdefault("ErrorResponse", ErrorResponse.model_json_schema())
        unauthorized = {
            "description": "No token, or the wrong one",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}
            },
        }
        for path, operations in schema["paths"].items():
            for operation in operations.values():
                if path in OPEN_PATHS:
                    operation["security"] = []
                else:
                    operation["security"] = [{"bearer": []}]
                    operation["responses"]["401"] = unauthorized
    app.openapi_schema = schema
    return schema


def _use_our_problems(schema: dict[str, Any]) -> None:
    """FastAPI documents its own 422 shape on every operation with parameters; ours is
    ProblemsResponse (errors.py turns every request problem into it)."""
    theirs, ours = (
        "#/components/schemas/HTTPValidationError",
        "#/components/schemas/ProblemsResponse",
    )
    for operations in schema["paths"].values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                for content in response.get("content", {}).values():
                    if content.get("schema", {}).get("$ref") == theirs:
                        content["schema"] = {"$ref": ours}
                        response["description"] = "Every problem with the request"
    components = schema["components"]["schemas"]
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
