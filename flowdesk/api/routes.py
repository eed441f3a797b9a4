"""The endpoints: the seed's four calls, cancel and resume, the event stream, the run list, health.

Each translates HTTP into one or two calls of the run service and its answer back into a
schema; the service does the work (docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from flowdesk.api.context import ApiContext, api_context
from flowdesk.api.errors import ApiError, problems_of
from flowdesk.api.events import EventStreamResponse, execution_events
from flowdesk.api.idempotency import answer_once
from flowdesk.api.limits import CANCEL_WAIT_S, DEFAULT_PAGE, MAX_IDEMPOTENCY_KEY, MAX_PAGE
from flowdesk.api.schemas import (
    ConflictResponse,
    ErrorResponse,
    Execution,
    ExecutionResults,
    ExecutionStatus,
    Health,
    ProblemsResponse,
    RunListItem,
    RunsPage,
    TriggerRequest,
)
from flowdesk.engine import InvalidWorkflowError, RunState
from flowdesk.model import Problem, Rule, WorkflowLoadError, parse_workflow
from flowdesk.model.loading import parse_json
from flowdesk.runs import RunNotPendingError
from flowdesk.store import RunNotResumableError, StoredRun, UnknownRunError

router = APIRouter()
Api = Annotated[ApiContext, Depends(api_context)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=MAX_IDEMPOTENCY_KEY,
        description="Repeat a request safely: the same key and body get the first answer again.",
    ),
]


def _documented(*codes: int) -> dict[int | str, dict[str, Any]]:
    shapes: dict[int, tuple[type[BaseModel], str]] = {
        400: (ProblemsResponse, "Malformed JSON, with its line and column"),
        404: (ErrorResponse, "No execution has this id"),
        409: (ConflictResponse, "The execution is not in a state that allows this"),
        413: (ErrorResponse, "The body is larger than 10 MB"),
        422: (ProblemsResponse, "Every problem with the request or the workflow"),
        503: (ErrorResponse, "The server is shutting down, or the database is locked"),
    }
    return {code: {"model": shapes[code][0], "description": shapes[code][1]} for code in codes}


WORKFLOW_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/WorkflowDefinition"}}
        },
    }
}
TRIGGER_BODY = {
    "requestBody": {
        "required": False,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/TriggerRequest"}}
        },
    }
}
"""Both bodies are read by our own code (whatever the Content-Type, and with the problems of
`flowdesk validate`); app.py adds their schemas to the OpenAPI document."""
JSON_TYPES = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true or false",
    type(None): "null",
}


def _stored(api: ApiContext, execution_id: str) -> StoredRun:
    try:
        return api.service.get(execution_id)
    except UnknownRunError:
        raise ApiError.not_found(execution_id) from None


async def _existing(execution_id: str, api: Api) -> str:
    """The id of an execution that exists, or 404 before a stream starts (its status goes
    first). One executing here is known without reading the store."""
    if api.service.active(execution_id) is None:
        _stored(api, execution_id)
    return execution_id


@router.get("/healthz", tags=["server"])
async def health() -> Health:
    """Always answers, without a token."""
    return Health()


@router.post(
    "/workflows",
    status_code=201,
    response_model=ExecutionStatus,
    openapi_extra=WORKFLOW_BODY,
    responses=_documented(400, 409, 413, 422, 503),
    tags=["executions"],
)
async def create_execution(
    request: Request, api: Api, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """A PENDING execution of the workflow in the body (the seed's format; FlowDesk's optional
    fields allowed), bound to a snapshot of it. Invalid: the problems `flowdesk validate` finds."""
    body = await request.body()
    request_id = ("POST", request.url.path, body)
    return await answer_once(api.service, idempotency_key, request_id, lambda: _create(api, body))


async def _create(api: ApiContext, body: bytes) -> JSONResponse:
    try:
        definition = parse_workflow(_text(body))
    except WorkflowLoadError as exc:
        malformed = any(problem.rule is Rule.MALFORMED_JSON for problem in exc.problems)
        raise ApiError.problems(exc.problems, status_code=400 if malformed else 422) from None
    try:
        run_id = await api.service.create(definition)
    except InvalidWorkflowError as exc:
        raise ApiError.problems(exc.problems) from None
    return _json(201, ExecutionStatus(execution_id=run_id, status=RunState.PENDING))


@router.post(
    "/workflows/{execution_id}/trigger",
    status_code=202,
    response_model=ExecutionStatus,
    openapi_extra=TRIGGER_BODY,
    responses=_documented(400, 404, 409, 413, 422, 503),
    tags=["executions"],
)
async def trigger_execution(
    execution_id: str, request: Request, api: Api, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Start a PENDING execution with these params (the body is optional). Beyond the server's
    --max-concurrency running executions it waits for a free slot, RUNNING meanwhile."""
    body = await request.body()
    request_id = ("POST", request.url.path, body)
    return await answer_once(
        api.service, idempotency_key, request_id, lambda: _trigger(api, execution_id, body)
    )


async def _trigger(api: ApiContext, execution_id: str, body: bytes) -> JSONResponse:
    params = _trigger_params(body)
    api.refuse_when_closing()
    try:
        handle = await api.service.trigger(execution_id, params)
    except UnknownRunError:
        raise ApiError.not_found(execution_id) from None
    except RunNotPendingError as exc:
        raise ApiError.conflict(str(exc), execution_id, exc.state) from None
    except InvalidWorkflowError as exc:  # a handler it uses is gone since it was created
        raise ApiError.problems(exc.problems) from None
    api.service.submit(handle)
    return _json(202, ExecutionStatus(execution_id=execution_id, status=RunState.RUNNING))


def _trigger_params(body: bytes) -> dict[str, Any]:
    """The params of a trigger body (`{}` when empty), whatever its Content-Type says."""
    if not body.strip():
        return {}
    try:
        data = parse_json(_text(body))
    except WorkflowLoadError as exc:
        raise ApiError.problems(exc.problems, status_code=400) from None
    if not isinstance(data, dict):
        kind = JSON_TYPES.get(type(data), type(data).__name__)
        raise ApiError.invalid(
            f'the body must be a JSON object like {{"params": {{}}}}, not {kind}'
        )
    try:
        return TriggerRequest.model_validate(data).params
    except ValidationError as exc:
        raise ApiError(422, ProblemsResponse(detail=problems_of(exc))) from None


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        problem = Problem(Rule.MALFORMED_JSON, f"the body is not UTF-8 text (byte {exc.start})")
        raise ApiError.problems([problem], status_code=400) from None


@router.get(
    "/workflows/{execution_id}",
    responses=_documented(404),
    tags=["executions"],
)
async def get_execution(execution_id: str, api: Api) -> Execution:
    """The execution's status, params, times and every node's state."""
    return Execution.of(_stored(api, execution_id))


@router.get(
    "/workflows/{execution_id}/results",
    responses=_documented(404),
    tags=["executions"],
)
async def get_results(execution_id: str, api: Api) -> ExecutionResults:
    """Outputs of the output nodes, and of every node that succeeded; partial while running."""
    return ExecutionResults.of(_stored(api, execution_id).result)


@router.post(
    "/workflows/{execution_id}/cancel",
    status_code=202,
    response_model=ExecutionStatus,
    responses=_documented(404, 409),
    tags=["executions"],
)
async def cancel_execution(execution_id: str, api: Api) -> JSONResponse:
    """Cancel a running (or waiting) execution: nodes in flight end CANCELLED, the rest SKIPPED.
    A PENDING execution never triggered is CANCELLED at once."""
    stored = _stored(api, execution_id)
    handle = api.service.active(execution_id)
    if handle is not None:
        api.service.cancel(execution_id)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(handle.wait(), CANCEL_WAIT_S)
    elif stored.state is RunState.PENDING and stored.owner is None:
        api.service.cancel(execution_id)
    elif stored.state in (RunState.PENDING, RunState.RUNNING):
        owner = stored.owner
        where = f" in process {owner.pid} on {owner.host}" if owner else ""
        raise ApiError.conflict(
            f"execution {execution_id} is {stored.state.value}{where}; cancel it there",
            execution_id,
            stored.state,
        )
    else:
        raise ApiError.conflict(
            f"execution {execution_id} is {stored.state.value}; there is nothing to cancel",
            execution_id,
            stored.state,
        )
    status = api.service.get(execution_id).state
    return _json(202, ExecutionStatus(execution_id=execution_id, status=status))


@router.post(
    "/workflows/{execution_id}/resume",
    status_code=202,
    response_model=ExecutionStatus,
    responses=_documented(404, 409, 422, 503),
    tags=["executions"],
)
async def resume_execution(execution_id: str, api: Api) -> JSONResponse:
    """Continue a FAILED, CANCELLED or INTERRUPTED execution: nodes that succeeded keep their
    output and do not run again (`flowdesk runs resume`)."""
    _stored(api, execution_id)
    api.refuse_when_closing()
    try:
        handle = api.service.resume(execution_id)
    except RunNotResumableError as exc:
        state = api.service.get(execution_id).state
        raise ApiError.conflict(str(exc), execution_id, state) from None
    except InvalidWorkflowError as exc:
        raise ApiError.problems(exc.problems) from None
    api.service.submit(handle)
    return _json(202, ExecutionStatus(execution_id=execution_id, status=RunState.RUNNING))


@router.get(
    "/workflows/{execution_id}/events",
    status_code=200,
    response_class=EventStreamResponse,
    responses={
        200: {
            "description": "`event: node` lines with a NodeEvent, then one `event: run` line "
            "with a RunEndEvent; the stream ends after it",
            "content": {
                "text/event-stream": {
                    "itemSchema": {
                        "type": "object",
                        "properties": {
                            "event": {"type": "string", "enum": ["node", "run"]},
                            "data": {
                                "type": "string",
                                "contentMediaType": "application/json",
                                "contentSchema": {
                                    "oneOf": [
                                        {"$ref": "#/components/schemas/NodeEvent"},
                                        {"$ref": "#/components/schemas/RunEndEvent"},
                                    ]
                                },
                            },
                        },
                    }
                }
            },
        },
        404: {
            "description": "No execution has this id",
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}
            },
        },
    },
    tags=["executions"],
)
async def execution_event_stream(
    api: Api, execution_id: Annotated[str, Depends(_existing)]
) -> EventStreamResponse:
    """Server-Sent Events: `node` events with every node's state now, then one per change
    (`{node, status, attempt, at, error}`), then a `run` event with the run's status, and the
    stream ends. A finished execution is replayed the same way."""
    return EventStreamResponse(execution_events(api.service, execution_id, api.closing))


@router.get("/runs", responses=_documented(422), tags=["runs"])
async def list_runs(
    api: Api,
    workflow: Annotated[str | None, Query(description="Only runs of this workflow")] = None,
    status: Annotated[RunState | None, Query(description="Only runs in this state")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    starting_after: Annotated[
        str | None, Query(description="The last execution_id of the previous page")
    ] = None,
) -> RunsPage:
    """Runs of every front-end (the editor, the command line, this API), newest first."""
    try:
        runs = api.service.list_runs(
            workflow=workflow, state=status, limit=limit + 1, starting_after=starting_after
        )
    except UnknownRunError:
        raise ApiError.invalid(f"starting_after: no execution with id '{starting_after}'") from None
    return RunsPage(runs=[RunListItem.of(run) for run in runs[:limit]], has_more=len(runs) > limit)


def _json(status_code: int, body: BaseModel) -> JSONResponse:
    return JSONResponse(body.model_dump(mode="json"), status_code=status_code)
