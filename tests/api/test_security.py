"""The token, the body limit, and failures that never show a traceback to the client."""

from __future__ import annotations

import socket

import httpx
import pytest

from .helpers import LiveServer, echo

TEN_MB = 10 * 1024 * 1024


@pytest.fixture
def guarded(service):
    with LiveServer(service, token="s3cret") as server:
        yield server


def test_with_a_token_every_endpoint_but_health_needs_it(guarded) -> None:
    with httpx.Client(base_url=guarded.url) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        for path in ("/runs", "/openapi.json", "/docs", "/workflows/x", "/nowhere"):
            refused = client.get(path)
            assert refused.status_code == 401, path
            assert refused.headers["www-authenticate"] == "Bearer"
        wrong = client.get("/runs", headers={"Authorization": "Bearer s3cres"})
        assert wrong.status_code == 401
        basic = client.get("/runs", headers={"Authorization": "Basic s3cret"})
        assert basic.status_code == 401
        assert client.post("/workflows", json=echo()).status_code == 401
        assert client.get("/runs").status_code == 401
        allowed = {"Authorization": "Bearer s3cret"}
        assert client.post("/workflows", json=echo(), headers=allowed).status_code == 201
        assert len(client.get("/runs", headers=allowed).json()["runs"]) == 1
        schema = client.get("/openapi.json", headers=allowed).json()
        assert schema["paths"]["/runs"]["get"]["security"] == [{"bearer": []}]
        assert schema["paths"]["/healthz"]["get"]["security"] == []


def _raw_request(url: str, head: bytes, body_chunks: list[bytes]) -> bytes:
    """Send a request by hand (a client that declares or streams a huge body); the answer."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(head)
        try:
            for chunk in body_chunks:
                connection.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the body ended: what we want
        answer = b""
        try:
            while data := connection.recv(65536):
                answer += data
                if b"\r\n\r\n" in answer and b"}" in answer:
                    break
        except ConnectionResetError:
            pass
    return answer


def test_a_body_over_10_mb_is_refused_without_reading_it_whole(live, client) -> None:
    declared = _raw_request(
        live.url,
        b"POST /workflows HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {TEN_MB + 1}\r\n\r\n".encode(),
        [b'{"name": '],  # the rest never comes: the length alone is enough to refuse
    )
    assert declared.startswith(b"HTTP/1.1 413"), declared[:200]
    assert b'"detail"' in declared

    chunk = b"x" * 65536
    count = TEN_MB // len(chunk) + 2
    streamed = _raw_request(
        live.url,
        b"POST /workflows HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
        [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * count + [b"0\r\n\r\n"],
    )
    assert streamed.startswith(b"HTTP/1.1 413"), streamed[:200]
    assert client.get("/runs").json()["runs"] == []
    just_under = client.post(
        "/workflows", content=b" " * (TEN_MB - 100) + b'{"name": "big", "dag": {}}'
    )
    assert just_under.status_code == 201


def test_an_internal_error_is_one_line_of_json_and_a_traceback_on_stderr(
    client, service, monkeypatch, capfd
) -> None:
    def broken(**_options):
        raise RuntimeError("the list broke\non two lines")

    monkeypatch.setattr(service, "list_runs", broken)
    response = client.get("/runs")
    assert response.status_code == 500
    assert response.json() == {
        "detail": "internal error: RuntimeError: the list broke on two lines"
    }
    assert "Traceback" not in response.text
    stderr = capfd.readouterr().err
    assert "internal error answering GET /runs" in stderr
    assert "Traceback (most recent call last)" in stderr
    assert 'raise RuntimeError("the list broke' in stderr
