"""Run from here and the reuse plan behind it (and behind resume): REUSED nodes take a stored
output instead of calling anything, the store records where it came from, and a run that
cannot reuse what it needs is refused, naming the node. A real SQLite file, the real demo
service on 127.0.0.1."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing

import pytest
from conftest import workflow

from flowdesk.engine import (
    NodeFinished,
    NodeResult,
    NodeState,
    RunState,
    StoredOutput,
    WorkflowRun,
)
from flowdesk.runs import RunFromRefused, RunHandle, RunService
from flowdesk.runs.compare import compare_runs
from flowdesk.store import Store


@pytest.fixture
def db(tmp_path):
    return tmp_path / "runs.db"


@pytest.fixture
def service(db, registry):
    with RunService(registry, db) as service:
        yield service


def chain(url: str, *, user_path: str = "/users/{{ params.user_id }}", side: bool = False):
    """input -> user (HTTP) -> posts (HTTP, from user's id) -> summary -> out, and with `side`
    a branch beside them: input -> tally (HTTP)."""
    nodes = [
        {"id": "input", "handler": "input"},
        {
            "id": "user",
            "handler": "call_external_service",
            "dependencies": ["input"],
            "config": {"url": url + user_path},
        },
        {
            "id": "posts",
            "handler": "call_external_service",
            "dependencies": ["user"],
            "config": {"url": url + "/posts?userId={{ user.body.id }}"},
        },
        {
            "id": "summary",
            "handler": "transform",
            "dependencies": ["user", "posts"],
            "config": {
                "value": {"name": "{{ user.body.name }}", "posts": "{{ posts.body|length }}"}
            },
        },
        {"id": "out", "handler": "output", "dependencies": ["summary"]},
    ]
    if side:
        nodes.append(
            {
                "id": "tally",
                "handler": "call_external_service",
                "dependencies": ["input"],
                "config": {"url": url + "/users"},
            }
        )
    return workflow(*nodes, name="chain")


def execute(handle: RunHandle):
    events: list = []
    handle.subscribe(events.append)
    return asyncio.run(handle.execute()), events


def stored_rows(db, run_id: str) -> dict[str, tuple[str, str | None, int]]:
    """node id -> (state, reused_from, cached) as the file holds them."""
    with closing(sqlite3.connect(db)) as connection:
        rows = connection.execute(
            "SELECT node_id, state, reused_from, cached FROM node_runs WHERE run_id = ?", (run_id,)
        ).fetchall()
    return {node_id: (state, source, cached) for node_id, state, source, cached in rows}


def test_run_from_here_reuses_upstream_outputs_and_calls_nothing_for_them(service, server, db):
    definition = chain(server.url)
    first, _ = execute(service.start(definition, {"user_id": 2}))
    assert first.state is RunState.COMPLETED
    assert server.paths() == ["/users/2", "/posts"]
    server.reset()

    handle = service.start_from(definition, "posts")
    assert handle.source_run_id == first.run_id
    assert sorted(handle.reused) == ["input", "user"]
    result, events = execute(handle)

    assert result.state is RunState.COMPLETED
    assert result.run_id != first.run_id
    assert server.paths() == ["/posts"], "the reused node 'user' was not called again"
    assert result.params == {"user_id": 2}, "the source run's params"
    assert result.results["out"]["summary"] == first.results["out"]["summary"]
    assert result.results["out"]["summary"]["name"] == "Grace Hopper"
    finished = {e.node_id: e.state for e in events if isinstance(e, NodeFinished)}
    assert finished["user"] is NodeState.REUSED and finished["posts"] is NodeState.SUCCEEDED
    assert result.nodes["user"].reused_from == first.run_id
    assert result.nodes["user"].output == first.nodes["user"].output
    assert stored_rows(db, result.run_id) == {
        "input": ("REUSED", first.run_id, 0),
        "user": ("REUSED", first.run_id, 0),
        "posts": ("SUCCEEDED", None, 0),
        "summary": ("SUCCEEDED", None, 0),
        "out": ("SUCCEEDED", None, 0),
    }
    stored = service.load(result.run_id)
    assert stored.result.nodes["user"].state is NodeState.REUSED
    assert stored.result.nodes["user"].reused_from == first.run_id
    assert stored.result.to_json() == result.to_json()
    # A reused output is a success like a computed one: the two runs are "same" there.
    comparison = compare_runs(service.load(first.run_id), stored, ignore=["$.headers"])
    assert comparison.nodes["user"].change == "same"
    assert comparison.nodes["user"].b.status is NodeState.REUSED


def test_the_latest_run_that_has_every_upstream_output_is_the_source(service, server):
    definition = chain(server.url)
    good, _ = execute(service.start(definition, {"user_id": 1}))
    broken, _ = execute(service.start(definition, {"user_id": 99}))  # 404: user FAILED
    assert broken.nodes["user"].state is NodeState.FAILED
    handle = service.start_from(definition, "summary")
    assert handle.source_run_id == good.run_id, "the newer run has no output for 'user'"
    result, _ = execute(handle)
    assert result.results["out"]["summary"]["name"] == "Ada Lovelace"


def test_a_node_beside_the_selection_is_reused_when_it_can_be(service, server):
    definition = chain(server.url, side=True)
    first, _ = execute(service.start(definition, {"user_id": 1}))
    server.reset()
    result, _ = execute(service.start_from(definition, "summary"))
    assert result.nodes["tally"].state is NodeState.REUSED
    assert result.nodes["tally"].reused_from == first.run_id
    assert server.paths() == []
    # A node beside it whose own definition changed runs again; the selection still runs.
    definition.nodes[-1].config["url"] = server.url + "/users?changed=1"
    result, _ = execute(service.start_from(definition, "summary"))
    assert result.nodes["tally"].state is NodeState.SUCCEEDED
    assert server.paths() == ["/users"]


def test_refused_when_an_upstream_definition_changed(service, server):
    first, _ = execute(service.start(chain(server.url), {"user_id": 1}))
    changed = chain(server.url, user_path="/users/{{ params.user_id }}?v=2")
    runs_before = service.list_runs()
    with pytest.raises(RunFromRefused) as refused:
        service.start_from(changed, "summary")
    message = str(refused.value)
    assert message == (
        f"cannot run from 'summary': upstream node 'user' changed since run {first.run_id}"
    )
    assert "\n" not in message
    assert service.list_runs() == runs_before, "nothing is recorded for a refused run"
    # From the changed node itself it runs: nothing upstream of 'user' changed.
    server.reset()
    result, _ = execute(service.start_from(changed, "user"))
    assert result.state is RunState.COMPLETED
    assert server.paths() == ["/users/1", "/posts"]


def test_refused_when_an_upstream_node_has_no_stored_output(service, server):
    definition = chain(server.url)
    with pytest.raises(RunFromRefused, match="no earlier run of workflow 'chain'"):
        service.start_from(definition, "posts")
    failed, _ = execute(service.start(definition, {"user_id": 99}))
    with pytest.raises(RunFromRefused) as refused:
        service.start_from(definition, "posts")
    assert str(refused.value) == (
        f"cannot run from 'posts': upstream node 'user' has no stored output in run "
        f"{failed.run_id} (it is FAILED)"
    )
    with pytest.raises(RunFromRefused, match="no node 'nope' in workflow 'chain'"):
        service.start_from(definition, "nope")


def test_reuse_names_the_source_run_and_params_must_match_it(service, server):
    definition = chain(server.url)
    older, _ = execute(service.start(definition, {"user_id": 1}))
    newer, _ = execute(service.start(definition, {"user_id": 2}))
    handle = service.start_from(definition, "posts", reuse_run_id=older.run_id[:8])
    assert handle.source_run_id == older.run_id
    result, _ = execute(handle)
    assert result.nodes["user"].reused_from == older.run_id
    assert result.results["out"]["summary"]["name"] == "Ada Lovelace"
    # Other params than the source's: its outputs may depend on them.
    with pytest.raises(RunFromRefused, match=f"run {older.run_id} ran with other params"):
        service.start_from(definition, "posts", reuse_run_id=older.run_id, params={"user_id": 3})
    # Without --reuse, the newest run with these params.
    handle = service.start_from(definition, "posts", params={"user_id": 1})
    assert handle.source_run_id == result.run_id  # the run from here above, same params
    assert handle.source_run_id != newer.run_id


def test_a_node_with_nothing_upstream_runs_from_here_without_any_earlier_run(service, server):
    definition = chain(server.url)
    handle = service.start_from(definition, "input", params={"user_id": 1})
    assert handle.source_run_id is None and handle.reused == []
    result, _ = execute(handle)
    assert result.state is RunState.COMPLETED


def test_resume_shows_kept_nodes_reused_and_leaves_their_rows_as_they_ran(service, server, db):
    definition = chain(server.url, user_path="/status/{{ params.code }}")
    first, _ = execute(service.start(definition, {"code": 200}))
    assert first.nodes["posts"].state is NodeState.FAILED  # /status has no body.id
    with closing(sqlite3.connect(db)) as connection, connection:
        # As if 'posts' had failed for a passing reason: make its dependency's output usable.
        connection.execute(
            "UPDATE node_runs SET output_json = ? WHERE run_id = ? AND node_id = 'user'",
            ('{"status_code": 200, "headers": {}, "body": {"id": 1, "name": "Ada"}}', first.run_id),
        )
    server.reset()
    handle = service.resume(first.run_id)
    assert sorted(handle.reused) == ["input", "user"]
    result, events = execute(handle)
    assert result.state is RunState.COMPLETED
    assert server.paths() == ["/posts"]
    kept = [
        (e.node_id, e.state, e.result.reused_from) for e in events if e.__class__ is NodeFinished
    ]
    assert kept[:2] == [
        ("input", NodeState.REUSED, first.run_id),
        ("user", NodeState.REUSED, first.run_id),
    ]
    # They did run in this run (its first execution): the store keeps that, SUCCEEDED.
    rows = stored_rows(db, first.run_id)
    assert rows["user"] == ("SUCCEEDED", None, 0)
    assert service.load(first.run_id).result.nodes["user"].attempts == 1


def test_resuming_a_run_from_here_keeps_its_reused_nodes_reused(service, server, db):
    definition = chain(server.url)
    first, _ = execute(service.start(definition, {"user_id": 1}))
    broken = chain(server.url)
    broken.nodes[2].config["url"] = server.url + "/fail"  # posts fails
    from_here, _ = execute(service.start_from(broken, "posts"))
    assert from_here.state is RunState.FAILED
    server.reset()
    again, _ = execute(service.resume(from_here.run_id, definition=definition))
    assert again.state is RunState.COMPLETED
    assert server.paths() == ["/posts"]
    assert again.nodes["user"].reused_from == first.run_id
    assert stored_rows(db, from_here.run_id)["user"] == ("REUSED", first.run_id, 0)


def test_reused_from_and_cached_survive_the_store(db, registry):
    definition = workflow(
        {"id": "a", "handler": "transform", "config": {"value": 1}},
        {"id": "b", "handler": "transform", "dependencies": ["a"], "config": {"value": "{{ a }}"}},
        name="round trip",
    )
    kept = NodeResult("a", NodeState.SUCCEEDED, 1, 41, cached=True, resolved_config={"value": 1})
    with Store.open(db) as store:
        run_id, _ = store.runs.create_run(definition)
        run = WorkflowRun(
            definition,
            registry,
            run_id=run_id,
            recorder=store.recorder(),
            previous={"a": StoredOutput("source-run", kept)},
        )
        result = asyncio.run(run.execute())
        stored = store.runs.load(run_id)
    assert result.state is RunState.COMPLETED
    a = stored.result.nodes["a"]
    assert (a.state, a.reused_from, a.cached, a.output) == (
        NodeState.REUSED,
        "source-run",
        True,
        41,
    )
    assert a.resolved_config == {"value": 1}
    assert stored.result.nodes["b"].output == 41
    assert stored.result.nodes["b"].reused_from is None and not stored.result.nodes["b"].cached
    assert stored.result.to_json()["nodes"]["a"]["reused_from"] == "source-run"
