"""Built-in handlers against the real demo service, and third-party handlers via entry points."""

from __future__ import annotations

import asyncio
import socket
import sys
import textwrap

import pytest
from conftest import workflow

from flowdesk.engine import HandlerRegistry
from flowdesk.engine.registry import HandlerSpec
from flowdesk.engine.scheduler import run_workflow
from flowdesk.engine.states import NodeState, RunState

INPUT = {"id": "input", "handler": "input"}


@pytest.fixture(params=["aiohttp", "httpx"], autouse=True)
def transport(request, monkeypatch):
    """Every HTTP behaviour holds with both network layers under httpx's API."""
    monkeypatch.setenv("FLOWDESK_HTTP_TRANSPORT", request.param)
    return request.param


def one_call(config: dict, registry=None):
    definition = workflow(
        INPUT,
        {
            "id": "call",
            "handler": "call_external_service",
            "dependencies": ["input"],
            "config": config,
        },
    )
    return asyncio.run(run_workflow(definition, {"token": "s3cret"}, registry=registry)).nodes[
        "call"
    ]


def test_json_body_is_decoded_and_headers_kept(server) -> None:
    node = one_call({"url": f"{server.url}/users/3"})
    assert node.state is NodeState.SUCCEEDED
    assert node.output["status_code"] == 200
    assert node.output["body"]["name"] == "Alan Turing"
    assert node.output["headers"]["content-type"] == "application/json"


def test_redirects_are_followed_and_gzip_is_decoded(server) -> None:
    node = one_call({"url": f"{server.url}/redirect?to=/users/2"})
    assert node.output["body"]["name"] == "Grace Hopper"
    assert server.paths() == ["/redirect", "/users/2"]
    node = one_call({"url": f"{server.url}/gzip"})
    assert node.output["body"]["compressed"] is True


def test_non_json_body_is_text(server) -> None:
    node = one_call({"url": f"{server.url}/text"})
    assert node.output["body"] == "plain text, not JSON"


def test_method_headers_query_and_json_body_are_sent(server) -> None:
    node = one_call(
        {
            "url": f"{server.url}/echo/here?fixed=1",
            "method": "post",
            "headers": {"Authorization": "Bearer {{ params.token }}"},
            "query": {"page": 2, "tags": ["a", "b"]},
            "json": {"token": "{{ params.token }}", "n": 7},
        }
    )
    body = node.output["body"]
    assert body["method"] == "POST"
    assert body["query"] == {"fixed": ["1"], "page": ["2"], "tags": ["a", "b"]}
    assert body["json"] == {"token": "s3cret", "n": 7}
    assert node.resolved_config["headers"] == {"Authorization": "Bearer s3cret"}


def test_raw_text_body(server) -> None:
    node = one_call({"url": f"{server.url}/echo", "method": "PUT", "body": "line one"})
    assert node.output["body"]["body"] == "line one"


def test_non_2xx_fails_with_status_and_start_of_body(server) -> None:
    node = one_call({"url": f"{server.url}/users/999"})
    assert node.state is NodeState.FAILED
    assert node.error == f'GET {server.url}/users/999 returned HTTP 404: {{"error": "no user 999"}}'


def test_connection_refused_is_a_clear_message() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    node = one_call({"url": f"http://127.0.0.1:{port}/nothing"})
    assert node.state is NodeState.FAILED
    assert node.error.startswith(f"GET http://127.0.0.1:{port}/nothing: cannot connect")


def test_transform_delay_and_output_handlers() -> None:
    definition = workflow(
        INPUT,
        {"id": "shape", "handler": "transform", "dependencies": ["input"],
         "config": {"value": {"ids": "{{ params.ids }}", "count": "{{ params.ids | length }}", "fixed": "007"}}},
        {"id": "pause", "handler": "delay", "dependencies": ["input"], "config": {"seconds": 0.01}},
        {"id": "collect", "handler": "output", "dependencies": ["shape", "pause"]},
        {"id": "pick", "handler": "output", "dependencies": ["shape"], "config": {"value": "{{ shape.ids[1] }}"}},
    )  # fmt: skip
    result = asyncio.run(run_workflow(definition, {"ids": [4, 5, 6]}))
    assert result.state is RunState.COMPLETED
    assert result.results == {
        "collect": {
            "shape": {"ids": [4, 5, 6], "count": 3, "fixed": "007"},
            "pause": {"seconds": 0.01},
        },
        "pick": 5,
    }


def test_handler_output_must_be_json_serializable() -> None:
    from pydantic import BaseModel

    class NoConfig(BaseModel):
        pass

    async def returns_a_set(config, context):
        return {1, 2}

    async def raises(config, context):
        raise RuntimeError("bug in a plugin")

    registry = HandlerRegistry.default()
    registry.register(HandlerSpec("returns_a_set", NoConfig, returns_a_set))
    registry.register(HandlerSpec("raises", NoConfig, raises))
    definition = workflow(
        {"id": "bad_output", "handler": "returns_a_set"}, {"id": "crash", "handler": "raises"}
    )
    result = asyncio.run(run_workflow(definition, registry=registry))
    assert result.nodes["bad_output"].state is NodeState.FAILED
    assert "not JSON-serializable" in result.nodes["bad_output"].error
    assert result.nodes["crash"].error == "RuntimeError: bug in a plugin"


@pytest.fixture
def plugin_on_path(tmp_path, monkeypatch):
    """A real installed distribution (a dist-info folder on sys.path) exposing entry points."""
    (tmp_path / "shout_plugin.py").write_text(
        textwrap.dedent(
            '''
            from pydantic import BaseModel
            from flowdesk.engine import handler

            class ShoutConfig(BaseModel):
                text: str

            @handler("shout", ShoutConfig, category="Text")
            async def shout(config, context):
                """Upper-cases text."""
                return config.text.upper()

            NOT_A_HANDLER = 42
            '''
        )
    )
    dist = tmp_path / "shout_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: shout-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[flowdesk.handlers]\nshout = shout_plugin:shout\nbroken = shout_plugin:NOT_A_HANDLER\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    sys.modules.pop("shout_plugin", None)


def test_entry_point_plugins_register_and_broken_ones_are_reported(plugin_on_path) -> None:
    registry = HandlerRegistry.default()
    assert "shout" in registry
    assert registry.get("shout").category == "Text"
    assert any("plugin 'broken'" in message for message in registry.load_errors)
    definition = workflow(
        INPUT,
        {
            "id": "loud",
            "handler": "shout",
            "dependencies": ["input"],
            "config": {"text": "hi {{ params.who }}"},
        },
    )
    result = asyncio.run(run_workflow(definition, {"who": "ada"}, registry=registry))
    assert result.nodes["loud"].output == "HI ADA"
