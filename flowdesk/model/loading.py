"""The one place workflow JSON is read and written: files, text, and their error messages."""

from __future__ import annotations

import difflib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from flowdesk.model.problems import Problem, Rule, WorkflowLoadError
from flowdesk.model.workflow import WorkflowDefinition


def parse_workflow(text: str) -> WorkflowDefinition:
    """A workflow from JSON text; raises WorkflowLoadError naming line/column or the bad field."""
    return workflow_from_data(parse_json(text))


def parse_json(text: str) -> Any:
    """JSON text as data (for callers that accept more than one shape, e.g. pasted nodes);
    raises WorkflowLoadError naming the line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise WorkflowLoadError(
            [
                Problem(
                    Rule.MALFORMED_JSON,
                    f"malformed JSON: {exc.msg}",
                    location=f"line {exc.lineno}, column {exc.colno}",
                )
            ]
        ) from None


def workflow_from_data(data: Any) -> WorkflowDefinition:
    if not isinstance(data, dict):
        raise WorkflowLoadError(
            [Problem(Rule.STRUCTURE, f"expected a JSON object, found {type(data).__name__}")]
        )
    if "dag" not in data:  # else it would load as an empty workflow and "complete" doing nothing
        near = difflib.get_close_matches("dag", [str(key) for key in data], n=1, cutoff=0.3)
        hint = f" (found '{near[0]}': is it misspelt?)" if near else ""
        raise WorkflowLoadError(
            [Problem(Rule.STRUCTURE, f"no 'dag' with the workflow's nodes{hint}", (), "dag")]
        )
    try:
        return WorkflowDefinition.model_validate(data)
    except ValidationError as exc:
        raise WorkflowLoadError(
            [_structure_problem(error, data) for error in exc.errors()]
        ) from None


def _structure_problem(error: Any, data: dict[str, Any]) -> Problem:
    loc = tuple(error["loc"])
    nodes: tuple[str, ...] = ()
    location = ""
    for part in loc:
        location += f"[{part}]" if isinstance(part, int) else ("." if location else "") + str(part)
    # Name the node when the error sits inside one that has a readable id.
    if len(loc) >= 3 and loc[:2] == ("dag", "nodes") and isinstance(loc[2], int):
        try:
            node_id = data["dag"]["nodes"][loc[2]]["id"]
        except (KeyError, IndexError, TypeError):
            node_id = None
        if isinstance(node_id, str):
            nodes = (node_id,)
    message = str(error["msg"])
    if error["type"] == "missing":
        message = "required field is missing"
    return Problem(Rule.STRUCTURE, message, nodes, location or None)


def load_workflow(path: str | os.PathLike[str]) -> WorkflowDefinition:
    """Read a workflow file; any failure is a WorkflowLoadError with a one-line reason."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkflowLoadError([Problem(Rule.UNREADABLE_FILE, "file not found")]) from None
    except IsADirectoryError:
        raise WorkflowLoadError(
            [Problem(Rule.UNREADABLE_FILE, "is a directory, not a file")]
        ) from None
    except UnicodeDecodeError as exc:
        raise WorkflowLoadError(
            [Problem(Rule.UNREADABLE_FILE, f"not UTF-8 text (byte {exc.start})")]
        ) from None
    except OSError as exc:
        raise WorkflowLoadError([Problem(Rule.UNREADABLE_FILE, exc.strerror or str(exc))]) from None
    return parse_workflow(text)


def dump_workflow(definition: WorkflowDefinition, *, include_layout: bool = True) -> str:
    return json.dumps(definition.to_json_dict(include_layout=include_layout), indent=2) + "\n"


def dump_snapshot(definition: WorkflowDefinition) -> str:
    """Compact JSON of what a run runs (no layout): what the store keeps with every run.

    About ten times quicker than `dump_workflow`, whose indented text is for people."""
    return json.dumps(definition.to_json_dict(include_layout=False), separators=(",", ":"))


def save_workflow(
    definition: WorkflowDefinition, path: str | os.PathLike[str], *, include_layout: bool = True
) -> None:
    """Write atomically: a crash mid-save leaves the old file, never half a new one."""
    target = Path(path)
    text = dump_workflow(definition, include_layout=include_layout)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
