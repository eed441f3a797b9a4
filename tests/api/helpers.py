"""Helpers of the API tests: a real uvicorn server on 127.0.0.1 (a thread, or a `flowdesk serve`
process), workflows, and reading an event stream."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from flowdesk.api import ApiServer, configure_api_logging, create_app, listen
from flowdesk.runs import RunService

INPUT = {"id": "input", "handler": "input", "dependencies": []}
FINAL = {"COMPLETED", "FAILED", "CANCELLED", "INTERRUPTED"}


class LiveServer:
    """`flowdesk serve`'s app and server class in a thread of this process, on a free port."""

    def __init__(self, service: RunService, *, token: str | None = None) -> None:
        configure_api_logging()
        self.service = service
        self.app = create_app(service, token=token)
        self._sock = listen("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self.server = ApiServer.for_app(self.app)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:  # uvicorn offers a flag, not an event
            assert self._thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(30)
        self._sock.close()
        assert not self._thread.is_alive()


def workflow(*nodes: dict[str, Any], name: str = "api test") -> dict[str, Any]:
    return {"name": name, "dag": {"nodes": [INPUT, *nodes]}}


def echo(name: str = "echo") -> dict[str, Any]:
    """input -> transform of params.x -> output."""
    return workflow(
        {
            "id": "t",
            "handler": "transform",
            "dependencies": ["input"],
            "config": {"value": "{{ params.x }}"},
        },
        {"id": "output", "handler": "output", "dependencies": ["t"]},
        name=name,
    )


def waiting(seconds: float = 30, name: str = "waiting") -> dict[str, Any]:
    """input -> delay -> output: a run that stays RUNNING until cancelled."""
    return workflow(
        {
            "id": "wait",
            "handler": "delay",
            "dependencies": ["input"],
            "config": {"seconds": seconds},
        },
        {"id": "output", "handler": "output", "dependencies": ["wait"]},
        name=name,
    )


def create(client: httpx.Client, definition: dict[str, Any], **headers: str) -> str:
    response = client.post("/workflows", json=definition, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["execution_id"]


def stream(client: httpx.Client, execution_id: str) -> list[tuple[str, dict[str, Any]]]:
    """Every event of the execution's stream, read until the server ends it."""
    events = []
    with client.stream("GET", f"/workflows/{execution_id}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        kind = None
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.append((kind, json.loads(line.removeprefix("data: "))))
    return events


def finish(client: httpx.Client, execution_id: str) -> dict[str, Any]:
    """The execution once it has ended (its event stream ends with it)."""
    events = stream(client, execution_id)
    assert events[-1][0] == "run"
    body = client.get(f"/workflows/{execution_id}").json()
    assert body["status"] in FINAL
    return body


class ServeProcess:
    """`flowdesk serve` in its own process, on a free port."""

    def __init__(self, db: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "flowdesk", "serve", "--port", "0", "--db", str(db), *args],
            stderr=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert self.process.stderr is not None
        self.first_line = self.process.stderr.readline()
        found = re.search(r"http://127\.0\.0\.1:(\d+)", self.first_line)
        assert found, self.first_line + self.process.stderr.read()
        self.url = found.group(0)

    def stop(self, signal_number: int) -> tuple[int, str]:
        """Send the signal; the exit code and the rest of stderr."""
        self.process.send_signal(signal_number)
        _, stderr = self.process.communicate(timeout=60)
        return self.process.returncode, stderr
