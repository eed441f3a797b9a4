"""Loading the seed format, exporting it back, and the errors of unreadable input."""

from __future__ import annotations

import json
import re

import pytest
from conftest import DATA, REPO

from flowdesk.model import (
    WorkflowDefinition,
    WorkflowLoadError,
    dump_workflow,
    load_workflow,
    parse_workflow,
    save_workflow,
)
from flowdesk.model.problems import Rule

SEED_DOC = REPO.parent / "shared" / "seed" / "000_bdba36127e325fa3.txt"


def _seed_example_text() -> str:
    """The example as printed in the seed document when it is beside us, else our copy of it."""
    if SEED_DOC.exists():
        match = re.search(r"## Example Workflow\s+```json\n(.*?)```", SEED_DOC.read_text(), re.S)
        assert match, "the seed document's example moved"
        return match.group(1)
    return (DATA / "seed_example.json").read_text()


def test_seed_example_loads_unchanged() -> None:
    definition = parse_workflow(_seed_example_text())
    assert definition.name == "Parallel API Fetcher"
    assert [n.id for n in definition.nodes] == [
        "input",
        "get_user",
        "get_posts",
        "get_comments",
        "output",
    ]
    assert definition.node("output").dependencies == ["get_user", "get_posts", "get_comments"]
    assert definition.node("get_user").config == {
        "url": "http://localhost:8911/document/policy/list"
    }


def test_our_copy_matches_the_seed_document() -> None:
    ours = json.loads((DATA / "seed_example.json").read_text())
    assert json.loads(_seed_example_text()) == ours


def test_round_trip_keeps_every_node_handler_dependency_and_config() -> None:
    original = json.loads(_seed_example_text())
    exported = json.loads(dump_workflow(parse_workflow(json.dumps(original))))
    assert exported == original


def test_round_trip_keeps_optional_and_unknown_fields() -> None:
    original = {
        "name": "extras",
        "description": "all the optional parts",
        "owner": "someone",
        "dag": {
            "nodes": [
                {
                    "id": "fetch",
                    "handler": "call_external_service",
                    "dependencies": [],
                    "config": {"url": "http://127.0.0.1/", "json": None, "query": {"a": "007"}},
                    "retry": {"max_attempts": 3, "backoff_s": 0.25},
                    "timeout_s": 5,
                    "x-note": {"kept": True},
                }
            ]
        },
        "layout": {"fetch": [10.5, -20.0]},
    }
    exported = json.loads(dump_workflow(parse_workflow(json.dumps(original))))
    assert exported == original
    assert exported["dag"]["nodes"][0]["config"]["query"]["a"] == "007"


def test_export_without_layout_is_seed_shaped() -> None:
    definition = WorkflowDefinition.model_validate(
        {"name": "w", "dag": {"nodes": [{"id": "a", "handler": "input"}]}, "layout": {"a": [1, 2]}}
    )
    exported = json.loads(dump_workflow(definition, include_layout=False))
    assert exported == {
        "name": "w",
        "dag": {"nodes": [{"id": "a", "handler": "input", "dependencies": []}]},
    }


def test_save_is_atomic_and_loadable(tmp_path) -> None:
    path = tmp_path / "wf.json"
    definition = parse_workflow(_seed_example_text())
    save_workflow(definition, path)
    assert load_workflow(path) == definition
    assert [p.name for p in tmp_path.iterdir()] == ["wf.json"], "no temporary file left behind"


def test_malformed_json_names_line_and_column() -> None:
    """The place is the one Python's json reports (3.13 points at a trailing comma itself, 3.11
    at the bracket after it), so the test asks json rather than pinning one version's answer."""
    path = DATA / "invalid" / "malformed-json.json"
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(path.read_text(encoding="utf-8"))
    with pytest.raises(WorkflowLoadError) as info:
        load_workflow(path)
    (problem,) = info.value.problems
    assert problem.rule is Rule.MALFORMED_JSON
    assert problem.location == f"line {expected.value.lineno}, column {expected.value.colno}"
    assert expected.value.lineno in (4, 5), "the trailing comma is on line 4, the bracket on 5"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"[1, 2]", "expected a JSON object, found list"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"dag": {"nodes": "many"}}', "required field is missing"),
    ],
)
def test_structural_problems_are_reported(tmp_path, content: bytes, expected: str) -> None:
    path = tmp_path / "wf.json"
    path.write_bytes(content)
    with pytest.raises(WorkflowLoadError) as info:
        load_workflow(path)
    assert expected in str(info.value)


def test_structural_problem_names_the_node() -> None:
    with pytest.raises(WorkflowLoadError) as info:
        load_workflow(DATA / "invalid" / "structure.json")
    (problem,) = info.value.problems
    assert problem.nodes == ("input",)
    assert problem.location == "dag.nodes[0].handler"


def test_missing_file_and_directory(tmp_path) -> None:
    with pytest.raises(WorkflowLoadError, match="file not found"):
        load_workflow(tmp_path / "nope.json")
    with pytest.raises(WorkflowLoadError, match="directory"):
        load_workflow(tmp_path)
