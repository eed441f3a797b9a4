"""Secret values are masked as `***` in everything that leaves a node, whatever form they took on
the way (a header echoed back, a URL in an error, a retry message, a log line), while the
handler really sent them."""

from __future__ import annotations

import asyncio
import json
import logging
from urllib.parse import quote, quote_plus

import pytest
from conftest import workflow
from pydantic import BaseModel

from flowdesk.engine import HandlerRegistry, NodeState, SecretMask
from flowdesk.engine.registry import HandlerSpec
from flowdesk.engine.scheduler import run_workflow
from flowdesk.model.secret_refs import ResolvedSecrets

VALUE = "fdK3y9 v/x+Z&ë=1"
MARK = "fdk3y9"  # in every written form of VALUE: none may survive masking
SENT = "fdK3y9 v/x+Z&q=1"  # HTTP header values are ASCII
FORMS = [
    VALUE,
    quote(VALUE),
    quote(VALUE, safe=""),
    quote_plus(VALUE),
    json.dumps(VALUE)[1:-1],
    ascii(VALUE)[1:-1],
    VALUE.upper(),
    quote(VALUE).lower(),
]


@pytest.mark.parametrize("form", FORMS)
def test_every_form_of_a_value_is_masked(form: str) -> None:
    mask = SecretMask([VALUE, ""])
    assert mask.text(f"<{form}>") == "<***>"
    assert mask.value({f"k {form}": [form, 7]}) == {"k ***": ["***", 7]}


def test_numbers_and_no_secrets() -> None:
    assert SecretMask(["12345"]).value({"n": 9123456, "m": 5}) == {"n": "9***6", "m": 5}
    nothing = SecretMask([""])
    data = {"a": ["x"]}
    assert not nothing and nothing.value(data) is data and nothing.text("x") == "x"
    assert SecretMask([VALUE]).value(data) is data  # nothing to mask: not copied


class Crash(BaseModel):
    token: str


async def crash(config: Crash, context) -> None:
    raise RuntimeError(f"plugin bug with {config.token}")


@pytest.fixture(params=["aiohttp", "httpx"])
def transport(request, monkeypatch) -> str:
    """Both network layers encode URLs their own way."""
    monkeypatch.setenv("FLOWDESK_HTTP_TRANSPORT", request.param)
    return request.param


def test_a_run_masks_outputs_errors_retries_params_and_logs(server, transport, caplog) -> None:
    registry = HandlerRegistry.default()
    registry.register(HandlerSpec("crash", Crash, crash))
    secret = "{{ secrets.TOKEN }}"
    definition = workflow(
        {"id": "input", "handler": "input"},
        {
            "id": "echo",
            "handler": "call_external_service",
            "dependencies": ["input"],
            "config": {
                "url": f"{server.url}/echo/{secret}",
                "headers": {"Authorization": f"Bearer {secret}"},
                "query": {"key": secret},
            },
        },
        {
            "id": "flaky",
            "handler": "call_external_service",
            "dependencies": ["input"],
            "retry": {"max_attempts": 2, "backoff_s": 0},
            "config": {
                "url": f"{server.url}/flaky/{transport}",
                "query": {"failures": 1, "key": secret},
            },
        },
        {
            "id": "broken",
            "handler": "call_external_service",
            "dependencies": ["input"],
            "config": {"url": f"{server.url}/nowhere/{secret}"},
        },
        {"id": "crash", "handler": "crash", "config": {"token": secret}},
        {
            "id": "downstream",
            "handler": "transform",
            "dependencies": ["echo"],
            "config": {"value": "{{ echo.body.headers.authorization }}"},
        },
    )
    events: list[object] = []
    with caplog.at_level(logging.DEBUG, logger="flowdesk"):
        result = asyncio.run(
            run_workflow(
                definition,
                {"given": SENT},
                registry=registry,
                listeners=(events.append,),
                secrets=ResolvedSecrets({"TOKEN": SENT}),
            )
        )
    states = {node_id: node.state for node_id, node in result.nodes.items()}
    assert states == {
        "input": NodeState.SUCCEEDED,
        "echo": NodeState.SUCCEEDED,
        "flaky": NodeState.SUCCEEDED,
        "broken": NodeState.FAILED,
        "crash": NodeState.FAILED,
        "downstream": NodeState.SUCCEEDED,
    }
    assert result.nodes["flaky"].attempts == 2
    assert result.nodes["downstream"].output == "Bearer ***"
    assert result.params == {"given": "***"}
    assert result.nodes["crash"].error == "RuntimeError: plugin bug with ***"
    assert "/nowhere/***" in result.nodes["broken"].error
    sent = {r.path.split("/")[1]: r for r in server.requests}
    assert sent["echo"].headers["authorization"] == f"Bearer {SENT}"
    assert sent["echo"].query["key"] == [SENT]
    assert sent["flaky"].query["key"] == [SENT]
    assert "handler 'crash' of node 'crash' raised" in caplog.text
    seen = "\n".join(
        [
            json.dumps(result.to_json(), ensure_ascii=False),
            *(json.dumps(n.resolved_config, ensure_ascii=False) for n in result.nodes.values()),
            *(repr(event) for event in events),
            caplog.text,
        ]
    )
    assert seen.lower().count(MARK) == 0
    assert seen.count("***") >= 10
