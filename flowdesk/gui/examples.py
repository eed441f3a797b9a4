"""File > Open Example, and the demo service the examples call (started in-process on request)."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx

from flowdesk import resources
from flowdesk.demo import DEFAULT_PORT, DemoServer
from flowdesk.model import WorkflowDefinition, is_template

DEMO_HOSTS = ("127.0.0.1", "localhost")


def example_titles() -> list[tuple[str, Path]]:
    """(workflow name, file) of each bundled example; unreadable files show their file name."""
    titles = []
    for path in resources.examples():
        try:
            name = json.loads(path.read_text(encoding="utf-8")).get("name") or path.stem
        except (OSError, ValueError, AttributeError):
            name = path.stem
        titles.append((str(name), path))
    return titles


def needs_demo_service(definition: WorkflowDefinition, port: int = DEFAULT_PORT) -> bool:
    """True when some HTTP node calls the demo service's address."""
    for node in definition.nodes:
        url = node.config.get("url") if node.handler == "call_external_service" else None
        if not isinstance(url, str):
            continue
        try:
            parsed = httpx.URL(url.split("{{")[0] if is_template(url) else url)
        except (httpx.InvalidURL, ValueError):
            continue
        if parsed.host in DEMO_HOSTS and parsed.port == port:
            return True
    return False


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.3):
            return True
    except OSError:
        return False


class DemoService:
    """The demo service inside the editor's process, on a background thread."""

    def __init__(self, port: int = DEFAULT_PORT) -> None:
        self.port = port
        self.server: DemoServer | None = None

    @property
    def running(self) -> bool:
        return self.server is not None

    def start(self) -> None:
        """Raises OSError when the port is taken."""
        if self.server is None:
            self.server = DemoServer(port=self.port).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
