"""`call_external_service` is bounded: in time as a whole request, and in body size, against the
demo service's trickled, gzip-bomb and endless bodies on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
import time

import httpx
import pytest
from conftest import workflow
from pydantic import ValidationError

from flowdesk.engine.handlers.http import HttpCallConfig
from flowdesk.engine.scheduler import run_workflow
from flowdesk.engine.states import NodeState

MB = 1024 * 1024
ADDRESS_SPACE_LIMIT = 1024 * MB
"""The probe process's whole address space (its baseline is ~270 MB, mostly thread arenas): a
body buffered whole ends in MemoryError there instead of eating the machine's memory."""

# Runs one call_external_service node and reports its outcome and how much the peak RSS grew.
# The peak is this process image's own (VmHWM): ru_maxrss would also count the forking parent's
# RSS (pytest's, hundreds of MB), hiding any growth below it.
PROBE = """
import asyncio, json, sys
from flowdesk.engine.scheduler import run_workflow
from flowdesk.model import workflow_from_data

def peak_kb():
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmHWM")).split()[1])

definition = workflow_from_data({"name": "probe", "dag": {"nodes": [
    {"id": "call", "handler": "call_external_service", "config": json.loads(sys.argv[1])}]}})
before = peak_kb()
node = asyncio.run(run_workflow(definition)).nodes["call"]
after = peak_kb()
print(json.dumps({"state": node.state.value, "error": node.error, "growth_mb": (after - before) / 1024}))
"""


@pytest.fixture(params=["aiohttp", "httpx"])
def transport(request, monkeypatch) -> str:
    """Every limit holds with both network layers under httpx's API."""
    monkeypatch.setenv("FLOWDESK_HTTP_TRANSPORT", request.param)
    return request.param


def one_call(config: dict, **options):
    definition = workflow(
        {"id": "call", "handler": "call_external_service", "config": config},
    )
    return asyncio.run(run_workflow(definition, **options)).nodes["call"]


def probe(config: dict, transport: str) -> dict:
    """One node run in a fresh process with a capped address space."""

    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))

    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(config)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=cap_memory,
        env={**os.environ, "FLOWDESK_HTTP_TRANSPORT": transport},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_timeout_bounds_the_whole_body_not_each_read(server, transport) -> None:
    """One byte every half second never trips a per-read timeout; the whole-request one ends it."""
    url = f"{server.url}/trickle?bytes=20&interval=0.5"  # 10 s in all
    started = time.monotonic()
    node = one_call({"url": url, "timeout_s": 1})
    elapsed = time.monotonic() - started
    assert node.state is NodeState.FAILED
    assert node.error == f"GET {url} timed out after 1 s"
    assert elapsed < 5


def test_gzip_bomb_fails_at_the_limit_with_memory_near_it(server, transport) -> None:
    url = f"{server.url}/gzip-bomb"  # 1 GB of zeros, about 1 MB compressed
    outcome = probe({"url": url}, transport)
    assert outcome["error"] == f"GET {url}: response larger than 50 MB"
    assert outcome["growth_mb"] < 2 * 50, outcome


def test_endless_body_fails_at_the_limit_with_memory_near_it(server, transport) -> None:
    url = f"{server.url}/endless"
    started = time.monotonic()
    outcome = probe({"url": url, "timeout_s": 20}, transport)
    assert outcome["error"] == f"GET {url}: response larger than 50 MB"
    assert outcome["growth_mb"] < 2 * 50, outcome
    assert time.monotonic() - started < 15


def test_limit_is_per_node_and_a_body_of_exactly_the_limit_passes(server, transport) -> None:
    url = f"{server.url}/gzip-bomb?mb=1"
    node = one_call({"url": url, "max_response_mb": 1})
    assert node.state is NodeState.SUCCEEDED
    assert node.output["body"] == "\0" * MB  # not JSON, so text
    node = one_call({"url": url, "max_response_mb": 0.5})
    assert node.error == f"GET {url}: response larger than 0.5 MB"


@pytest.mark.parametrize("size", [20_000, 3 * MB])
def test_a_body_in_many_pieces_arrives_whole(server, transport, size) -> None:
    """Bodies larger than one read (and than one piece handed to httpx) are put back together."""
    text = "".join(chr(ord("a") + i % 26) for i in range(size))
    node = one_call({"url": f"{server.url}/echo", "method": "POST", "body": text})
    assert node.state is NodeState.SUCCEEDED
    assert node.output["body"]["body"] == text


def test_limit_holds_after_a_redirect(server, transport) -> None:
    url = f"{server.url}/redirect?to=/gzip-bomb%3Fmb%3D64"
    node = one_call({"url": url, "max_response_mb": 1})
    assert node.error == f"GET {url}: response larger than 1 MB"
    assert server.paths() == ["/redirect", "/gzip-bomb"]


def test_an_error_response_is_read_only_as_far_as_its_preview(server, transport) -> None:
    url = f"{server.url}/endless?status=503"
    node = one_call({"url": url, "timeout_s": 20})
    assert node.error == f"GET {url} returned HTTP 503: {'x' * 200}…"


def test_too_many_redirects_is_a_clear_message() -> None:
    requests: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(302, headers={"location": "/again"}, content=b"moved")

    node = one_call({"url": "http://api.test/start"}, transport=httpx.MockTransport(respond))
    assert node.error == (
        "GET http://api.test/start: TooManyRedirects: Exceeded maximum allowed redirects."
    )
    assert len(requests) == 21  # the first request and httpx's 20 redirects


@pytest.mark.parametrize("value", [0, -1, 1025, "lots"])
def test_max_response_mb_must_be_a_sensible_positive_number(value) -> None:
    with pytest.raises(ValidationError, match="max_response_mb"):
        HttpCallConfig.model_validate({"url": "http://127.0.0.1/", "max_response_mb": value})


def test_the_new_field_is_in_the_schema_the_editor_builds_its_form_from() -> None:
    prop = HttpCallConfig.model_json_schema()["properties"]["max_response_mb"]
    assert prop["type"] == "number"
    assert prop["default"] == 50
    assert (prop["exclusiveMinimum"], prop["maximum"]) == (0, 1024)
    assert "MB" in prop["description"]


def test_a_json_body_nested_too_deep_is_kept_as_text(server) -> None:
    """json.loads would raise RecursionError (an internal error); FlowDesk's JSON limits apply."""
    node = one_call({"url": f"{server.url}/deep?depth=100000"})
    assert node.state.value == "SUCCEEDED", node.error
    body = node.output["body"]
    assert isinstance(body, str) and body.startswith("[[[") and len(body) == 200_000


def test_a_header_value_http_cannot_carry_fails_the_node_naming_it():
    """It used to fail with "internal error: UnicodeEncodeError" from deep inside the client."""
    node = one_call(
        {"url": "http://127.0.0.1:9/", "headers": {"X-Name": "{{ 'Zoë' }}"}, "timeout_s": 5}
    )
    assert node.state is NodeState.FAILED
    assert "internal error" not in node.error
    assert "header 'X-Name'" in node.error and "'ë' at position 2" in node.error


def test_a_literal_non_ascii_header_is_a_config_problem():
    with pytest.raises(ValidationError, match="HTTP headers carry only ASCII"):
        HttpCallConfig(url="http://127.0.0.1:9/", headers={"Authorizátion": "x"})
