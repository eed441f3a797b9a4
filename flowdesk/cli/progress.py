"""Progress of a run on stderr: a live display on a terminal, one line per state change elsewhere.

`progress_listener(stream)` picks the right one; the command subscribes what it yields.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from flowdesk.engine import (
    Listener,
    NodeFinished,
    NodeResult,
    NodeRetrying,
    NodeStarted,
    NodeState,
    RunEvent,
    RunFinished,
    RunResult,
    RunStarted,
    RunState,
)
from flowdesk.engine.reuse import reuse_note

MARKS = {
    NodeState.SUCCEEDED: ("✓", "32"),
    NodeState.REUSED: ("✓", "36"),
    NodeState.FAILED: ("✗", "31"),
    NodeState.SKIPPED: ("-", "90"),
    NodeState.CANCELLED: ("⊘", "35"),
    NodeState.INTERRUPTED: ("↯", "33"),
}
RUN_COLOURS = {
    RunState.COMPLETED: "32",
    RunState.FAILED: "31",
    RunState.CANCELLED: "35",
    RunState.INTERRUPTED: "33",
}
ERROR_PREVIEW = 160
Paint = Callable[[str, str], str]
"""Colours `text` with an ANSI SGR `code` (or leaves it plain)."""


@contextmanager
def progress_listener(stream: TextIO | None = None) -> Iterator[Listener]:
    """The listener to subscribe to a run executed inside this block.

    On an interactive terminal: a live display (rich) of finished/total nodes, the nodes
    running now, failures as they happen and elapsed time, refreshed a few times a second
    whatever the event rate. Anywhere else (a pipe, a file, TERM=dumb): one line per node
    state change, as before.
    """
    stream = stream or sys.stderr
    if getattr(stream, "isatty", lambda: False)():
        from rich.console import Console  # only when a terminal will show it

        console = Console(file=stream, highlight=False)
        if console.is_interactive:
            from flowdesk.cli.live import LiveProgress

            with LiveProgress(console) as listener:
                yield listener
            return
    yield ProgressPrinter(stream)


def ansi(text: str, code: str) -> str:
    return f"\033[{code}m{text}\033[0m"


def header_line(event: RunStarted) -> str:
    reused = f", {len(event.resumed_node_ids)} reused" if event.resumed_node_ids else ""
    return f"run {event.run_id} '{event.workflow}': {len(event.node_ids)} nodes{reused}"


def finished_line(event: NodeFinished, width: int, paint: Paint) -> str:
    """`  ✓ node_id   SUCCEEDED  0.12 s` (with the error, shortened, when the node failed)."""
    mark, code = MARKS.get(event.state, ("?", "0"))
    result = event.result
    detail = ""
    if event.state is NodeState.REUSED:
        detail = f"  {reuse_note(result, event.run_id)}"
    elif result.duration_s is not None and event.state is not NodeState.SKIPPED:
        detail = f"  {result.duration_s:.2f} s"
    if result.items is not None:
        detail += f"  {items_note(result)}"
    if event.error and not event.state.succeeded:
        detail += f"  {_short(event.error)}"
    return (
        f"  {paint(mark, code)} {event.node_id:<{width}} {paint(event.state.value, code)}{detail}"
    )


def items_note(result: NodeResult) -> str:
    """A mapped node's items: `100 items`, or `98/100, 2 failed` when not all succeeded (a
    cancelled run's: `96/250, 32 cancelled, 122 skipped`, every item accounted for)."""
    items = result.items or []
    total = len(items)
    succeeded = sum(1 for item in items if item.state is NodeState.SUCCEEDED)
    if succeeded == total:
        return f"{total:,} item{'' if total == 1 else 's'}"
    note = f"{succeeded:,}/{total:,}"
    for state in (NodeState.FAILED, NodeState.INTERRUPTED, NodeState.CANCELLED, NodeState.SKIPPED):
        count = sum(1 for item in items if item.state is state)
        if count:
            note += f", {count:,} {state.value.lower()}"
    return note


def id_width(event: RunStarted) -> int:
    """Node ids are padded to the longest, so the states line up."""
    return max((len(n) for n in event.node_ids), default=8)


class ProgressPrinter:
    """An event listener that writes node states as they change."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.colour = self.stream.isatty() and "NO_COLOR" not in os.environ
        self.width = 12

    def _paint(self, text: str, code: str) -> str:
        return ansi(text, code) if self.colour else text

    def _line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def __call__(self, event: RunEvent) -> None:
        match event:
            case RunStarted():
                self.width = id_width(event)
                self._line(header_line(event))
            case NodeStarted():
                attempt = f" (attempt {event.attempt})" if event.attempt > 1 else ""
                self._line(
                    f"  {self._paint('▶', '33')} {event.node_id:<{self.width}} RUNNING{attempt}"
                )
            case NodeRetrying():
                self._line(
                    f"  {self._paint('↻', '33')} {event.node_id:<{self.width}} RETRYING in "
                    f"{event.delay_s:.2f} s after attempt {event.attempt}: {_short(event.error)}"
                )
            case NodeFinished():
                self._line(finished_line(event, self.width, self._paint))
            case RunFinished():
                self._line(summary(event.result, self._paint))


def summary(result: RunResult, paint: Paint = lambda text, code: text) -> str:
    counts = ", ".join(
        f"{result.count(state)} {state.value.lower()}" for state in NodeState if result.count(state)
    )
    took = f" in {result.duration_s:.2f} s" if result.duration_s is not None else ""
    state = paint(result.state.value, RUN_COLOURS.get(result.state, "0"))
    return f"run {result.run_id} {state}{took}: {counts}"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= ERROR_PREVIEW else text[: ERROR_PREVIEW - 1] + "…"
