"""100 triggers at once on one database: every one accepted, run and recorded; none locked out."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import httpx

from .helpers import FINAL, echo

RUNS = 100


def test_100_concurrent_triggers(live, client, service, capfd) -> None:
    ids = [client.post("/workflows", json=echo("many")).json()["execution_id"] for _ in range(RUNS)]

    async def trigger_all() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=RUNS)
        async with httpx.AsyncClient(base_url=live.url, timeout=60, limits=limits) as http:
            return await asyncio.gather(
                *(
                    http.post(f"/workflows/{execution_id}/trigger", json={"params": {"x": n}})
                    for n, execution_id in enumerate(ids)
                )
            )

    answers = asyncio.run(trigger_all())
    assert [answer.status_code for answer in answers] == [202] * RUNS
    deadline = time.monotonic() + 60
    while True:
        runs = client.get("/runs", params={"workflow": "many", "limit": 1000}).json()["runs"]
        if all(run["status"] in FINAL for run in runs):
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert {run["execution_id"] for run in runs} == set(ids), "no run lost"
    assert {run["status"] for run in runs} == {"COMPLETED"}
    for n, execution_id in enumerate(ids):
        assert service.get(execution_id).result.results == {"output": {"t": n}}
    assert "locked" not in capfd.readouterr().err
    # The server runs 4 at once (the fixture's service): the rest waited their turn.
    moments = sorted(
        [(datetime.fromisoformat(run["started_at"]), 1) for run in runs]
        + [(datetime.fromisoformat(run["finished_at"]), -1) for run in runs]
    )
    running = [sum(step for _, step in moments[: i + 1]) for i in range(len(moments))]
    assert max(running) <= 4
