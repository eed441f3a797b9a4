"""Editor actions: every user edit becomes one undo command on the document's stack.

The canvas and the config panel call in here with intents; nothing here
draws. Refused edits (a cycle, a bad id) are reported through `message`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtGui import QGuiApplication

from flowdesk.engine import HandlerRegistry
from flowdesk.gui.canvas import CanvasView, Pair
from flowdesk.gui.clipboard import NODES_MIME, PasteRefused, nodes_mime, read_clipboard
from flowdesk.gui.commands import push_edit
from flowdesk.gui.document import WorkflowDocument
from flowdesk.gui.placement import clear_offset
from flowdesk.model import NodeSpec, RetryPolicy, WorkflowDefinition, edits

# Edits a run does not care about: allowed while a run holds the structure locked.
UNLOCKED_EDITS = frozenset({"move", "edit description"})


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
        canvas.set_intents(self)

    @property
    def definition(self) -> WorkflowDefinition:
        return self.document.definition

    def _push(
        self, text: str, after: WorkflowDefinition, renamed: dict[str, str] | None = None
    ) -> None:
        if self.locked and text not in UNLOCKED_EDITS:
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
            self.canvas.reset_title(node_id)  # the document still has the old id

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

    def edit_flow(self, node_id: str, *, when: str | None, trigger_rule: str | None) -> None:
        """The node's condition (`when`) and join rule; None removes each from the file."""
        self._push(
            f"edit {node_id} run when / join rule",
            edits.update_node(self.definition, node_id, when=when, trigger_rule=trigger_rule),
        )

    def edit_map(
        self,
        node_id: str,
        *,
        map_over: str | None,
        max_items: int | None,
        on_item_failure: str | None,
    ) -> None:
        """The node's list to map over, its max items (None: the default) and what a failed
        item does (None: fail); map_over None makes it a plain node again."""
        self._push(
            f"edit {node_id} map over",
            edits.update_map(self.definition, node_id, map_over, max_items, on_item_failure),
        )

    def edit_cache(self, node_id: str, cache: Any) -> None:
        """The node's `cache`: None (off), True, or `{"ttl_s": seconds}`."""
        self._push(f"edit {node_id} cache", edits.update_cache(self.definition, node_id, cache))

    def rename(self, node_id: str, new_id: str) -> str | None:
        if new_id == node_id:
            return None
        if self.locked:  # an error, so the canvas puts the title it already changed back
            return f"{self.locked}: “rename {node_id} to {new_id}” was not applied"
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

    def set_description(self, text: str) -> None:
        """The workflow's description (its instructions); empty text removes it from the file."""
        description = text.rstrip() or None
        if description != self.definition.description:
            self._push(
                "edit description", self.definition.model_copy(update={"description": description})
            )

    # --- menu actions ---

    def delete_selected(self) -> None:
        ids = self.canvas.selected_ids()
        if ids:
            self._push(f"delete {', '.join(ids)}", edits.remove_nodes(self.definition, ids))

    def auto_layout(self) -> None:
        after, note = edits.auto_layout(self.definition, self.canvas.node_boxes())
        self._push("auto layout", after)
        self.canvas.fit()
        if note:
            self.message(note)

    def _selected_in_order(self) -> list[str]:
        selected = set(self.canvas.selected_ids())
        return [node_id for node_id in self.document.node_ids() if node_id in selected]

    def copy_selected(self) -> bool:
        ids = self._selected_in_order()
        if not ids:
            return False
        QGuiApplication.clipboard().setMimeData(nodes_mime(self.definition, ids))
        return True

    @staticmethod
    def release_clipboard() -> None:
        """Take our nodes off the clipboard before Qt shuts down: PySide6 crashes at exit
        (segfault) when the clipboard still holds a QMimeData created from Python."""
        if QGuiApplication.instance() is None:
            return
        clipboard = QGuiApplication.clipboard()
        mime = clipboard.mimeData()
        if mime is not None and mime.hasFormat(NODES_MIME):
            clipboard.clear()

    def paste(self) -> list[str]:
        """Paste copied nodes, or workflow JSON text (a document or a list of nodes); when
        there is nothing to paste the status bar says why."""
        try:
            specs, layout = read_clipboard(QGuiApplication.clipboard().mimeData())
        except PasteRefused as exc:
            self.message(f"Nothing pasted: {exc}")
            return []
        new_ids = self._add_copies(specs, layout, "paste")
        if new_ids:
            self.message(f"Pasted {len(new_ids)} node{'s' if len(new_ids) != 1 else ''}")
        return new_ids

    def duplicate_selected(self) -> list[str]:
        ids = self._selected_in_order()
        specs = [self.definition.node(i) for i in ids]
        layout = {i: edits.position_of(self.definition, i) or (0.0, 0.0) for i in ids}
        return self._add_copies(specs, layout, "duplicate")

    def _add_copies(self, specs: list[NodeSpec], layout: dict[str, Any], label: str) -> list[str]:
        if not specs:
            return []
        offset = clear_offset(
            (self.definition.layout or {}).values(),
            (layout.get(spec.id, (0.0, 0.0)) for spec in specs),
        )
        after, new_ids = edits.paste_nodes(self.definition, specs, layout, offset)
        self._push(f"{label} {', '.join(new_ids)}", after)
        self.canvas.select(new_ids)
        return new_ids
