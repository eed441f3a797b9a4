"""Drive the real editor the way a user does: drops, port drags, form edits."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QLineEdit, QPlainTextEdit


def drop_handler(window, handler: str, scene_pos: tuple[float, float]) -> str:
    """Drop a palette entry onto the canvas at a scene position; returns the new node id."""
    viewer = window.canvas.graph.viewer()
    before = set(window.document.node_ids())
    items = window.palette.handler_items()
    mime = window.palette.tree.mimeData([items[handler]])
    point = viewer.mapFromScene(QPointF(*scene_pos))
    event = QDropEvent(
        QPointF(point),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    viewer.dropEvent(event)
    (new,) = set(window.document.node_ids()) - before
    return new


def wire(window, source: str, target: str) -> None:
    """What NodeGraphQt's viewer emits when the user drags source's output onto target's input."""
    out_view = window.canvas.nodes[source].output_ports()[0].view
    in_view = window.canvas.nodes[target].input_ports()[0].view
    window.canvas.graph.viewer().connection_changed.emit([], [(out_view, in_view)])


def unwire(window, source: str, target: str) -> None:
    out_view = window.canvas.nodes[source].output_ports()[0].view
    in_view = window.canvas.nodes[target].input_ports()[0].view
    window.canvas.graph.viewer().connection_changed.emit([(in_view, out_view)], [])


def canvas_inputs(window, node_id: str) -> set[str]:
    """The node ids wired into node_id, as the canvas (model and drawn pipes) shows them."""
    port = window.canvas.nodes[node_id].input_ports()[0]
    model = {window.canvas.graph.id_of[p.node().id] for p in port.connected_ports()}
    drawn = {window.canvas.graph.id_of[p.node.id] for p in port.view.connected_ports}
    assert model == drawn, f"canvas model {model} and drawn pipes {drawn} differ"
    return model


def select(window, node_id: str) -> None:
    window.canvas.select([node_id])
    QApplication.processEvents()


def type_into(widget, text: str) -> None:
    """Replace a field's text and finish editing, as when the user tabs out."""
    if isinstance(widget, QPlainTextEdit):
        widget.setPlainText(text)
        widget.setFocus()
        widget.clearFocus()
        # Offscreen focus is unreliable; the focus-out commit is what we simulate.
        from PySide6.QtCore import QEvent
        from PySide6.QtGui import QFocusEvent

        QApplication.sendEvent(widget, QFocusEvent(QEvent.Type.FocusOut))
    elif isinstance(widget, QLineEdit):
        widget.setText(text)
        widget.editingFinished.emit()
    else:  # pragma: no cover - helper misuse
        raise TypeError(type(widget))


def scene_center(window, node_id: str) -> QPoint:
    view = window.canvas.nodes[node_id].view
    return window.canvas.graph.viewer().mapFromScene(view.sceneBoundingRect().center())
