"""Progress of a mapped node (`map_over`) and the words the editor shows for it.

Qt-free: the run board counts items from the engine's MapStarted/ItemFinished events (or a
stored run's item counts), and the canvas only paints the text made here: `37/100` while the
node runs, `100 items`, `98/100, 2 failed` or `128/250, 32 cancelled, 90 skipped` once it is
final.
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
    """How far a mapped node got. `done` counts final items, whatever their end: `failed`
    those that failed, `cancelled` and `skipped` those a cancelled run stopped or never
    started (not failures: a cancel is not the items' fault)."""

    total: int
    done: int = 0
    failed: int = 0
    cancelled: int = 0
    skipped: int = 0

    @property
    def succeeded(self) -> int:
        return self.done - self.failed - self.cancelled - self.skipped

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 1.0

    def count(self, state: NodeState, number: int = 1) -> None:
        """Counts `number` items that ended in `state` (a state that is not final: none)."""
        if not state.is_final:
            return
        self.done += number
        if state is NodeState.CANCELLED:
            self.cancelled += number
        elif state is NodeState.SKIPPED:
            self.skipped += number
        elif not state.succeeded:  # FAILED, or INTERRUPTED: it did not get its output
            self.failed += number

    @classmethod
    def of_items(cls, items: Iterable[ItemResult]) -> MapProgress:
        """Counted from a node's item list (a finished node's `NodeResult.items`)."""
        progress = cls(0)
        for item in items:
            progress.total += 1
            progress.count(item.state)
        return progress

    @classmethod
    def of_counts(cls, counts: Mapping[str, int]) -> MapProgress:
        """Counted from the store's `state -> count` of a node's items (a run from history)."""
        progress = cls(sum(counts.values()))
        for name, number in counts.items():
            if name in NodeState.__members__:
                progress.count(NodeState(name), number)
        return progress


def progress_text(progress: MapProgress, node_state: NodeState | None) -> str:
    """The badge: `37/100` (and failures so far) while running, then `100 items` when every
    item succeeded, else `98/100, 2 failed` or `128/250, 32 cancelled, 90 skipped`
    (succeeded of all, then why the others did not succeed)."""
    ended = "".join(
        f", {number:,} {word}"
        for number, word in (
            (progress.failed, "failed"),
            (progress.cancelled, "cancelled"),
            (progress.skipped, "skipped"),
        )
        if number
    )
    if node_state is None or not node_state.is_final:
        return f"{progress.done:,}/{progress.total:,}{ended}"
    if progress.succeeded == progress.total:
        return f"{progress.total:,} item" + ("" if progress.total == 1 else "s")
    return f"{progress.succeeded:,}/{progress.total:,}{ended}"
