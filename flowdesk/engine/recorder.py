"""The narrow interface through which a run is recorded (the store implements it)."""

from __future__ import annotations

from typing import Protocol

from flowdesk.engine.results import NodeResult, RunResult


class RunRecorder(Protocol):
    """Awaited by the engine at each step. `node_finished` for a SUCCEEDED node must have made
    the result durable when it returns: dependents start only after it."""

    async def run_started(self, run: RunResult) -> None: ...

    def node_started(self, run_id: str, result: NodeResult) -> None:
        """Not awaited and must not block: a node that starts is worth recording (so a crash
        shows what was running) but never worth delaying."""
        ...

    async def node_finished(self, run_id: str, result: NodeResult) -> None: ...

    async def run_finished(self, run: RunResult) -> None: ...


class NullRecorder:
    """Records nothing: for tests, benchmarks and runs that need no history."""

    async def run_started(self, run: RunResult) -> None:
        return None

    def node_started(self, run_id: str, result: NodeResult) -> None:
        return None

    async def node_finished(self, run_id: str, result: NodeResult) -> None:
        return None

    async def run_finished(self, run: RunResult) -> None:
        return None
