"""Live progress of a run on the terminal: one line per node state change, on stderr."""

from __future__ import annotations

import os
import sys
from typing import TextIO

from flowdesk.engine.events import (
    NodeFinished,
    NodeRetrying,
    NodeStarted,
    RunEvent,
    RunFinished,
    RunStarted,
)
from flowdesk.engine.results import RunResult
from flowdesk.engine.states import NodeState, RunState

MARKS = {
    NodeState.SUCCEEDED: ("✓", "32"),
    NodeState.FAILED: ("✗", "31"),
    NodeState.SKIPPED: ("-", "90"),
    NodeState.CANCELLED: ("⊘", "35"),
}
RUN_COLOURS = {RunState.COMPLETED: "32", RunState.FAILED: "31", RunState.CANCELLED: "35"}
ERROR_PREVIEW = 160


class ProgressPrinter:
    """An event listener that writes node states as they change."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.colour = self.stream.isatty() and "NO_COLOR" not in os.environ
        self.width = 12

    def _paint(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.colour else text

    def _line(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def __call__(self, event: RunEvent) -> None:
        match event:
            case RunStarted():
                self.width = max((len(n) for n in event.node_ids), default=8)
                reused = f", {len(event.resumed_node_ids)} reused" if event.resumed_node_ids else ""
                self._line(
                    f"run {event.run_id} '{event.workflow}': {len(event.node_ids)} nodes{reused}"
                )
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
                mark, code = MARKS.get(event.state, ("?", "0"))
                result = event.result
                detail = ""
                if result.reused:
                    detail = "  (reused from an earlier attempt of this run)"
                elif result.duration_s is not None and event.state is not NodeState.SKIPPED:
                    detail = f"  {result.duration_s:.2f} s"
                if event.error and event.state is not NodeState.SUCCEEDED:
                    detail += f"  {_short(event.error)}"
                self._line(
                    f"  {self._paint(mark, code)} {event.node_id:<{self.width}} "
                    f"{self._paint(event.state.value, code)}{detail}"
                )
            case RunFinished():
                self._line(summary(event.result, self._paint))


def summary(result: RunResult, paint=lambda text, code: text) -> str:
    counts = ", ".join(
        f"{result.count(state)} {state.value.lower()}" for state in NodeState if result.count(state)
    )
    took = f" in {result.duration_s:.2f} s" if result.duration_s is not None else ""
    state = paint(result.state.value, RUN_COLOURS.get(result.state, "0"))
    return f"run {result.run_id} {state}{took}: {counts}"


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= ERROR_PREVIEW else text[: ERROR_PREVIEW - 1] + "…"
