"""Shared fixtures. Qt runs offscreen: CI has no display."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
EXAMPLES = REPO / "resources" / "examples"


@pytest.fixture(scope="session")
def demo_server():
    from flowdesk.demo import DemoServer

    with DemoServer() as server:
        yield server


@pytest.fixture(scope="module")
def demo_port_turn():
    """The tests of a module that use the demo service's fixed port (8911, the one the
    examples name) take turns with other such modules, also across pytest-xdist workers."""
    import fcntl
    import tempfile

    with (Path(tempfile.gettempdir()) / "flowdesk-tests-port-8911.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture
def server(demo_server):
    """The shared demo service on 127.0.0.1, with its request log emptied for this test."""
    demo_server.reset()
    return demo_server


def modules_loaded_by(code: str, roots: set[str]) -> list[str]:
    """Modules under `roots` that a fresh interpreter has loaded after running `code`."""
    import json
    import subprocess
    import sys

    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {sorted(roots)!r})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout)


def workflow(*nodes: dict, name: str = "test"):
    from flowdesk.model import workflow_from_data

    return workflow_from_data({"name": name, "dag": {"nodes": list(nodes)}})


@pytest.fixture
def registry():
    from flowdesk.engine import HandlerRegistry

    return HandlerRegistry.default()


@pytest.fixture
def config_models(registry):
    return registry.config_models()
