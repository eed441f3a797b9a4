"""API test fixtures: a database, its run service, the server over it and a client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from flowdesk.runs import RunService

from .helpers import LiveServer


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "api.db"


@pytest.fixture
def service(db, registry) -> Iterator[RunService]:
    with RunService(registry, db, max_active_runs=4, share_connections=True) as service:
        yield service


@pytest.fixture
def live(service) -> Iterator[LiveServer]:
    with LiveServer(service) as server:
        yield server


@pytest.fixture
def client(live) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=30) as client:
        yield client
