"""`flowdesk run` as a user runs it: a subprocess against the demo service."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest


def write_workflow(tmp_path, server, *, fail: bool = False, slow: float = 0.0) -> str:
    url = f"{server.url}/fail" if fail else f"{server.url}/users/{{{{ params.user_id }}}}"
    nodes = [
        {"id": "input", "handler": "input", "dependencies": []},
        {
            "id": "get_user",
            "handler": "call_external_service",
            "dependencies": ["input"],
            "config": {"url": url},
        },
        {
            "id": "output",
            "handler": "output",
            "dependencies": ["get_user"],
            "config": {"value": "{{ get_user.body }}"},
        },
    ]
    if slow:
        nodes.insert(
            1,
            {
                "id": "pause",
                "handler": "delay",
                "dependencies": ["input"],
                "config": {"seconds": slow},
            },
        )
        nodes[-1]["dependencies"].append("pause")
    path = tmp_path / "wf.json"
    path.write_text(json.dumps({"name": "cli test", "dag": {"nodes": nodes}}))
    return str(path)


def flowdesk(*args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLOWDESK_DB": os.environ.get("FLOWDESK_DB", "")}
    return subprocess.run(
        [sys.executable, "-m", "flowdesk", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        **kwargs,
    )


@pytest.fixture(autouse=True)
def isolated_db(tmp_path, monkeypatch):
    monkeypatch.setenv("FLOWDESK_DB", str(tmp_path / "runs.sqlite"))


def test_completed_run_exits_0_with_progress_and_results(tmp_path, server) -> None:
    result = flowdesk("run", write_workflow(tmp_path, server), "--params", '{"user_id": 1}')
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "output": {"id": 1, "name": "Ada Lovelace", "email": "ada@example.org", "team": "analytics"}
    }
    progress = result.stderr.splitlines()
    assert any("get_user" in line and "RUNNING" in line for line in progress)
    assert any("get_user" in line and "SUCCEEDED" in line for line in progress)
    assert "COMPLETED" in progress[-1]


def test_json_output_has_the_documented_shape(tmp_path, server) -> None:
    result = flowdesk(
        "run", write_workflow(tmp_path, server), "--params", '{"user_id": 2}', "--json"
    )
    assert result.returncode == 0
    report = json.loads(result.stdout)
    assert set(report) >= {"run_id", "workflow", "status", "params", "nodes", "results"}
    assert report["status"] == "COMPLETED" and report["workflow"] == "cli test"
    assert report["params"] == {"user_id": 2}
    node = report["nodes"]["get_user"]
    assert set(node) == {"status", "attempts", "output", "error", "started_at", "finished_at"}
    assert node["attempts"] == 1 and node["output"]["body"]["id"] == 2
    assert report["results"] == {"output": node["output"]["body"]}


def test_failed_run_exits_1(tmp_path, server) -> None:
    result = flowdesk("run", write_workflow(tmp_path, server, fail=True), "--json")
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["status"] == "FAILED"
    assert report["nodes"]["output"]["status"] == "SKIPPED"
    assert "HTTP 500" in report["nodes"]["get_user"]["error"]


def test_params_file(tmp_path, server) -> None:
    params = tmp_path / "params.json"
    params.write_text('{"user_id": 3}')
    result = flowdesk(
        "run", write_workflow(tmp_path, server), "--params-file", str(params), "--json"
    )
    assert json.loads(result.stdout)["results"]["output"]["name"] == "Alan Turing"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--params", "{oops"], "--params: malformed JSON at line 1, column 2"),
        (["--params", "[1, 2]"], "params must be a JSON object, not list"),
        (["--params-file", "/nonexistent/p.json"], "cannot read"),
        (["--max-concurrency", "0"], "must be at least 1"),
    ],
)
def test_bad_params_exit_2(tmp_path, server, args, message) -> None:
    result = flowdesk("run", write_workflow(tmp_path, server), *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_workflow_exits_2_and_runs_nothing(tmp_path, server) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"name": "bad", "dag": {"nodes": [{"id": "a", "handler": "nope"}]}}')
    result = flowdesk("run", str(path))
    assert result.returncode == 2
    assert "unknown handler 'nope'" in result.stderr
    assert result.stdout == ""


def test_ctrl_c_cancels_the_run_cleanly(tmp_path, server) -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flowdesk",
            "run",
            write_workflow(tmp_path, server, slow=30),
            "--json",
            "--params",
            '{"user_id": 1}',
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while "/users/1" not in server.paths() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=20)
    assert process.returncode == 1, stderr
    report = json.loads(stdout)
    assert report["status"] == "CANCELLED"
    assert report["nodes"]["pause"]["status"] == "CANCELLED"
    assert report["nodes"]["get_user"]["status"] == "SUCCEEDED"
    assert report["nodes"]["output"]["status"] == "SKIPPED"
