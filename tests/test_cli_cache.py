"""`"cache": true` and `flowdesk cache list|clear` as a user meets them: CLI subprocesses, a
real SQLite file and the demo service counting the calls that reach it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from cli_process import run_flowdesk

NODES = "SELECT node_id, state, cached, reused_from FROM node_runs WHERE run_id = ?"


def calls(server) -> list[str]:
    """The paths this module's nodes called, in order. The demo service is shared: a slow
    request of an earlier test may still land in its log after the reset."""
    return [path for path in server.paths() if path.startswith(("/users", "/echo", "/fail"))]


def flowdesk(*args: str, db: Path) -> subprocess.CompletedProcess[str]:
    return run_flowdesk(*args, db=db)


def cached_workflow(tmp_path: Path, url: str, name: str = "cached", cache: object = True) -> str:
    path = tmp_path / f"{name}.json"
    nodes = [
        {"id": "get_user", "handler": "call_external_service",
         "config": {"url": f"{url}/users/1"}, "cache": cache},
        {"id": "output", "handler": "output", "dependencies": ["get_user"]},
    ]  # fmt: skip
    path.write_text(json.dumps({"name": name, "dag": {"nodes": nodes}}))
    return str(path)


def test_the_second_run_says_cached_and_clear_makes_it_call_again(tmp_path, server) -> None:
    db = tmp_path / "runs.db"
    file = cached_workflow(tmp_path, server.url)
    first = flowdesk("run", file, "--json", db=db)
    second = flowdesk("run", file, db=db)
    assert (first.returncode, second.returncode) == (0, 0), second.stderr
    first_id = json.loads(first.stdout)["run_id"]
    assert calls(server) == ["/users/1"]
    assert f"get_user REUSED  cached (from run {first_id})" in second.stderr
    assert json.loads(second.stdout)["output"]["get_user"]["body"]["name"] == "Ada Lovelace"
    newest = json.loads(flowdesk("runs", "list", "--json", db=db).stdout)[0]["run_id"]
    shown = flowdesk("runs", "show", newest, db=db).stdout
    assert f"cached (from run {first_id})" in shown, "the history says where the output came from"

    listed = flowdesk("cache", "list", "--json", db=db)
    [entry] = json.loads(listed.stdout)
    assert (entry["node"], entry["run_id"], entry["workflow"]) == ("get_user", first_id, "cached")
    table = flowdesk("cache", "list", db=db).stdout.splitlines()
    assert table[0].split() == ["STORED", "WORKFLOW", "NODE", "HANDLER", "RUN", "ID", "SIZE"]
    assert "get_user" in table[1] and first_id in table[1]

    cleared = flowdesk("cache", "clear", db=db)
    assert (cleared.returncode, cleared.stdout) == (0, "removed 1 cached output\n")
    assert flowdesk("run", file, db=db).returncode == 0
    assert calls(server) == ["/users/1", "/users/1"], "a cleared cache calls again"
    again = flowdesk("cache", "clear", "--json", db=db)  # the third run stored its output anew
    assert json.loads(again.stdout) == {"removed": 1}


def test_clear_one_workflow_keeps_the_others(tmp_path, server) -> None:
    db = tmp_path / "runs.db"
    for name in ("alpha", "beta"):
        assert flowdesk("run", cached_workflow(tmp_path, server.url, name), db=db).returncode == 0
    assert len(calls(server)) == 1, "beta's node has alpha's key: same handler, config, inputs"
    assert flowdesk("cache", "clear", "--workflow", "beta", db=db).stdout == (
        "removed 0 cached outputs of workflow 'beta'\n"
    )
    cleared = flowdesk("cache", "clear", "--workflow", "alpha", db=db)
    assert cleared.stdout == "removed 1 cached output of workflow 'alpha'\n"
    none = flowdesk("cache", "list", db=db)
    assert (none.returncode, none.stdout) == (0, "")
    assert "no cached outputs" in none.stderr


def test_a_bad_cache_value_is_named_with_every_other_problem(tmp_path) -> None:
    path = tmp_path / "bad.json"
    nodes = [
        {"id": "a", "handler": "transform", "config": {"value": 1}, "cache": "yes"},
        {"id": "b", "handler": "transform", "config": {"value": 1}, "cache": {"ttl_s": -5}},
        {"id": "c", "handler": "nope", "cache": {"ttl": 5}},
    ]
    path.write_text(json.dumps({"name": "bad", "dag": {"nodes": nodes}}))
    checked = flowdesk("validate", str(path), db=tmp_path / "unused.db")
    assert checked.returncode == 2
    lines = checked.stderr.splitlines()
    assert any("node 'a', cache: cache must be true, false or" in line for line in lines)
    assert any("node 'b', cache: cache.ttl_s must be more than 0" in line for line in lines)
    assert any("node 'c', cache: unknown key(s) in cache: ttl" in line for line in lines)
    assert any("unknown handler 'nope'" in line for line in lines)
    assert sum("[invalid-cache]" in line for line in lines) == 3


def test_cache_commands_on_a_missing_database_are_bad_input(tmp_path) -> None:
    missing = tmp_path / "nowhere.db"
    for action in ("list", "clear"):
        result = flowdesk("cache", action, "--db", str(missing), db=missing)
        assert result.returncode == 2
        assert result.stderr.startswith("flowdesk: no FlowDesk database at")
        assert "Traceback" not in result.stderr
    assert not missing.exists()
