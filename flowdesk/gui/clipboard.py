"""Nodes on the clipboard: FlowDesk's own copies, or workflow JSON text from anywhere.

Text goes through the model's one JSON reader (`parse_json`, then
`workflow_from_data`), so pasted JSON gets the same checks and messages as an
opened file. Accepted shapes: a workflow document, a list of nodes, one node,
or FlowDesk's own `{"nodes": [...], "layout": {...}}`.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QMimeData

from flowdesk.gui.files import prepare_for_canvas
from flowdesk.model import NodeSpec, WorkflowDefinition, WorkflowLoadError, workflow_from_data
from flowdesk.model.edits import position_of
from flowdesk.model.loading import parse_json

NODES_MIME = "application/x-flowdesk-nodes"
PASTED_NAME = "Pasted nodes"
Position = tuple[float, float]


class PasteRefused(ValueError):
    """The clipboard holds nothing that can be pasted; the message says why, for the status bar."""


def nodes_mime(definition: WorkflowDefinition, node_ids: list[str]) -> QMimeData:
    """Our own format for the nodes, plus the same nodes as JSON text for text editors."""
    payload = {
        "nodes": [definition.node(i).model_dump(mode="json") for i in node_ids],
        "layout": {i: position_of(definition, i) for i in node_ids},
    }
    mime = QMimeData()
    mime.setData(NODES_MIME, json.dumps(payload).encode())
    mime.setText(json.dumps(payload["nodes"], indent=2))
    return mime


def read_clipboard(mime: QMimeData | None) -> tuple[list[NodeSpec], dict[str, Position]]:
    """The nodes to paste and their positions (every node has one); raises PasteRefused."""
    if mime is not None and mime.hasFormat(NODES_MIME):
        return nodes_from_text(bytes(mime.data(NODES_MIME).data()).decode("utf-8", "replace"))
    if mime is None or not mime.hasText():
        raise PasteRefused("the clipboard holds no nodes and no text")
    return nodes_from_text(mime.text())


def nodes_from_text(text: str) -> tuple[list[NodeSpec], dict[str, Position]]:
    """Nodes from JSON text, with ids unique among themselves and a position for each."""
    if not text.strip():
        raise PasteRefused("the clipboard text is empty")
    try:
        data = parse_json(text)
    except WorkflowLoadError as exc:
        problem = exc.problems[0]
        reason = problem.message.removeprefix("malformed JSON: ")
        raise PasteRefused(
            f"the clipboard text is not JSON: {reason} ({problem.location})"
        ) from None
    try:
        definition = workflow_from_data(_as_workflow(data))
    except WorkflowLoadError as exc:
        details = "; ".join(str(problem) for problem in exc.problems[:3])
        more = f" (and {len(exc.problems) - 3} more)" if len(exc.problems) > 3 else ""
        raise PasteRefused(f"the clipboard JSON is not a workflow: {details}{more}") from None
    if not definition.nodes:
        raise PasteRefused("the workflow on the clipboard has no nodes")
    definition, _renamed = prepare_for_canvas(definition)
    layout = definition.layout or {}
    return list(definition.nodes), {node.id: layout[node.id] for node in definition.nodes}


def _as_workflow(data: Any) -> Any:
    """The pasted data in the workflow document's shape; other data is left for the model
    to reject with its own message."""
    if isinstance(data, list):
        return {"name": PASTED_NAME, "dag": {"nodes": data}}
    if not isinstance(data, dict):
        raise PasteRefused(
            f"the clipboard JSON is {_kind(data)}, not a workflow or a list of nodes"
        )
    if "dag" in data:
        return {"name": PASTED_NAME, **data}
    if isinstance(data.get("nodes"), list):  # our own copy, pasted back as text
        layout = data.get("layout")
        layout = {k: v for k, v in layout.items() if v} if isinstance(layout, dict) else None
        return {"name": PASTED_NAME, "dag": {"nodes": data["nodes"]}, "layout": layout}
    if "handler" in data:
        return {"name": PASTED_NAME, "dag": {"nodes": [data]}}
    raise PasteRefused(
        'the clipboard JSON is not a workflow: it has no "dag" with nodes, and is not a node '
        "or a list of nodes"
    )


def _kind(data: Any) -> str:
    if isinstance(data, str):
        return "a string"
    if isinstance(data, bool):
        return "a boolean"
    if isinstance(data, int | float):
        return "a number"
    return "null"
