"""Editor actions: every user edit becomes one undo command on the document's stack.

The canvas and the config panel call in here with intents; nothing here
draws. Refused edits (a cycle, a bad id) are reported through `message`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QMimeData
from PySide6.QtGui import QGuiApplication

from flowdesk.engine.registry import HandlerRegistry
from flowdesk.gui import edits
from flowdesk.gui.canvas import CanvasView, Pair
from flowdesk.gui.commands import push_edit
from flowdesk.gui.document import WorkflowDocument
from flowdesk.model import NodeSpec, RetryPolicy, WorkflowDefinition

CLIPBOARD_MIME = "application/x-flowdesk-nodes"


class EditorController:
    """Turns canvas gestures, panel edits and menu actions into document commands."""

    def __init__(
        self,
        document: WorkflowDocument,
        registry: HandlerRegistry,
        canvas: CanvasView,
        message: Callable[[str], None],
    ) -> None:
        self.document = document
        self.registry = registry
        self.canvas = canvas
        self.message = message
        self.locked: str | None = None  # why structural edits are refused (a run is active)
        canvas.graph.intents = self

    @property
    def definition(self) -> WorkflowDefinition:
        return self.document.definition

    def _push(
        self, text: str, after: WorkflowDefinition, renamed: dict[str, str] | None = None
    ) -> None:
        if self.locked and text != "move":  # moving a node changes only the layout
            self.message(f"{self.locked}: “{text}” was not applied")
            return
        push_edit(self.document, text, after, renamed=renamed)

    # --- canvas intents ---

    def handler_dropped(self, handler: str, position: tuple[float, float]) -> str:
        return self.add_node(handler, position)

    def add_node(self, handler: str, position: tuple[float, float] | None = None) -> str:
        """Add a node of `handler`; its id is the handler name made unique."""
        if position is None:
            point = self.canvas.scene_point()
            position = (point.x(), point.y())
        node_id = edits.unique_id(handler, self.document.node_ids())
        spec = NodeSpec(id=node_id, handler=handler)
        self._push(f"add {node_id}", edits.add_node(self.definition, spec, position))
        self.canvas.select([node_id])
        return node_id

    def wires_changed(self, disconnected: list[Pair], connected: list[Pair]) -> None:
        after = self.definition
        for source, target in disconnected:
            after = edits.disconnect(after, source, target)
        refused: list[str] = []
        for source, target in connected:
            try:
                after = edits.connect(after, source, target)
            except edits.EditRefused as exc:
                refused.append(str(exc))
        label = "wire" if connected and not refused else "unwire"
        self._push(label, after)
        if refused:
            self.message("; ".join(refused))
        # Put back whatever the viewer drew or detached that the document did not take.
        for _source, target in disconnected + connected:
            self.canvas.reconcile_inputs(target)

    def nodes_moved(self, positions: dict[str, tuple[float, float]]) -> None:
        self._push("move", edits.move_nodes(self.definition, positions))

    def node_renamed_on_canvas(self, node_id: str, new_id: str) -> None:
        error = self.rename(node_id, new_id)
        if error:
            self.message(error)
            # Put the title back to the id the document still has.
            node = self.canvas.nodes.get(node_id)
            if node is not None:
                node.model.name = node_id
                node.view.name = node_id

    # --- panel edits ---

    def edit_config(self, node_id: str, config: dict[str, Any]) -> None:
        self._push(
            f"edit {node_id} config", edits.update_node(self.definition, node_id, config=config)
        )

    def edit_retry(self, node_id: str, retry: RetryPolicy | None) -> None:
        self._push(
            f"edit {node_id} retry", edits.update_node(self.definition, node_id, retry=retry)
        )

    def edit_timeout(self, node_id: str, timeout_s: float | None) -> None:
        self._push(
            f"edit {node_id} timeout",
            edits.update_node(self.definition, node_id, timeout_s=timeout_s),
        )

    def rename(self, node_id: str, new_id: str) -> str | None:
        if new_id == node_id:
            return None
        try:
            after = edits.rename_node(self.definition, node_id, new_id)
        except edits.EditRefused as exc:
            return str(exc)
        self._push(f"rename {node_id} to {new_id}", after, renamed={node_id: new_id})
        return None

    def rename_workflow(self, name: str) -> None:
        name = name.strip()
        if name and name != self.definition.name:
            self._push("rename workflow", self.definition.model_copy(update={"name": name}))

    # --- menu actions ---

    def delete_selected(self) -> None:
        ids = self.canvas.selected_ids()
        if ids:
            self._push(f"delete {', '.join(ids)}", edits.remove_nodes(self.definition, ids))

    def auto_layout(self) -> None:
        self._push("auto layout", edits.auto_layout(self.definition))
        self.canvas.fit()

    def _selected_in_order(self) -> list[str]:
        selected = set(self.canvas.selected_ids())
        return [node_id for node_id in self.document.node_ids() if node_id in selected]

    def copy_selected(self) -> bool:
        ids = self._selected_in_order()
        if not ids:
            return False
        payload = {
            "nodes": [self.definition.node(i).model_dump(mode="json") for i in ids],
            "layout": {i: edits.position_of(self.definition, i) for i in ids},
        }
        mime = QMimeData()
        mime.setData(CLIPBOARD_MIME, json.dumps(payload).encode())
        mime.setText(json.dumps(payload["nodes"], indent=2))
        QGuiApplication.clipboard().setMimeData(mime)
        return True

    @staticmethod
    def release_clipboard() -> None:
        """Take our nodes off the clipboard before Qt shuts down: PySide6 crashes at exit
        (segfault) when the clipboard still holds a QMimeData created from Python."""
        if QGuiApplication.instance() is None:
            return
        clipboard = QGuiApplication.clipboard()
        mime = clipboard.mimeData()
        if mime is not None and mime.hasFormat(CLIPBOARD_MIME):
            clipboard.clear()

    def paste(self) -> list[str]:
        mime = QGuiApplication.clipboard().mimeData()
        if mime is None or not mime.hasFormat(CLIPBOARD_MIME):
            return []
        try:
            payload = json.loads(bytes(mime.data(CLIPBOARD_MIME).data()).decode())
            specs = [NodeSpec.model_validate(node) for node in payload["nodes"]]
            layout = {k: tuple(v) for k, v in payload.get("layout", {}).items() if v}
        except (ValueError, KeyError, TypeError):
            self.message("the clipboard does not hold FlowDesk nodes")
            return []
        return self._add_copies(specs, layout, "paste")

    def duplicate_selected(self) -> list[str]:
        ids = self._selected_in_order()
        specs = [self.definition.node(i) for i in ids]
        layout = {i: edits.position_of(self.definition, i) or (0.0, 0.0) for i in ids}
        return self._add_copies(specs, layout, "duplicate")

    def _add_copies(self, specs: list[NodeSpec], layout: dict[str, Any], label: str) -> list[str]:
        if not specs:
            return []
        after, new_ids = edits.paste_nodes(self.definition, specs, layout)
        self._push(f"{label} {', '.join(new_ids)}", after)
        self.canvas.select(new_ids)
        return new_ids
