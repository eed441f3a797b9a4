"""The narrow interface through which a run is recorded (the store implements it)."""

from __future__ import annotations

from typing import Protocol

from flowdesk.engine.results import ItemResult, NodeResult, RunResult


class ResultNotRecordable(Exception):
    """Raised by `RunRecorder.node_finished` when this one result cannot be kept (too large for
    the store, say): the node fails with this message and the run goes on without it.

    Any other exception from a recorder means the run can no longer be recorded at all (the
    database is locked, damaged or full): the run stops there, INTERRUPTED, as a crash would
    have left it, and `execute` raises that exception once the run has ended."""


class RunRecorder(Protocol):
    """Awaited by the engine at each step. `node_finished` for a SUCCEEDED node must have made
    the result durable when it returns: dependents start only after it. It raises
    ResultNotRecordable for a result that cannot be kept; see there for other exceptions."""

    async def run_started(self, run: RunResult) -> None: ...

    def node_started(self, run_id: str, result: NodeResult) -> None:
        """Not awaited and must not block: a node that starts is worth recording (so a crash
        shows what was running) but never worth delaying."""
        ...

    async def node_finished(self, run_id: str, result: NodeResult) -> None: ...

    async def run_finished(self, run: RunResult) -> None: ...

    # -- the items of a node with map_over (engine/mapping.py) -------------------------------

    async def stored_items(self, run_id: str, node_id: str) -> tuple[int, list[ItemResult]]:
        """(how many items the node had when it last mapped in this run, those that
        SUCCEEDED): what a resume may keep. (0, []) when it never mapped here."""
        ...

    def map_started(self, run_id: str, node_id: str, total: int, *, keep: bool) -> None:
        """Not awaited: the node maps `total` items; every stored item is PENDING again except,
        with `keep`, the succeeded ones (a resume keeps those)."""
        ...

    def item_finished(self, run_id: str, node_id: str, item: ItemResult) -> None:
        """Not awaited and must not block: items are written in batches, and `node_finished`
        of their node returns only once its items are written too."""
        ...


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

    async def stored_items(self, run_id: str, node_id: str) -> tuple[int, list[ItemResult]]:
        return 0, []

    def map_started(self, run_id: str, node_id: str, total: int, *, keep: bool) -> None:
        return None

    def item_finished(self, run_id: str, node_id: str, item: ItemResult) -> None:
        return None
