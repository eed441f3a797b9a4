"""The reference point: the least an asyncio topological runner can do per node."""

from __future__ import annotations

import asyncio
from typing import Any


async def _noop() -> int:
    return 1


async def run_minimal(nodes: list[dict[str, Any]]) -> int:
    """Remaining-dependency counts; `create_task` when a count reaches zero."""
    loop = asyncio.get_running_loop()
    remaining = {node["id"]: len(node["dependencies"]) for node in nodes}
    dependents: dict[str, list[str]] = {node["id"]: [] for node in nodes}
    for node in nodes:
        for dep in node["dependencies"]:
            dependents[dep].append(node["id"])
    finished = loop.create_future()
    left = len(nodes)
    tasks: set[asyncio.Task[int]] = set()

    def start(node_id: str) -> None:
        task = loop.create_task(_noop())
        tasks.add(task)
        task.add_done_callback(lambda t: on_done(node_id, t))

    def on_done(node_id: str, task: asyncio.Task[int]) -> None:
        nonlocal left
        tasks.discard(task)
        left -= 1
        for child in dependents[node_id]:
            remaining[child] -= 1
            if remaining[child] == 0:
                start(child)
        if left == 0:
            finished.set_result(None)

    for node_id, count in remaining.items():
        if count == 0:
            start(node_id)
    await finished
    return len(nodes)
