"""`flowdesk run FILE --from NODE [--reuse RUN_ID]` as a user runs it: a subprocess, a real
SQLite file and the demo service on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

from test_cli_runs import flowdesk, write


def nodes(url: str, user: str = "/users/{{ params.user_id }}") -> list[dict]:
    return [
        {"id": "input", "handler": "input", "dependencies": []},
        {
            "id": "user",
            "handler": "call_external_service",
            "dependencies": ["input"],
            "config": {"url": url + user},
        },
        {
            "id": "name",
            "handler": "transform",
            "dependencies": ["user"],
            "config": {"value": "{{ user.body.name | upper }}"},
        },
        {"id": "out", "handler": "output", "dependencies": ["name"]},
    ]


def test_run_from_a_node_reuses_what_is_upstream(tmp_path: Path, server) -> None:
    db = tmp_path / "runs.db"
    path = write(tmp_path, "from", nodes(server.url))
    first = flowdesk("run", path, "--params", '{"user_id": 1}', "--json", db=db)
    assert first.returncode == 0, first.stderr
    first_id = json.loads(first.stdout)["run_id"]
    server.reset()

    again = flowdesk("run", path, "--from", "name", db=db)
    assert again.returncode == 0, again.stderr
    assert server.paths() == [], "nothing upstream of 'name' was called again"
    assert json.loads(again.stdout) == {"out": {"name": "ADA LOVELACE"}}
    assert f"reusing 2 stored output(s) of run {first_id}" in again.stderr
    lines = [" ".join(line.split()) for line in again.stderr.splitlines()]
    assert f"✓ user REUSED reused from run {first_id}" in lines
    assert "2 reused" in again.stderr


def test_reuse_takes_the_outputs_of_the_run_named(tmp_path: Path, server) -> None:
    db = tmp_path / "runs.db"
    path = write(tmp_path, "from", nodes(server.url))
    older = json.loads(flowdesk("run", path, "--params", '{"user_id": 1}', "--json", db=db).stdout)
    newer = json.loads(flowdesk("run", path, "--params", '{"user_id": 2}', "--json", db=db).stdout)
    assert newer["results"] == {"out": {"name": "GRACE HOPPER"}}
    reused = flowdesk(
        "run", path, "--from", "name", "--reuse", older["run_id"][:8], "--json", db=db
    )
    assert reused.returncode == 0, reused.stderr
    report = json.loads(reused.stdout)
    assert report["results"] == {"out": {"name": "ADA LOVELACE"}}
    assert report["params"] == {"user_id": 1}
    user = report["nodes"]["user"]
    assert (user["status"], user["reused_from"], user["cached"]) == (
        "REUSED",
        older["run_id"],
        False,
    )
    assert set(report["nodes"]["name"]) == {
        "status",
        "attempts",
        "output",
        "error",
        "started_at",
        "finished_at",
    }
    shown = json.loads(flowdesk("runs", "show", report["run_id"], "--json", db=db).stdout)
    assert shown["nodes"]["user"] == user


def test_a_refusal_is_bad_input_with_one_line(tmp_path: Path, server) -> None:
    db = tmp_path / "runs.db"
    path = write(tmp_path, "from", nodes(server.url))
    never = flowdesk("run", path, "--from", "name", db=db)
    assert never.returncode == 2
    assert never.stderr == (
        "flowdesk: cannot run from 'name': no earlier run of workflow 'from' has stored "
        "outputs to reuse (run the whole workflow first)\n"
    )
    first = json.loads(flowdesk("run", path, "--params", '{"user_id": 1}', "--json", db=db).stdout)
    changed = write(tmp_path, "from", nodes(server.url, "/users/{{ params.user_id }}?x=1"))
    refused = flowdesk("run", changed, "--from", "name", db=db)
    assert refused.returncode == 2
    assert refused.stderr == (
        f"flowdesk: cannot run from 'name': upstream node 'user' changed since run "
        f"{first['run_id']}\n"
    )
    assert refused.stdout == ""
    for args, reason in [
        (("--reuse", first["run_id"]), "--reuse RUN_ID needs --from NODE"),
        (("--from", "nope"), "no node 'nope' in workflow 'from'"),
        (("--from", "name", "--reuse", "ffff"), "no run with id 'ffff'"),
        (("--from", "name", "--idempotency-key", "k"), "cannot be used together"),
    ]:
        answer = flowdesk("run", path, *args, db=db)
        assert answer.returncode == 2, args
        assert reason in answer.stderr and answer.stderr.count("\n") == 1, answer.stderr
    runs = json.loads(flowdesk("runs", "list", "--json", db=db).stdout)
    assert [run["run_id"] for run in runs] == [first["run_id"]], "no refused run was recorded"


def test_running_from_a_node_with_nothing_upstream_names_no_source(tmp_path: Path, server) -> None:
    """It said "reusing 0 stored output(s) of run <id>", naming a run it took nothing from."""
    db = tmp_path / "runs.db"
    path = write(tmp_path, "from", nodes(server.url))
    assert flowdesk("run", path, "--params", '{"user_id": 1}', db=db).returncode == 0
    again = flowdesk("run", path, "--from", "input", "--params", '{"user_id": 1}', db=db)
    assert again.returncode == 0, again.stderr
    assert "flowdesk: running from 'input': nothing to reuse: every node runs" in again.stderr
    assert "of run" not in again.stderr.splitlines()[0]
