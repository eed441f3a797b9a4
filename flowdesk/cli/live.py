"""The live progress display of `flowdesk run` on a terminal (rich): a few lines, redrawn in place.

Events only update counters under a lock (they may come thousands a second); rich's refresh
thread draws the display a few times a second. Failures are printed above it as they happen,
one line each, and the run's summary follows the final frame.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from types import TracebackType

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from flowdesk.cli.progress import ansi, finished_line, header_line, id_width, summary
from flowdesk.engine import (
    ItemFinished,
    MapStarted,
    NodeFinished,
    NodeRetrying,
    NodeStarted,
    NodeState,
    RunEvent,
    RunFinished,
    RunStarted,
)

REFRESH_PER_SECOND = 4
SHOWN_RUNNING = 4
"""Running nodes named on the display; the rest are counted as "+N more"."""
COUNTED = (
    NodeState.REUSED,
    NodeState.FAILED,
    NodeState.SKIPPED,
    NodeState.CANCELLED,
    NodeState.INTERRUPTED,
)
STYLES = {
    NodeState.REUSED: "cyan",
    NodeState.FAILED: "red",
    NodeState.SKIPPED: "bright_black",
    NodeState.CANCELLED: "magenta",
    NodeState.INTERRUPTED: "yellow",
}


class LiveProgress:
    """An event listener that keeps a live display of one run; use it as a context manager."""

    def __init__(self, console: Console, *, refresh_per_second: float = REFRESH_PER_SECOND) -> None:
        self._console = console
        self._lock = threading.Lock()
        self._total = 0
        self._done = 0
        self._counts = dict.fromkeys(COUNTED, 0)
        self._retries = 0
        self._running: dict[str, int] = {}
        """Node id -> attempt, in the order the nodes started."""
        self._items: dict[str, tuple[int, int]] = {}
        """Mapped node running -> (items final, items), shown beside its name."""
        self._width = 8
        self._started: float | None = None
        self._finished: float | None = None
        self._spinner = Spinner("dots", style="yellow")
        self._live = Live(
            console=console,
            refresh_per_second=refresh_per_second,
            redirect_stdout=False,  # stdout carries the run's results, never the display
            get_renderable=self._render,
        )

    def __enter__(self) -> LiveProgress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._live.stop()

    def __call__(self, event: RunEvent) -> None:
        match event:
            case NodeStarted():
                with self._lock:
                    self._running[event.node_id] = event.attempt
            case ItemFinished():
                with self._lock:
                    self._items[event.node_id] = (event.done, event.total)
            case MapStarted():
                with self._lock:
                    self._items[event.node_id] = (0, event.total)
            case NodeFinished():
                with self._lock:
                    self._running.pop(event.node_id, None)
                    self._items.pop(event.node_id, None)
                    self._done += 1
                    if event.state in self._counts:
                        self._counts[event.state] += 1
                if event.state is NodeState.FAILED:
                    self._print(finished_line(event, self._width, ansi))
            case NodeRetrying():
                with self._lock:
                    self._retries += 1
            case RunStarted():
                with self._lock:
                    self._total = len(event.node_ids)
                    self._width = id_width(event)
                    self._started = time.monotonic()
                self._print(header_line(event))
                self._live.start(refresh=True)
            case RunFinished():
                with self._lock:
                    self._finished = time.monotonic()
                    self._running.clear()
                self._live.stop()  # draws the final frame; the summary goes below it
                self._print(summary(event.result, ansi))

    def _print(self, line: str) -> None:
        """One line above the live display (the terminal wraps it if it is long)."""
        self._console.print(Text.from_ansi(line), soft_wrap=True)

    def _render(self) -> RenderableType:
        """The display as of now; called by rich's refresh thread, so it reads under the lock."""
        with self._lock:
            total, done, retries = self._total, self._done, self._retries
            counts = dict(self._counts)
            running = list(self._running.items())
            items = dict(self._items)
            started, finished = self._started, self._finished
        elapsed = ((finished or time.monotonic()) - started) if started is not None else 0.0
        status = Table.grid(padding=(0, 1))
        status.add_row(
            self._spinner if finished is None else Text("■", style="bold"),
            ProgressBar(
                total=max(total, 1),
                completed=done,
                width=40,
                finished_style=_bar_style(counts),
            ),
            _status_text(done, total, counts, retries, elapsed),
        )
        if not running:
            return status
        return Group(status, _running_text(running, items))


def _bar_style(counts: dict[NodeState, int]) -> str:
    """The full bar's colour: how the run ended, as the summary paints it."""
    for state in (NodeState.FAILED, NodeState.CANCELLED, NodeState.INTERRUPTED):
        if counts[state]:
            return STYLES[state]
    return "green"


def _status_text(
    done: int, total: int, counts: dict[NodeState, int], retries: int, elapsed: float
) -> Text:
    text = Text(f"{done:,}/{total:,} nodes")
    for state, count in counts.items():
        if count:
            text.append(" · ")
            text.append(f"{count:,} {state.value.lower()}", style=STYLES[state])
    if retries:
        text.append(f" · {retries:,} retries", style="yellow")
    text.append(f" · {timedelta(seconds=int(elapsed))}", style="cyan")
    return text


def _running_text(
    running: list[tuple[str, int]], items: dict[str, tuple[int, int]] | None = None
) -> Text:
    """`  running: a, b (attempt 2), each 37/100, d +12 more`, cut at the terminal's edge."""
    items = items or {}
    names = [
        f"{node_id} {items[node_id][0]:,}/{items[node_id][1]:,}"
        if node_id in items
        else f"{node_id} (attempt {attempt})"
        if attempt > 1
        else node_id
        for node_id, attempt in running[:SHOWN_RUNNING]
    ]
    more = f" +{len(running) - SHOWN_RUNNING:,} more" if len(running) > SHOWN_RUNNING else ""
    text = Text("  running: ", style="yellow")
    text.append(", ".join(names) + more)
    text.no_wrap, text.overflow = True, "ellipsis"
    return text
