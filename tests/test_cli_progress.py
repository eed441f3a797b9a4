"""`flowdesk run`'s progress on stderr: a live display on a terminal, one line per change elsewhere.

The listeners are driven by real WorkflowRuns; the live display writes to a rich Console forced
to behave as a terminal, into a StringIO.
"""

from __future__ import annotations

import asyncio
import io
import re

import pytest
from conftest import workflow
from pydantic import BaseModel
from rich.console import Console

from flowdesk.cli.live import LiveProgress
from flowdesk.cli.progress import ProgressPrinter, progress_listener
from flowdesk.engine import HandlerRegistry
from flowdesk.engine.events import NodeStarted
from flowdesk.engine.registry import HandlerSpec
from flowdesk.engine.scheduler import WorkflowRun
from flowdesk.engine.states import RunState

INPUT = {"id": "input", "handler": "input"}
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class Terminal(io.StringIO):
    """A StringIO that says it is a terminal, as stderr does in a shell."""

    def isatty(self) -> bool:
        return True


def wide_run(width: int, *, failing: int = 0) -> WorkflowRun:
    """`width` no-op nodes after an input node, and `failing` nodes whose template fails."""
    nodes = [INPUT]
    nodes += [
        {"id": f"n{i}", "handler": "transform", "dependencies": ["input"], "config": {"value": i}}
        for i in range(width)
    ]
    nodes += [
        {
            "id": f"broken{i}",
            "handler": "transform",
            "dependencies": ["input"],
            "config": {"value": "{{ input.missing.key }}"},
        }
        for i in range(failing)
    ]
    return WorkflowRun(workflow(*nodes), HandlerRegistry.default())


def plain(text: str) -> list[str]:
    """The lines a terminal ends up showing, roughly: colours and cursor codes removed, and a
    line redrawn in place (`\\r`, erase) counted once."""
    lines = []
    for line in ANSI.sub("", text).split("\n"):
        lines.append(line.split("\r")[-1])
    return [line for line in lines if line.strip()]


def test_a_2000_node_run_on_a_terminal_prints_a_few_lines_ending_with_the_summary(
    monkeypatch,
) -> None:
    renders = 0
    render = LiveProgress._render

    def counting_render(self: LiveProgress):
        nonlocal renders
        renders += 1
        return render(self)

    monkeypatch.setattr(LiveProgress, "_render", counting_render)
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    run = wide_run(2000, failing=2)
    events = 0

    def count(_event) -> None:
        nonlocal events
        events += 1

    with LiveProgress(console) as listener:
        run.subscribe(listener)
        run.subscribe(count)
        result = asyncio.run(run.execute())

    assert result.state is RunState.FAILED
    text = out.getvalue()
    assert text.count("\n") < 200, f"{text.count(chr(10))} lines for a 2,003-node run"
    assert events > 4000 and renders < 100, f"{renders} redraws for {events} events"
    lines = plain(text)
    assert lines[0] == f"run {run.id} 'test': 2003 nodes"
    failures = [line for line in lines if "FAILED" in line and "broken" in line]
    assert len(failures) == 2, lines
    assert "template '{{ input.missing.key }}'" in failures[0]
    assert re.search(r"2,003/2,003 nodes · 2 failed · 0:00:\d\d$", lines[-2]), lines[-2]
    assert re.fullmatch(
        rf"run {run.id} FAILED in \d+\.\d\d s: 2001 succeeded, 2 failed", lines[-1]
    ), lines[-1]


def test_the_live_display_names_a_few_running_nodes_and_counts_the_rest() -> None:
    class Hold(BaseModel):
        pass

    release = asyncio.Event()

    async def hold(config: Hold, context) -> None:
        await release.wait()

    registry = HandlerRegistry.default()
    registry.register(HandlerSpec("hold", Hold, hold))
    definition = workflow(*({"id": f"h{i}", "handler": "hold"} for i in range(10)))
    run = WorkflowRun(definition, registry)
    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    shown = Console(file=io.StringIO(), width=120, color_system=None)
    snapshot: list[str] = []

    async def scenario() -> None:
        with LiveProgress(console) as listener:
            run.subscribe(listener)
            started: set[str] = set()

            def when_all_run(event) -> None:
                if isinstance(event, NodeStarted):
                    started.add(event.node_id)
                    if len(started) == 10:
                        shown.print(listener._render())
                        snapshot.append(shown.file.getvalue())
                        release.set()

            run.subscribe(when_all_run)
            await run.execute()

    asyncio.run(scenario())
    (display,) = snapshot
    assert "0/10 nodes" in display
    assert "running: h0, h1, h2, h3 +6 more" in display


def test_on_a_pipe_every_state_change_is_one_line() -> None:
    out = io.StringIO()
    run = wide_run(5, failing=1)
    with progress_listener(out) as listener:
        assert isinstance(listener, ProgressPrinter)
        run.subscribe(listener)
        asyncio.run(run.execute())
    lines = out.getvalue().splitlines()
    # The header; RUNNING for each node (one with a bad template too: templates are part of
    # running a node, and may take a while); one result per node; the summary.
    assert len(lines) == 1 + 7 + 7 + 1, lines
    assert sum("RUNNING" in line for line in lines) == 7
    assert sum("SUCCEEDED" in line for line in lines) == 6
    assert sum("FAILED" in line for line in lines[:-1]) == 1
    assert "\x1b[" not in out.getvalue(), "no colour codes in a file"
    assert lines[-1].startswith(f"run {run.id} FAILED")


@pytest.mark.parametrize(("term", "live"), [("xterm-256color", True), ("dumb", False)])
def test_a_terminal_gets_the_live_display_unless_it_is_dumb(monkeypatch, term, live) -> None:
    monkeypatch.setenv("TERM", term)
    for name in ("TTY_COMPATIBLE", "TTY_INTERACTIVE", "FORCE_COLOR", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    out = Terminal()
    run = wide_run(3)
    with progress_listener(out) as listener:
        assert isinstance(listener, LiveProgress if live else ProgressPrinter)
        run.subscribe(listener)
        asyncio.run(run.execute())
    assert plain(out.getvalue())[-1].startswith(f"run {run.id} COMPLETED")
