"""`flowdesk validate` through a real subprocess: exit codes, messages, never a traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import DATA, EXAMPLES


def flowdesk(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowdesk", *args], capture_output=True, text=True, timeout=60
    )


def test_valid_file_exits_0_with_a_summary() -> None:
    result = flowdesk("validate", str(EXAMPLES / "parallel_api_fetcher.json"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "parallel_api_fetcher.json: valid: 'Parallel API Fetcher', 5 nodes in 3 levels"
    )
    assert result.stderr == ""


@pytest.mark.parametrize("path", sorted((DATA / "invalid").glob("*.json")), ids=lambda p: p.stem)
def test_invalid_files_exit_2_with_one_line_per_problem(path) -> None:
    result = flowdesk("validate", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert all(line.startswith(str(path)) for line in lines), lines
    assert f"[{path.stem}]" in result.stderr


def test_malformed_json_reports_line_and_column() -> None:
    """Where json itself says the error is (the Python version decides: 3.13 names the comma)."""
    path = DATA / "invalid" / "malformed-json.json"
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(path.read_text(encoding="utf-8"))
    result = flowdesk("validate", str(path))
    where = f"line {expected.value.lineno}, column {expected.value.colno}"
    assert f"{path}: {where}: malformed JSON: {expected.value.msg}" in result.stderr


def test_several_problems_give_several_lines(tmp_path) -> None:
    path = tmp_path / "two.json"
    path.write_text(
        '{"name": "two", "dag": {"nodes": [{"id": "a", "handler": "x"}, {"id": "b-", "handler": "input"}]}}'
    )
    result = flowdesk("validate", str(path))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3
    assert "unknown handler 'x'" in lines[0] or "unknown handler 'x'" in lines[1]
    assert lines[-1].endswith("2 error(s); the workflow cannot run")


@pytest.mark.parametrize("target", ["missing.json", "."])
def test_unreadable_input_is_one_line(tmp_path, target) -> None:
    result = flowdesk("validate", str(tmp_path / target))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_help_lists_the_commands() -> None:
    result = flowdesk("--help")
    assert result.returncode == 0
    for command in ("gui", "validate", "run"):
        assert command in result.stdout


def test_bad_usage_exits_2() -> None:
    result = flowdesk("validate")
    assert result.returncode == 2
    assert "FILE" in result.stderr


def test_a_closed_pipe_is_not_an_error(tmp_path) -> None:
    """`flowdesk run X --json | head -c 10` must not end in a traceback or an internal error."""
    path = tmp_path / "big.json"
    path.write_text(
        '{"name": "big", "dag": {"nodes": [{"id": "t", "handler": "output",'
        ' "config": {"value": "{{ \'x\' * 200000 }}"}}]}}'
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "flowdesk", "run", str(path), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "FLOWDESK_DB": str(tmp_path / "runs.db")},
    )
    process.stdout.read(10)
    process.stdout.close()
    stderr = process.stderr.read().decode()
    process.wait(timeout=30)
    assert stderr == ""
    assert process.returncode == 0


def test_the_editor_without_a_display_is_a_clear_error() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    result = subprocess.run(
        [sys.executable, "-m", "flowdesk"], capture_output=True, text=True, timeout=60, env=env
    )
    assert result.returncode == 2
    assert result.stderr.startswith("flowdesk: no display to open the editor on")


def test_a_200_node_clique_is_one_cycle_problem(tmp_path) -> None:
    """Issue 12: a 313 KB clique took a minute to validate (every cycle re-sorted the graph)."""
    nodes = [
        {"id": f"n{i}", "handler": "input", "dependencies": [f"n{j}" for j in range(200) if j != i]}
        for i in range(200)
    ]
    path = tmp_path / "clique.json"
    path.write_text(json.dumps({"name": "clique", "dag": {"nodes": nodes}}))
    result = flowdesk("validate", str(path))
    assert result.returncode == 2
    [line] = [line for line in result.stderr.splitlines() if "[cycle]" in line]
    assert "dependency cycle: n0 -> " in line
    assert "198 more node(s) on cycles with it" in line


@pytest.mark.parametrize(
    ("data", "hint"),
    [
        ({"name": "no dag"}, "no 'dag'"),
        ({"name": "typo", "dga": {"nodes": [{"id": "a", "handler": "input"}]}}, "found 'dga'"),
    ],
)
def test_a_workflow_without_a_dag_is_an_error_not_an_empty_run(tmp_path, data, hint) -> None:
    """Issue 12: it loaded as an empty workflow that 'COMPLETED' doing nothing."""
    path = tmp_path / "w.json"
    path.write_text(json.dumps(data))
    for command in (("validate", str(path)), ("run", str(path), "--db", str(tmp_path / "r.db"))):
        result = flowdesk(*command)
        assert result.returncode == 2, result.stderr
        assert hint in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{{ params.x | nosuchfilter }}", "No filter named 'nosuchfilter'"),
        ("{{ params.x is nosuchtest }}", "No test named 'nosuchtest'"),
        ("{{ " + "(" * 3000 + "params.x" + ")" * 3000 + " }}", "nested too deeply"),
    ],
)
def test_templates_jinja_cannot_compile_are_validation_problems(tmp_path, template, reason):
    """Issue 12, point 5: these ended in exit 3 "internal error" with jinja2's introspection
    file name; they are problems of the node's template, found by validate."""
    nodes = [
        {"id": "input", "handler": "input"},
        {
            "id": "t",
            "handler": "transform",
            "dependencies": ["input"],
            "config": {"value": template},
        },
    ]
    path = tmp_path / "w.json"
    path.write_text(json.dumps({"name": "t", "dag": {"nodes": nodes}}))
    result = flowdesk("validate", str(path))
    assert result.returncode == 2
    [problem] = [line for line in result.stderr.splitlines() if "[template-syntax]" in line]
    assert "node 't', config.value" in problem and reason in problem
    assert "internal error" not in result.stderr and "<introspection>" not in result.stderr
