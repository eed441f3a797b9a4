"""The one place workflow JSON is read and written: files, text, and their error messages."""

from __future__ import annotations

import difflib
import json
import os
import re
import sys
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
    raises WorkflowLoadError naming the line and column (or the path to a bad string)."""
    try:
        return read_json(text)
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
    except UnsupportedJsonError as exc:
        raise WorkflowLoadError(
            [Problem(Rule.MALFORMED_JSON, exc.message, (), exc.location)]
        ) from None


MAX_JSON_DEPTH = 200
"""Deepest nesting of arrays and objects FlowDesk reads (workflow files, params). Deeper data
cannot be written back (pydantic stops at 255 levels, Python's recursion limit near 1,000)."""
_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")
"""A JSON escape that may decode to half of a surrogate pair (valid pairs are checked after)."""


class UnsupportedJsonError(ValueError):
    """Well-formed JSON that FlowDesk refuses: nested too deeply, a number too long to convert,
    a string holding a lone surrogate (it cannot be encoded as UTF-8 nor stored)."""

    def __init__(self, message: str, location: str | None) -> None:
        super().__init__(f"{location}: {message}" if location else message)
        self.message = message
        self.location = location


def read_json(text: str) -> Any:
    """`json.loads` within FlowDesk's limits: raises json.JSONDecodeError or UnsupportedJsonError,
    never RecursionError or the int-conversion ValueError (front-ends report both in one line)."""
    try:
        data = json.loads(text)
    except RecursionError:
        raise UnsupportedJsonError(_too_deep(), _deep_location(text)) from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # only json's int(): "Exceeds the limit (4300 digits) ..."
        raise _number_too_long(text, exc) from None
    if _depth_exceeds(data, MAX_JSON_DEPTH):
        raise UnsupportedJsonError(_too_deep(), _deep_location(text))
    if _SURROGATE.search(text) or not _encodes(text):
        _reject_lone_surrogates(data)
    return data


def _too_deep() -> str:
    return f"JSON nested more than {MAX_JSON_DEPTH} levels deep"


def _depth_exceeds(data: Any, limit: int) -> bool:
    """Without recursion: data that json read may still be too deep for the rest of FlowDesk."""
    stack = [(data, 1)] if isinstance(data, dict | list) else []
    while stack:
        value, depth = stack.pop()
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _deep_location(text: str) -> str | None:
    """`line L, column C` of the bracket that opens level MAX_JSON_DEPTH + 1 (strings skipped)."""
    depth = 0
    for match in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return _line_column(text, match.start())
        elif token in "]}":
            depth -= 1
    return None


def _number_too_long(text: str, error: ValueError) -> UnsupportedJsonError:
    limit = sys.get_int_max_str_digits()
    # An integer (not a float's digits): json's int() is what refused it.
    found = re.search(rf"(?<![\d.eE+])-?\d{{{limit + 1},}}(?![\d.eE])", text) if limit else None
    if found is None:  # pragma: no cover - json raised a ValueError we do not know
        return UnsupportedJsonError(f"cannot read this JSON: {error}", None)
    digits = len(found.group().lstrip("-"))
    return UnsupportedJsonError(
        f"number too long: {digits:,} digits (at most {limit:,})",
        _line_column(text, found.start()),
    )


def _line_column(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - text.rfind("\n", 0, index)
    return f"line {line}, column {column}"


def _encodes(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _reject_lone_surrogates(data: Any) -> None:
    """Raise naming the path (`dag.nodes[0].id`) of the first key or string with a lone
    surrogate (`"\\ud800"`): it cannot be printed as UTF-8, stored, or sent anywhere."""
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if not _encodes(value):
                shown = json.dumps(value)[1:-1]  # escaped: one line, printable
                if len(shown) > 40:
                    shown = shown[:39] + "…"
                raise UnsupportedJsonError(
                    f"text '{shown}' holds a lone surrogate (half of a UTF-16 pair), "
                    "which is not valid Unicode",
                    path or None,
                )
        elif isinstance(value, dict):
            for key, child in reversed(value.items()):
                step = key.encode("utf-8", "backslashreplace").decode("utf-8")
                stack.append((child, f"{path}.{step}" if path else step))
                stack.append((key, path))  # a key is checked where its object is
        elif isinstance(value, list):
            stack.extend((child, f"{path}[{i}]") for i, child in reversed(list(enumerate(value))))


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
