"""`flowdesk run --db/--idempotency-key` and `flowdesk runs list|show|resume`, as a user runs
them: subprocesses against the demo service, a real SQLite file, and a kill -9 mid-run."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest
from cli_process import run_flowdesk
from conftest import modules_loaded_by

from flowdesk.engine.states import RunState
from flowdesk.model import load_workflow
from flowdesk.store import ProcessIdentity, RunNotResumableError, Store

NODE_STATES = "SELECT node_id, state FROM node_runs"


def flowdesk(*args: str, db: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLOWDESK_DB_TIMEOUT": "0.2"}
    return run_flowdesk(*args, db=db, env=env, timeout=timeout)


def write(tmp_path: Path, name: str, nodes: list[dict]) -> str:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"name": name, "dag": {"nodes": nodes}}))
    return str(path)


def http(node_id: str, url: str, *deps: str) -> dict:
    return {
        "id": node_id,
        "handler": "call_external_service",
        "dependencies": list(deps),
        "config": {"url": url},
    }


def fetch_workflow(tmp_path: Path, server, name: str = "fetch") -> str:
    return write(
        tmp_path,
        name,
        [
            {"id": "input", "handler": "input"},
            http("user", f"{server.url}/users/{{{{ params.user_id }}}}", "input"),
            http("posts", f"{server.url}/posts?userId={{{{ params.user_id }}}}", "input"),
            {"id": "out", "handler": "output", "dependencies": ["user", "posts"]},
        ],
    )


def node_states(db: Path) -> dict[str, str]:
    """Node states as another process sees them ({} before the schema exists)."""
    if not db.exists():
        return {}
    with closing(sqlite3.connect(db)) as connection:
        try:
            return dict(connection.execute(NODE_STATES).fetchall())
        except sqlite3.OperationalError:
            return {}


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "history.db"


def test_kill_9_mid_run_is_interrupted_and_resume_skips_succeeded_nodes(tmp_path, server, db):
    workflow = write(
        tmp_path,
        "crash",
        [
            {"id": "input", "handler": "input"},
            http("user", f"{server.url}/users/1", "input"),
            http("posts", f"{server.url}/posts?userId=1", "input"),
            http("slow", f"{server.url}/slow?seconds=2", "user", "posts"),
            {"id": "out", "handler": "output", "dependencies": ["slow"]},
        ],
    )
    env = {**os.environ, "FLOWDESK_DB": str(db)}
    process = subprocess.Popen(
        [sys.executable, "-m", "flowdesk", "run", workflow, "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            states = node_states(db)
            if states.get("user") == states.get("posts") == "SUCCEEDED" and server.in_flight:
                break
            time.sleep(0.02)
        else:
            pytest.fail(f"the run did not reach the slow node: {states}")
        # While the process lives, its run is RUNNING and cannot be resumed by anybody else.
        with Store.open(db) as store:
            [live] = store.runs.list_runs()
            assert live.state is RunState.RUNNING
            with pytest.raises(RunNotResumableError, match="still RUNNING in process"):
                store.runs.prepare_resume(live.run_id)
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == -signal.SIGKILL
    assert node_states(db)["slow"] == "RUNNING"  # marked when it started
    assert node_states(db)["out"] == "PENDING"

    listed = flowdesk("runs", "list", "--json", db=db)
    assert listed.returncode == 0, listed.stderr
    [run] = json.loads(listed.stdout)
    assert run["workflow"] == "crash"
    assert run["status"] == "INTERRUPTED"
    # The node that was running when the process died says so; the one after it never started.
    shown_text = flowdesk("runs", "show", run["run_id"], db=db)
    assert re.search(r"slow\s+INTERRUPTED", shown_text.stdout), shown_text.stdout
    assert re.search(r"out\s+PENDING", shown_text.stdout), shown_text.stdout

    calls_before = server.paths()
    resumed = flowdesk("runs", "resume", run["run_id"][:8], "--json", db=db)
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["run_id"] == run["run_id"]
    assert report["status"] == "COMPLETED"
    assert report["results"]["out"]["slow"]["body"] == {"slept": 2.0}
    new_calls = server.paths()[len(calls_before) :]
    assert "/slow" in new_calls
    assert "/users/1" not in new_calls and "/posts" not in new_calls
    assert server.paths().count("/users/1") == 1
    assert server.paths().count("/posts") == 1

    shown = flowdesk("runs", "show", run["run_id"], "--json", db=db)
    assert json.loads(shown.stdout) == report


def test_a_cancelled_run_is_recorded_and_resumable(tmp_path, server, db):
    workflow = write(
        tmp_path,
        "cancel",
        [
            {"id": "input", "handler": "input"},
            http("user", f"{server.url}/users/2", "input"),
            http("slow", f"{server.url}/slow?seconds=1", "user"),
        ],
    )
    env = {**os.environ, "FLOWDESK_DB": str(db)}
    process = subprocess.Popen(
        [sys.executable, "-m", "flowdesk", "run", workflow],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    deadline = time.monotonic() + 20
    while node_states(db).get("user") != "SUCCEEDED" and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=20)
    assert process.returncode == 1
    [run] = json.loads(flowdesk("runs", "list", "--json", db=db).stdout)
    assert run["status"] == "CANCELLED"

    resumed = flowdesk("runs", "resume", run["run_id"], "--json", db=db)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["nodes"]["slow"]["status"] == "SUCCEEDED"
    assert server.paths().count("/users/2") == 1


def test_an_idempotency_key_runs_once(tmp_path, server, db):
    workflow = fetch_workflow(tmp_path, server)
    args = ("run", workflow, "--params", '{"user_id": 2}', "--idempotency-key", "order-7")
    first = flowdesk(*args, "--json", db=db)
    assert first.returncode == 0, first.stderr
    calls = server.paths()
    assert sorted(calls) == ["/posts", "/users/2"]

    second = flowdesk(*args, "--json", db=db)
    assert second.returncode == 0, second.stderr
    assert server.paths() == calls  # nothing executed
    assert json.loads(second.stdout) == json.loads(first.stdout)
    assert "already has idempotency key 'order-7'" in second.stderr

    other_params = flowdesk(
        "run", workflow, "--params", '{"user_id": 3}', "--idempotency-key", "order-7", db=db
    )
    assert other_params.returncode == 0
    assert "params differ" in other_params.stderr
    assert server.paths() == calls

    other_key = flowdesk("run", workflow, "--params", '{"user_id": 2}', "--json", db=db)
    assert json.loads(other_key.stdout)["run_id"] != json.loads(first.stdout)["run_id"]
    assert len(server.paths()) == 4


def test_an_idempotency_key_of_a_failed_run_keeps_its_exit_code(tmp_path, server, db):
    workflow = write(
        tmp_path,
        "failing",
        [{"id": "input", "handler": "input"}, http("boom", f"{server.url}/fail", "input")],
    )
    first = flowdesk("run", workflow, "--idempotency-key", "k", db=db)
    second = flowdesk("run", workflow, "--idempotency-key", "k", db=db)
    assert first.returncode == second.returncode == 1
    assert server.paths() == ["/fail"]
    assert "(continue it with: flowdesk runs resume " in second.stderr


def test_a_failed_run_resumed_retries_only_the_failed_part(tmp_path, server, db):
    workflow = write(
        tmp_path,
        "flaky",
        [
            {"id": "input", "handler": "input"},
            http("steady", f"{server.url}/users/3", "input"),
            http("flaky", f"{server.url}/flaky/resume-test?failures=1", "steady"),
            http("after", f"{server.url}/comments?postId=31", "flaky"),
            {"id": "out", "handler": "output", "dependencies": ["after"]},
        ],
    )
    first = flowdesk("run", workflow, "--json", db=db)
    assert first.returncode == 1
    failed = json.loads(first.stdout)
    assert failed["status"] == "FAILED"
    assert failed["nodes"]["after"]["status"] == "SKIPPED"
    assert server.paths() == ["/users/3", "/flaky/resume-test"]

    resumed = flowdesk("runs", "resume", failed["run_id"], db=db)
    assert resumed.returncode == 0, resumed.stderr
    assert "1 reused" not in resumed.stderr and "2 reused" in resumed.stderr
    assert "COMPLETED" in resumed.stderr
    assert server.paths() == [
        "/users/3",
        "/flaky/resume-test",
        "/flaky/resume-test",
        "/comments",
    ]
    shown = json.loads(flowdesk("runs", "show", failed["run_id"], "--json", db=db).stdout)
    assert shown["status"] == "COMPLETED"
    assert shown["nodes"]["steady"] == failed["nodes"]["steady"]
    assert shown["nodes"]["flaky"]["output"]["body"] == {"key": "resume-test", "attempt": 2}


def test_a_run_of_a_live_process_cannot_be_resumed(tmp_path, server, db):
    with Store.open(db) as store:
        run_id, _ = store.runs.create_run(load_workflow(fetch_workflow(tmp_path, server)))
    me = ProcessIdentity.current()  # this test process: alive for sure
    with closing(sqlite3.connect(db)) as connection, connection:
        connection.execute(
            "UPDATE runs SET state = 'RUNNING', owner_pid = ?, owner_token = ?",
            (me.pid, me.start_token),
        )
    result = flowdesk("runs", "resume", run_id, db=db)
    _assert_one_clear_line(result, f"still RUNNING in process {me.pid}")
    assert server.paths() == []
    listed = json.loads(flowdesk("runs", "list", "--json", db=db).stdout)
    assert listed[0]["status"] == "RUNNING"  # a live owner is never reported INTERRUPTED


def test_resuming_a_completed_run_runs_nothing(tmp_path, server, db):
    first = flowdesk(
        "run", fetch_workflow(tmp_path, server), "--params", '{"user_id": 1}', "--json", db=db
    )
    run_id = json.loads(first.stdout)["run_id"]
    calls = server.paths()
    again = flowdesk("runs", "resume", run_id, "--json", db=db)
    assert again.returncode == 0
    assert "already COMPLETED; nothing to resume" in again.stderr
    assert json.loads(again.stdout) == json.loads(first.stdout)
    assert server.paths() == calls


def test_list_and_show_in_text_and_json(tmp_path, server, db):
    workflow = fetch_workflow(tmp_path, server)
    ids = []
    for user in (1, 2):
        done = flowdesk("run", workflow, "--params", json.dumps({"user_id": user}), "--json", db=db)
        ids.append(json.loads(done.stdout)["run_id"])
    listed = flowdesk("runs", "list", "--json", db=db)
    runs = json.loads(listed.stdout)
    assert [r["run_id"] for r in runs] == ids[::-1]
    assert set(runs[0]) == {"run_id", "workflow", "status", "started_at", "finished_at"}
    text = flowdesk("runs", "list", db=db).stdout.splitlines()
    assert text[0].split() == ["RUN", "ID", "WORKFLOW", "STATUS", "STARTED", "DURATION"]
    assert text[1].startswith(ids[1]) and "COMPLETED" in text[1]

    shown = flowdesk("runs", "show", ids[0], db=db)
    assert shown.returncode == 0
    assert "COMPLETED" in shown.stdout
    assert '"status_code": 200' in shown.stdout
    assert "--json shows all" in shown.stdout  # long outputs are cut short in text
    assert "1 attempt" in shown.stdout


def test_unknown_and_ambiguous_run_ids_exit_2(tmp_path, server, db):
    flowdesk("run", fetch_workflow(tmp_path, server), "--params", '{"user_id": 1}', db=db)
    for command in ("show", "resume"):
        result = flowdesk("runs", command, "nope", db=db)
        assert result.returncode == 2
        assert result.stderr.strip() == "flowdesk: no run with id 'nope'"
        assert result.stdout == ""


def test_runs_commands_do_not_create_a_named_database(tmp_path):
    missing = tmp_path / "typo.db"
    result = flowdesk("runs", "list", db=missing)
    assert result.returncode == 2
    assert "no FlowDesk database at" in result.stderr
    assert not missing.exists()


def _assert_one_clear_line(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0]


def test_a_corrupted_database_exits_2_with_one_line(tmp_path, server, db):
    db.write_bytes(os.urandom(8192))
    before = db.read_bytes()
    for args in (("runs", "list"), ("run", fetch_workflow(tmp_path, server))):
        _assert_one_clear_line(flowdesk(*args, db=db), "not a FlowDesk database")
    assert db.read_bytes() == before
    assert server.paths() == []


def test_a_newer_schema_exits_2_with_one_line(tmp_path, server, db):
    assert flowdesk("runs", "list", "--db", str(db), db=tmp_path / "unused.db").returncode == 2
    workflow = fetch_workflow(tmp_path, server)
    assert flowdesk("run", workflow, "--params", '{"user_id": 1}', db=db).returncode == 0
    with closing(sqlite3.connect(db)) as connection, connection:
        connection.execute("PRAGMA user_version = 99")
    _assert_one_clear_line(flowdesk("runs", "list", db=db), "newer FlowDesk", "schema version 99")


def test_a_database_locked_by_another_process_exits_2_with_one_line(tmp_path, server, db):
    workflow = fetch_workflow(tmp_path, server)
    assert flowdesk("run", workflow, "--params", '{"user_id": 1}', db=db).returncode == 0
    calls = server.paths()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
            "c.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = flowdesk("run", workflow, "--params", '{"user_id": 1}', db=db)
        _assert_one_clear_line(result, "is locked by another process")
        assert server.paths() == calls  # nothing ran
    finally:
        holder.communicate("", timeout=10)


def test_commands_that_need_no_store_do_not_load_sqlalchemy():
    code = "from flowdesk.cli import build_parser\nbuild_parser()"
    assert modules_loaded_by(code, {"sqlalchemy", "sqlmodel"}) == []


def test_resume_with_a_fixed_file_reruns_only_what_changed(tmp_path, server, db):
    """Failing Branch tells the user: fix the URL and resume."""
    nodes = [
        {"id": "input", "handler": "input"},
        http("healthy", f"{server.url}/users/2", "input"),
        http("broken", f"{server.url}/fail", "input"),
        {"id": "out", "handler": "output", "dependencies": ["healthy", "broken"]},
    ]
    path = write(tmp_path, "branch", nodes)
    failed = flowdesk("run", path, db=db)
    assert failed.returncode == 1
    [hint] = [line for line in failed.stderr.splitlines() if line.startswith("resume with:")]
    run_id = hint.split()[-1]

    nodes[2] = http("broken", f"{server.url}/users/1", "input")
    fixed = write(tmp_path, "branch", nodes)
    server.reset()
    resumed = flowdesk("runs", "resume", run_id, "--with", fixed, "--json", db=db)
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["status"] == "COMPLETED"
    assert report["results"]["out"]["broken"]["body"]["id"] == 1
    assert server.paths() == ["/users/1"]  # healthy kept its output

    snapshot = flowdesk("runs", "resume", run_id, "--with", str(tmp_path / "missing.json"), db=db)
    assert snapshot.returncode == 2
    assert "missing.json" in snapshot.stderr


def test_the_resume_hint_names_the_database_it_was_given(tmp_path, server):
    path = write(tmp_path, "broken", [http("broken", f"{server.url}/fail")])
    db = tmp_path / "elsewhere db.sqlite"
    env = {k: v for k, v in os.environ.items() if k != "FLOWDESK_DB"}
    failed = subprocess.run(
        [sys.executable, "-m", "flowdesk", "run", path, "--db", str(db)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert failed.returncode == 1
    [hint] = [line for line in failed.stderr.splitlines() if line.startswith("resume with:")]
    assert hint.endswith(f"--db '{db}'")
    resumed = subprocess.run(
        [
            sys.executable,
            "-m",
            "flowdesk",
            *shlex.split(hint.removeprefix("resume with: flowdesk ")),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert resumed.returncode == 1, resumed.stderr  # found the run; it fails again
    assert "no run with id" not in resumed.stderr


def test_resume_with_an_invalid_file_prints_one_line_per_problem(tmp_path, server, db):
    path = write(tmp_path, "w", [http("a", f"{server.url}/fail")])
    failed = flowdesk("run", path, db=db)
    run_id = failed.stderr.splitlines()[-1].split()[-1]
    broken = write(
        tmp_path,
        "w",
        [{"id": "a", "handler": "nope"}, {"id": "b", "handler": "input", "dependencies": ["x"]}],
    )
    resumed = flowdesk("runs", "resume", run_id, "--with", broken, db=db)
    assert resumed.returncode == 2
    lines = resumed.stderr.strip().splitlines()
    assert lines[0] == f"flowdesk: run {run_id} cannot be resumed:"
    assert len(lines) == 3
    assert all(line.startswith(f"{broken}: node '") for line in lines[1:])
    assert "Traceback" not in resumed.stderr
