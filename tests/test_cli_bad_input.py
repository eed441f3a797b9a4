"""Bad input through the real command line: exit 2, exactly one line on stderr, no traceback,
and nothing recorded (issue 12, point 8). Each case once ended in exit 3 "internal error" or a
SQLAlchemy dump of the SQL it was running."""

from __future__ import annotations

import ctypes
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from cli_process import run_flowdesk

DEEP = 100_000
"""Nesting depth of the deep JSON documents (as in the issue)."""
DEEP_ARGUMENT = 60_000
"""For --params: one command-line argument holds at most 128 KiB on Linux."""
LONG_INTEGER = "9" * 5_000
"""Longer than Python's int string-conversion limit (4,300 digits by default)."""


def flowdesk(*args: str, db: Path, **options) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLOWDESK_DB_TIMEOUT": "0.5"}
    return run_flowdesk(*args, db=db, env=env, **options)


def one_clear_line(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit 2, one line on stderr holding every needle, no traceback; the line."""
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr[:2000]
    assert result.returncode == 2, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def workflow_text(*, name: str = '"bad"', node_id: str = '"a"', value: str = '"x"') -> str:
    """A valid workflow's JSON with raw JSON text put in as the name, an id and a config value."""
    return (
        f'{{"name": {name}, "dag": {{"nodes": [{{"id": {node_id}, "handler": "transform", '
        f'"config": {{"value": {value}}}}}]}}}}'
    )


def write_workflow(tmp_path: Path, text: str) -> str:
    path = tmp_path / "workflow.json"
    path.write_text(text, encoding="utf-8")
    return str(path)


GOOD_WORKFLOW = json.dumps(
    {
        "name": "good",
        "dag": {
            "nodes": [
                {"id": "input", "handler": "input"},
                {"id": "out", "handler": "output", "dependencies": ["input"]},
            ]
        },
    }
)


def no_runs_recorded(db: Path) -> bool:
    if not db.exists():
        return True
    with closing(sqlite3.connect(db)) as connection:
        return connection.execute("SELECT count(*) FROM runs").fetchone()[0] == 0


# -- the workflow file ---------------------------------------------------------------------------

BAD_WORKFLOWS = {
    "nested 100,000 deep": (
        workflow_text(value="[" * DEEP + "]" * DEEP),
        ["JSON nested more than 200 levels deep", "line 1, column"],
    ),
    "nested just past the limit": (
        workflow_text(value="[" * 200 + "]" * 200),
        ["JSON nested more than 200 levels deep"],
    ),
    "an integer too long to convert": (
        workflow_text(value=LONG_INTEGER),
        [
            "number too long: 5,000 digits (at most 4,300)",
            f"line 1, column {workflow_text(value=LONG_INTEGER).index(LONG_INTEGER) + 1}",
        ],
    ),
    "a lone surrogate in the name": (
        workflow_text(name='"\\ud800"'),
        ["name: ", "lone surrogate"],
    ),
    "a lone surrogate in an id": (
        workflow_text(node_id='"a\\udc00"'),
        ["dag.nodes[0].id: ", "lone surrogate"],
    ),
    "a lone surrogate in a config value": (
        workflow_text(value='{"deep": ["ok", "x\\uDBFF"]}'),
        ["dag.nodes[0].config.value.deep[1]: ", "lone surrogate"],
    ),
    "a lone surrogate in a key": (
        workflow_text(value='{"k\\ud800": 1}'),
        ["dag.nodes[0].config.value: ", "lone surrogate"],
    ),
}


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("case", list(BAD_WORKFLOWS), ids=list(BAD_WORKFLOWS))
def test_a_workflow_file_flowdesk_cannot_hold_is_one_line(tmp_path, case, command) -> None:
    text, needles = BAD_WORKFLOWS[case]
    path = write_workflow(tmp_path, text)
    db = tmp_path / "runs.db"
    line = one_clear_line(flowdesk(command, path, db=db), *needles)
    assert line.startswith(f"{path}: ")
    assert line.endswith("[malformed-json]")
    assert no_runs_recorded(db)


def test_a_valid_surrogate_pair_and_deep_enough_json_still_load(tmp_path) -> None:
    text = workflow_text(name='"\\ud83d\\ude00 ok"', value="[" * 190 + "7" + "]" * 190)
    result = flowdesk("run", write_workflow(tmp_path, text), "--json", db=tmp_path / "runs.db")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["workflow"] == "\U0001f600 ok"
    assert report["status"] == "COMPLETED"


# -- params ----------------------------------------------------------------------------------------

BAD_PARAMS = {
    "nested 100,000 deep": (
        '{"a": ' + "[" * DEEP + "]" * DEEP + "}",
        ["JSON nested more than 200 levels deep"],
    ),
    "an integer too long to convert": (
        '{"n": ' + LONG_INTEGER + "}",
        ["number too long: 5,000 digits", "line 1, column 7"],
    ),
    "a lone surrogate": ('{"user": {"name": "\\ud800"}}', ["user.name: ", "lone surrogate"]),
}


@pytest.mark.parametrize("case", list(BAD_PARAMS), ids=list(BAD_PARAMS))
def test_params_file_flowdesk_cannot_hold_is_one_line(tmp_path, case) -> None:
    text, needles = BAD_PARAMS[case]
    params = tmp_path / "params.json"
    params.write_text(text, encoding="utf-8")
    workflow = write_workflow(tmp_path, GOOD_WORKFLOW)
    db = tmp_path / "runs.db"
    result = flowdesk("run", workflow, "--params-file", str(params), db=db)
    line = one_clear_line(result, *needles)
    assert line.startswith(f"flowdesk: {params}: ")
    assert no_runs_recorded(db)


@pytest.mark.parametrize("case", list(BAD_PARAMS), ids=list(BAD_PARAMS))
def test_params_argument_flowdesk_cannot_hold_is_one_line(tmp_path, case) -> None:
    text, needles = BAD_PARAMS[case]
    if case.startswith("nested"):
        text = '{"a": ' + "[" * DEEP_ARGUMENT + "]" * DEEP_ARGUMENT + "}"
    workflow = write_workflow(tmp_path, GOOD_WORKFLOW)
    db = tmp_path / "runs.db"
    line = one_clear_line(flowdesk("run", workflow, "--params", text, db=db), *needles)
    assert line.startswith("flowdesk: --params: ")
    assert no_runs_recorded(db)


# -- a database in a folder that cannot be entered -------------------------------------------------


PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2


def as_root_without_dac_override() -> dict:
    """subprocess options for a root child that file permissions stop: it drops the two
    capabilities that let root ignore them from its bounding set before exec (Linux)."""
    libc = ctypes.CDLL(None, use_errno=True)

    def drop() -> None:
        for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
            if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")

    return {"preexec_fn": drop}


@pytest.fixture
def shut_folder(tmp_path) -> Iterator[tuple[Path, dict]]:
    """A workflow, and `shut/`, a folder the CLI cannot enter; the subprocess options for it.

    chmod does not stop root, so as root (CI) the CLI runs without the capabilities that
    override file permissions; the test is skipped where that cannot be done."""
    (tmp_path / "workflow.json").write_text(GOOD_WORKFLOW)
    shut = tmp_path / "shut"
    shut.mkdir()
    shut.chmod(0)
    options: dict = {}
    try:
        if os.geteuid() == 0:
            if not sys.platform.startswith("linux"):
                pytest.skip("running as root, where chmod does not stop us (Linux only here)")
            options = as_root_without_dac_override()
            probe = subprocess.run(
                [sys.executable, "-c", f"import os; os.listdir({str(shut)!r})"],
                capture_output=True,
                text=True,
                timeout=60,
                **options,
            )
            if "PermissionError" not in probe.stderr:
                pytest.skip(
                    "running as root, where chmod does not stop us, and dropping "
                    f"CAP_DAC_OVERRIDE did not help: {probe.stderr.strip()[-200:]!r}"
                )
        yield tmp_path, options
    finally:
        shut.chmod(0o755)


@pytest.mark.parametrize(
    "args",
    [("runs", "list"), ("runs", "show", "abc"), ("run", "{workflow}")],
    ids=["runs list", "runs show", "run"],
)
def test_a_database_in_a_folder_that_cannot_be_entered_is_one_line(shut_folder, args) -> None:
    base, options = shut_folder
    db = base / "shut" / "inner" / "runs.db"
    args = [arg.replace("{workflow}", str(base / "workflow.json")) for arg in args]
    result = flowdesk(*args, "--db", str(db), db=db, **options)
    one_clear_line(result, f"flowdesk: cannot open database {db}: Permission denied")


# -- a damaged page in the runs or node_runs table -------------------------------------------------


def recorded_runs(tmp_path: Path) -> tuple[Path, str]:
    """A database holding a few runs, the newest FAILED (so resumable); its id."""
    db = tmp_path / "runs.db"
    good = write_workflow(tmp_path, GOOD_WORKFLOW)
    for _ in range(3):
        assert flowdesk("run", good, db=db).returncode == 0
    failing = tmp_path / "failing.json"
    nodes = [
        {"id": "input", "handler": "input"},
        {
            "id": "needs_x",
            "handler": "transform",
            "dependencies": ["input"],
            "config": {"value": "{{ params.x }}"},
        },
    ]
    failing.write_text(json.dumps({"name": "failing", "dag": {"nodes": nodes}}))
    failed = flowdesk("run", str(failing), "--json", db=db)
    assert failed.returncode == 1, failed.stderr
    return db, json.loads(failed.stdout)["run_id"]


def damage_table(db: Path, table: str) -> bytes:
    """Overwrite the root page of `table` (each table here fits one page) with junk; the file."""
    with closing(sqlite3.connect(db)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page_size = connection.execute("PRAGMA page_size").fetchone()[0]
        (root,) = connection.execute(
            "SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        (pages,) = connection.execute(
            "SELECT count(*) FROM dbstat WHERE name = ?", (table,)
        ).fetchone()
    assert pages == 1, f"{table} spans {pages} pages: damage them all"
    with db.open("r+b") as handle:
        handle.seek((root - 1) * page_size)
        handle.write(b"\xa5" * page_size)
    return db.read_bytes()


@pytest.mark.parametrize(
    ("table", "action"),
    [
        ("runs", "list"),
        ("runs", "show"),
        ("runs", "resume"),
        ("node_runs", "show"),
        ("node_runs", "resume"),
    ],
)
def test_a_damaged_page_is_one_line_on_reading(tmp_path, table, action) -> None:
    db, run_id = recorded_runs(tmp_path)
    damaged = damage_table(db, table)
    args = ("runs", action) if action == "list" else ("runs", action, run_id)
    result = flowdesk(*args, db=db)
    one_clear_line(result, f"flowdesk: database {db} is damaged or not a database: ")
    assert "SELECT" not in result.stderr
    assert db.read_bytes() == damaged, "the damaged file is left as it was"


def test_runs_list_reads_past_a_damaged_node_runs_page(tmp_path) -> None:
    """`runs list` reads only the runs table: it still lists every run."""
    db, _run_id = recorded_runs(tmp_path)
    damage_table(db, "node_runs")
    result = flowdesk("runs", "list", "--json", db=db)
    assert result.returncode == 0, result.stderr
    assert len(json.loads(result.stdout)) == 4


def test_a_damaged_value_sqlite_does_not_notice_is_one_line(tmp_path) -> None:
    """Junk inside a stored time (the page itself still well-formed) is damage too, not a bug."""
    db, run_id = recorded_runs(tmp_path)
    with closing(sqlite3.connect(db)) as connection, connection:
        connection.execute("UPDATE runs SET created_at = 'junk' WHERE id = ?", (run_id,))
    for args in (("runs", "list"), ("runs", "show", run_id)):
        one_clear_line(
            flowdesk(*args, db=db),
            f"flowdesk: run {run_id}: its stored record is damaged and cannot be read",
            "junk",
        )


# -- command-line arguments whose bytes are not UTF-8 ---------------------------------------------

NOT_UTF8 = os.fsdecode(b"\xff")
"""How Python hands over an argument byte that is not UTF-8: a lone surrogate."""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("runs", "show", NOT_UTF8), "flowdesk: no run with id '\\udcff'"),
        (("runs", "resume", "ab" + NOT_UTF8), "flowdesk: no run with id 'ab\\udcff'"),
        (
            ("run", "{workflow}", "--idempotency-key", "k" + NOT_UTF8),
            "flowdesk: --idempotency-key: not valid UTF-8 text",
        ),
        (("run", "{workflow}", "--params", '{"a": "' + NOT_UTF8 + '"}'), "flowdesk: --params: a: "),
    ],
    ids=["runs show", "runs resume", "idempotency key", "params"],
)
def test_arguments_that_are_not_utf8_are_one_line(tmp_path, args, expected) -> None:
    db, _run_id = recorded_runs(tmp_path)
    workflow = write_workflow(tmp_path, GOOD_WORKFLOW)
    result = flowdesk(*(arg.replace("{workflow}", workflow) for arg in args), db=db)
    assert one_clear_line(result).startswith(expected)
    with closing(sqlite3.connect(db)) as connection:
        assert connection.execute("SELECT count(*) FROM runs").fetchone() == (4,)
