"""Progress of a mapped node (`map_over`) and the words the editor shows for it.

Qt-free: the run board counts items from the engine's MapStarted/ItemFinished events (or a
stored run's item counts), and the canvas only paints the text made here: `37/100` while the
node runs, `100 items` or `98/100, 2 failed` once it is final.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flowdesk.engine import NodeState

if TYPE_CHECKING:
    from flowdesk.engine.results import ItemResult


@dataclass(slots=True)
class MapProgress:
    """How far a mapped node got: `done` counts final items, failed ones included."""

    total: int
    done: int = 0
    failed: int = 0

    @property
    def succeeded(self) -> int:
        return self.done - self.failed

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    @classmethod
    def of_items(cls, items: Iterable[ItemResult]) -> MapProgress:
        """Counted from a node's item list (a finished node's `NodeResult.items`)."""
        total = done = failed = 0
        for item in items:
            total += 1
            if item.state.is_final:
                done += 1
                if not item.state.succeeded:
                    failed += 1
        return cls(total, done, failed)

    @classmethod
    def of_counts(cls, counts: Mapping[str, int]) -> MapProgress:
        """Counted from the store's `state -> count` of a node's items (a run from history)."""
        total = done = failed = 0
        for name, count in counts.items():
            state = NodeState(name) if name in NodeState.__members__ else None
            total += count
            if state is not None and state.is_final:
                done += count
                if not state.succeeded:
                    failed += count
        return cls(total, done, failed)


def progress_text(progress: MapProgress, node_state: NodeState | None) -> str:
    """The badge: `37/100` (and failures so far) while running, then `100 items` when every
    item succeeded, else `98/100, 2 failed` (succeeded of all)."""
    failed = f", {progress.failed:,} failed" if progress.failed else ""
    if node_state is None or not node_state.is_final:
        return f"{progress.done:,}/{progress.total:,}{failed}"
    if progress.succeeded == progress.total:
        return f"{progress.total:,} item" + ("" if progress.total == 1 else "s")
    return f"{progress.succeeded:,}/{progress.total:,}{failed}"
