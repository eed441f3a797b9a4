"""Hostile workflows through the real CLI, each in a subprocess with its address space limited
(resource.setrlimit in a preexec function): the exit code, one line on stderr, no traceback,
bounded time and bounded peak memory. A workflow file someone sends you must never freeze
`flowdesk validate` or `flowdesk run`, eat gigabytes, or end in exit 3."""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ADDRESS_SPACE = 1536 * 1024 * 1024
"""Far below what any payload here would take unbounded (gigabytes), well above a run's need."""
PEAK_RSS_MB = 400
WALL_S = 60


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_mb: float


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


# `python -m flowdesk ...`, writing this process image's own peak RSS (VmHWM) to a file at
# exit. ru_maxrss from wait4 would also count the RSS the child had as a fork of pytest.
REPORTING_PEAK = """
import atexit, os, runpy, sys

def report_peak(path=os.environ.pop("FLOWDESK_TEST_PEAK_FILE")):
    with open("/proc/self/status") as status, open(path, "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM")).split()[1])

atexit.register(report_peak)
sys.argv[0] = "flowdesk"
runpy.run_module("flowdesk", run_name="__main__", alter_sys=True)
"""


def flowdesk_limited(*args: str, env: dict[str, str] | None = None) -> Outcome:
    """Run the CLI under the memory limit (set in a preexec function); a timer kills it if it
    hangs. The peak RSS is the child's own, reported by it as it exits."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        peak_file = Path(scratch) / "peak"
        process = subprocess.Popen(
            [sys.executable, "-c", REPORTING_PEAK, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_limit_memory,
            env={**os.environ, **(env or {}), "FLOWDESK_TEST_PEAK_FILE": str(peak_file)},
        )
        try:
            stdout, stderr = process.communicate(timeout=WALL_S * 2)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
            pytest.fail(f"flowdesk {' '.join(args)} hung: {stderr[-500:]}")
        peak_kb = float(peak_file.read_text()) if peak_file.exists() else float("inf")
        return Outcome(
            process.returncode, stdout, stderr, time.monotonic() - started, peak_kb / 1024
        )


def stored_state(db: Path) -> str:
    with closing(sqlite3.connect(db)) as connection:
        return connection.execute("SELECT state FROM runs").fetchone()[0]


def write_workflow(tmp_path: Path, *nodes: dict[str, Any]) -> str:
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps({"name": "hostile", "dag": {"nodes": list(nodes)}}))
    return str(path)


def transform(value: Any, **extra: Any) -> dict[str, Any]:
    return {"id": "t", "handler": "transform", "config": {"value": value}, **extra}


LOOPS = (
    "{% for a in params.lst %}{% for b in params.lst %}{% for c in params.lst %}"
    "{% endfor %}{% endfor %}{% endfor %}"
)
PARAMS = json.dumps({"n": 10, "s": "ab", "lst": list(range(1000)), "d": {"a": 1}})

# (id, node, exit code of `run`, text on stderr); validate is 0 for these: they fail when run.
RUN_FAILURES = [
    ("repeat", transform("{{ 'a' * 10**9 }}"), "template result too large: repetition"),
    ("power-constant", transform("{{ 10 ** (10 ** 7) }}"), "the power would have about"),
    ("power-params", transform("{{ params.n ** (params.n ** 12) }}"), "the power would have"),
    ("center", transform("{{ 'x' | center(1000000000) }}"), "'center' would be"),
    ("percent", transform("{{ '%1000000000d' % 1 }}"), "the formatted text would be"),
    ("join", transform("{{ params.lst | join('-' * 100000) }}"), "'join' would be"),
    ("loops", transform(LOOPS, timeout_s=1), "template took longer than 1 s"),
    ("map", transform("{{ params.lst | map('abs') }}"), "add `| list`"),
    ("self", transform("{{ self }}"), "the value is a TemplateReference"),
    ("items", transform("{{ params.d.items() }}"), "the value is a dict_items"),
    ("method", transform("{{ ''.join }}"), "call it with ()"),
]


@pytest.mark.parametrize(
    ("node", "expected"),
    [case[1:] for case in RUN_FAILURES],
    ids=[case[0] for case in RUN_FAILURES],
)
def test_a_hostile_template_fails_its_node_within_bounds(tmp_path, node, expected) -> None:
    db = tmp_path / "runs.db"
    path = write_workflow(tmp_path, node)
    outcome = flowdesk_limited("run", path, "--params", PARAMS, "--db", str(db), "--json")
    assert outcome.code == 1, outcome.stderr
    assert "Traceback" not in outcome.stderr
    run = json.loads(outcome.stdout)
    assert run["status"] == "FAILED"
    assert expected in run["nodes"]["t"]["error"]
    assert stored_state(db) == "FAILED"  # recorded as a failure, never left INTERRUPTED
    assert outcome.seconds < WALL_S
    assert outcome.peak_mb < PEAK_RSS_MB, f"{outcome.peak_mb:.0f} MB"


def test_validate_reads_every_hostile_template_without_evaluating_it(tmp_path) -> None:
    """jinja2 folds constants when it compiles; none of these may be computed by reading."""
    nodes = [{**node, "id": f"n{i}"} for i, (_, node, _) in enumerate(RUN_FAILURES)]
    outcome = flowdesk_limited("validate", write_workflow(tmp_path, *nodes))
    assert outcome.code == 0, outcome.stderr
    assert outcome.seconds < WALL_S
    assert outcome.peak_mb < PEAK_RSS_MB


VALIDATE_PROBLEMS = [
    ("constant-lookup", "{{ ''[0] ~ params.s }}", "undefined: str object has no element 0"),
    ("unknown-filter", "{{ params.s | nosuchfilter }}", "No filter named 'nosuchfilter'"),
    ("deep-nesting", "{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}", "nested too deeply"),
]


@pytest.mark.parametrize(
    ("template", "expected"),
    [case[1:] for case in VALIDATE_PROBLEMS],
    ids=[case[0] for case in VALIDATE_PROBLEMS],
)
def test_a_template_that_cannot_be_read_is_a_validation_problem(
    tmp_path, template, expected
) -> None:
    path = write_workflow(tmp_path, transform(template))
    for command in (["validate", path], ["run", path, "--db", str(tmp_path / "r.db")]):
        outcome = flowdesk_limited(*command)
        assert outcome.code == 2, outcome.stderr
        lines = outcome.stderr.strip().splitlines()
        assert any(expected in line and "node 't'" in line for line in lines), lines
        assert "Traceback" not in outcome.stderr and "<introspection>" not in outcome.stderr
        assert outcome.peak_mb < PEAK_RSS_MB


def test_a_lone_surrogate_in_a_template_is_exit_2(tmp_path) -> None:
    path = tmp_path / "surrogate.json"
    path.write_text(
        '{"name": "s", "dag": {"nodes": [{"id": "t", "handler": "transform",'
        ' "config": {"value": "{{ params.s }}\\ud800"}}]}}'
    )
    outcome = flowdesk_limited("validate", str(path))
    assert outcome.code == 2, outcome.stderr
    assert len(outcome.stderr.strip().splitlines()) >= 1
    assert "surrogate" in outcome.stderr
    assert "Traceback" not in outcome.stderr


def test_an_output_over_the_configured_limit_fails_the_node(tmp_path) -> None:
    path = write_workflow(tmp_path, transform("{{ params.s * 700000 }}"))
    outcome = flowdesk_limited(
        "run",
        path,
        "--params",
        PARAMS,
        "--db",
        str(tmp_path / "r.db"),
        env={"FLOWDESK_MAX_VALUE_MB": "1"},
    )
    assert outcome.code == 1, outcome.stderr
    assert "template result too large: repetition would be 1.3 MB (limit 1.0 MB)" in (
        outcome.stdout + outcome.stderr
    )
