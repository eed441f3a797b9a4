"""The Runs panel's log is always the log of the run on show: a new run replaces it whatever
the lengths of the two logs, and a run picked in the history shows its own log, rebuilt from
the stored node states and times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from PySide6.QtCore import QObject, Signal

from flowdesk.engine.events import NodeFinished, NodeStarted, RunEvent, RunFinished, RunStarted
from flowdesk.engine.results import NodeResult, RunResult
from flowdesk.engine.states import NodeState, RunState
from flowdesk.gui.run_panel import RunPanel
from flowdesk.gui.run_state import RunBoard, stored_log

T0 = datetime(2026, 1, 2, 10, 0, 0, tzinfo=UTC)


def at(ms: int) -> datetime:
    return T0 + timedelta(milliseconds=ms)


def node(node_id: str, state: NodeState, start: int | None, end: int | None, **extra) -> NodeResult:
    return NodeResult(
        node_id,
        state,
        started_at=at(start) if start is not None else None,
        finished_at=at(end) if end is not None else None,
        **extra,
    )


def run_events(run_id: str, node_ids: list[str]) -> list[RunEvent]:
    """A whole quick run in which every node succeeds, as the engine emits it."""
    results = {n: node(n, NodeState.SUCCEEDED, 10 * i, 10 * i + 5) for i, n in enumerate(node_ids)}
    result = RunResult(run_id, "wf", RunState.COMPLETED, {}, results, [], at(0), at(100))
    events: list[RunEvent] = [RunStarted(run_id, "wf", {}, tuple(node_ids), at(0))]
    for node_id, res in results.items():
        events.append(NodeStarted(run_id, node_id, 1, res.started_at))  # type: ignore[arg-type]
        events.append(NodeFinished(run_id, node_id, NodeState.SUCCEEDED, res))
    events.append(RunFinished(run_id, RunState.COMPLETED, result, at(100)))
    return events


class FakeRunSource(QObject):
    """What RunPanel reads from its controller: the board, whether a run is active, and a
    signal after each repaint. The panel is tested alone, without an engine or a store."""

    board_changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.board = RunBoard()
        self.active = False


def test_a_stored_run_has_its_log_rebuilt_in_time_order() -> None:
    nodes = {  # in definition order, not in time order
        "late": node("late", NodeState.FAILED, 40, 90, error="HTTP 500", attempts=3),
        "early": node("early", NodeState.SUCCEEDED, 5, 20, attempts=1),
        "child": node(
            "child", NodeState.SKIPPED, None, 90, error="upstream 'late' did not succeed"
        ),
        "never": node("never", NodeState.PENDING, None, None),
    }
    result = RunResult("abcdef0123456789", "wf", RunState.FAILED, {}, nodes, [], at(0), at(90))

    board = RunBoard()
    board.show_result(result)

    lines = [entry.text for entry in board.log]
    assert lines == [
        "run abcdef01 started: 4 nodes",
        "early started",
        "early SUCCEEDED",
        "late started",
        "late FAILED after 3 attempts: HTTP 500",
        "child SKIPPED: upstream 'late' did not succeed",
        "run abcdef01 FAILED in 0.09 s",
    ]
    assert [entry.at for entry in board.log] == sorted(entry.at for entry in board.log)
    assert board.log[1].node_id == "early" and board.log[0].node_id is None
    assert stored_log(result) == board.log


def test_live_and_rebuilt_logs_use_the_same_words() -> None:
    live = RunBoard()
    events = run_events("feedface00000000", ["a", "b"])
    for event in events:
        live(event)
    rebuilt = RunBoard()
    final = events[-1]
    assert isinstance(final, RunFinished)
    rebuilt.show_result(final.result)
    assert [e.text for e in rebuilt.log] == [e.text for e in live.log]


def show_run(source: FakeRunSource, run_id: str, node_ids: list[str]) -> None:
    """Every event of a run reaches the board before the panel repaints once."""
    for event in run_events(run_id, node_ids):
        source.board(event)
    source.board_changed.emit()


def test_the_log_is_replaced_when_a_new_run_has_as_many_events(qtbot) -> None:
    """Two quick runs: every event of the second arrives before the panel repaints."""
    source = FakeRunSource()
    panel = RunPanel(source)  # type: ignore[arg-type]
    qtbot.addWidget(panel)
    show_run(source, "11111111aaaa", ["input", "x"])
    assert "run 11111111 COMPLETED" in panel.log.toPlainText()

    show_run(source, "22222222bbbb", ["input", "x"])  # same length
    text = panel.log.toPlainText()
    assert "run 22222222 started" in text and "run 22222222 COMPLETED" in text
    assert "11111111" not in text
    assert text.count("x SUCCEEDED") == 1
    assert panel.status.text().startswith("Run 22222222bbbb")

    show_run(source, "33333333cccc", ["input", "x", "y"])  # longer
    text = panel.log.toPlainText()
    assert "22222222" not in text and text.count("run 33333333") == 2


def test_a_run_from_the_history_shows_its_log_not_the_last_one(qtbot) -> None:
    source = FakeRunSource()
    panel = RunPanel(source)  # type: ignore[arg-type]
    qtbot.addWidget(panel)
    show_run(source, "44444444dddd", ["input", "x"])
    stored = RunResult(
        "55555555eeee",
        "wf",
        RunState.FAILED,
        {},
        {"input": node("input", NodeState.FAILED, 1, 2, error="boom")},
        [],
        at(0),
        at(3),
    )
    source.board.show_result(stored)
    source.board_changed.emit()
    text = panel.log.toPlainText()
    assert "44444444" not in text
    assert "input FAILED: boom" in text and "run 55555555 FAILED" in text

    source.board.clear()
    source.board_changed.emit()
    assert panel.log.toPlainText() == ""
    assert panel.status.text() == "No run on show."


def test_two_quick_runs_in_the_editor_then_the_first_from_the_history(
    window, loop, tmp_path
) -> None:
    from .test_runs import INPUT, finish, write

    double = {"id": "double", "handler": "transform", "dependencies": ["input"]}
    double["config"] = {"value": "{{ 21 * 2 }}"}
    window.open_file(write(tmp_path, [INPUT, double], name="quick"), ask=False)
    panel = window.runs.panel
    window.runs.run()
    first = finish(window, loop).run_id
    window.runs.run()
    second = finish(window, loop).run_id
    assert first != second

    text = panel.log.toPlainText()
    assert f"run {second[:8]} started" in text and f"run {second[:8]} COMPLETED" in text
    assert first[:8] not in text
    assert second[:12] in window.statusBar().currentMessage()

    panel.select_history(first)
    panel.history_selected.emit(first)
    text = panel.log.toPlainText()
    assert f"run {first[:8]} started: 2 nodes" in text
    assert "double SUCCEEDED" in text and f"run {first[:8]} COMPLETED" in text
    assert second[:8] not in text


def test_refilling_the_history_selects_only_the_run_asked_for(qtbot) -> None:
    from flowdesk.store import RunSummary

    def summary(run_id: str) -> RunSummary:
        return RunSummary(run_id, "wf", RunState.COMPLETED, at(0), at(0), at(5))

    panel = RunPanel(FakeRunSource())  # type: ignore[arg-type]
    qtbot.addWidget(panel)
    panel.show_history([summary("a" * 32), summary("b" * 32)], select="a" * 32)
    assert panel.selected_run_id() == "a" * 32
    # Another workflow opened: its runs, none of them on show.
    panel.show_history([summary("c" * 32), summary("d" * 32)])
    assert panel.selected_run_id() is None
    assert not panel.rerun_button.isEnabled()
    panel.show_history([summary("c" * 32), summary("d" * 32)], select="d" * 32)
    assert panel.selected_run_id() == "d" * 32
