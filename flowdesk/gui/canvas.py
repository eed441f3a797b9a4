"""The NodeGraphQt canvas as a view of the WorkflowDocument: the only module that touches it.

`FlowGraph` turns the user's canvas gestures (wire, unwire, move, drop, Tab
search, in-place rename) into intents instead of letting NodeGraphQt change
itself; `CanvasView` turns document Diffs into canvas updates that never push
NodeGraphQt undo commands. A node's title shows its id elided to a normal node
width (whole in its tooltip and while it is renamed in place). Applying the same state twice is a no-op, so
re-fired signals and undo/redo cannot double anything. The private
NodeGraphQt members used here are listed in tests/gui/test_nodegraphqt_api.py,
which fails if an upgrade removes one (pyproject pins the minor version).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from NodeGraphQt import BaseNode, NodeGraph
from NodeGraphQt.constants import PortTypeEnum
from NodeGraphQt.qgraphics.node_abstract import AbstractNodeItem
from NodeGraphQt.qgraphics.node_base import NodeItem
from NodeGraphQt.qgraphics.node_text_item import NodeTextItem
from NodeGraphQt.widgets.viewer import NodeViewer
from PySide6.QtCore import QMimeData, QObject, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QBrush,
    QColor,
    QContextMenuEvent,
    QCursor,
    QFocusEvent,
    QFont,
    QFontMetricsF,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPainterPath,
    QPen,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsTextItem,
    QMenu,
    QStyle,
    QStyleOptionGraphicsItem,
    QWidget,
)

from flowdesk.engine import HandlerRegistry, NodeState
from flowdesk.engine.trigger_rules import CONDITION_FALSE
from flowdesk.gui import theme
from flowdesk.gui.document import Diff, WorkflowDocument
from flowdesk.gui.text_fit import elide_middle
from flowdesk.model.drawing import NodeBoxes
from flowdesk.model.edits import position_of

HANDLER_MIME = "nodegraphqt/nodes"  # a format NodeGraphQt's viewer accepts on drag-enter
HANDLER_PREFIX = "flowdesk-handler:"
NODE_IDENTIFIER = "flowdesk"

Pair = tuple[str, str]  # (source node id, target node id): target depends on source
MapBadge = tuple[str, float, float]
"""A mapped node's progress: (text such as `37/100`, share of items succeeded, share failed)."""
CompareMark = tuple[str, theme.RGB, bool]
"""Compare mode's (label, colour, quiet): quiet marks a node that did not differ (dimmed)."""
MODIFIER_KEYS = {Qt.Key.Key_Control, Qt.Key.Key_Shift, Qt.Key.Key_Alt, Qt.Key.Key_Meta}
TITLE_CHARS = 28  # a node's title shows at most this many characters of its id ...
TITLE_WIDTH = 150.0  # ... and at most this many pixels, so a node stays under ~200 px wide
FIT_MARGIN = 30.0  # scene pixels zoom to fit leaves around the nodes and their ports


def fitted_title(node_id: str, metrics: QFontMetricsF) -> str:
    """`node_id` elided in the middle to TITLE_CHARS characters and TITLE_WIDTH pixels."""
    limit = TITLE_CHARS
    title = elide_middle(node_id, limit)
    while limit > 4 and metrics.horizontalAdvance(title) > TITLE_WIDTH:
        limit -= 1
        title = elide_middle(node_id, limit)
    return title


class FlowTitleItem(NodeTextItem):
    """A node's title: its id fitted to the node, but whole while it is renamed in place.

    NodeGraphQt's title is also its rename field: editing starts from the whole id, Return or
    leaving the field commits what was typed, and leaving it when no edit is under way commits
    nothing (the elided text is never an id).
    """

    RAISE = 10.0  # the node being renamed is drawn this far above the others
    # Whether the field look is on (set per item): NodeGraphQt's set_editable(False) drops
    # focus first, whose focusOutEvent calls set_editable(False) again, so `editing` alone
    # would switch the look off twice.
    field_shown = False

    @property
    def editing(self) -> bool:
        return bool(self.textInteractionFlags() & Qt.TextInteractionFlag.TextEditable)

    def set_editable(self, value: bool = False) -> None:
        super().set_editable(value)
        node = self.parentItem()
        if self.editing == self.field_shown or not isinstance(node, FlowNodeItem):
            return
        self.field_shown = self.editing
        node.show_title()
        # The whole id runs right from the node's left edge, over its neighbours.
        node.setZValue(node.zValue() + (self.RAISE if self.editing else -self.RAISE))
        if not self.editing:
            node.align_label()  # centred again, even when the text did not change
            return
        self.setPos(node.boundingRect().left() + 6, self.pos().y())
        self.setFocus()
        cursor = self.textCursor()
        cursor.select(cursor.SelectionType.Document)
        self.setTextCursor(cursor)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if self.editing and event.key() == Qt.Key.Key_Enter:  # the keypad's: as Return
            self.set_node_name(self.toPlainText())
            self.set_editable(False)
            event.accept()
            return
        super().keyPressEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:
        if self.editing:
            super().focusOutEvent(event)  # commits what was typed
        else:
            QGraphicsTextItem.focusOutEvent(self, event)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: Any) -> None:
        if self.editing:  # a field's background, so the id reads over other nodes and wires
            painter.save()
            painter.setPen(QPen(QColor(*theme.EDIT_FIELD_BORDER), 1))
            painter.setBrush(QColor(*theme.EDIT_FIELD_BACKGROUND))
            painter.drawRoundedRect(self.boundingRect(), 3, 3)
            painter.restore()
            option = QStyleOptionGraphicsItem(option)  # without Qt's dashed focus frame
            option.state &= ~(QStyle.StateFlag.State_HasFocus | QStyle.StateFlag.State_Selected)
        super().paint(painter, option, widget)


class FlowNodeItem(NodeItem):
    """A node drawn with its handler's accent strip and name, and a problem outline and badge."""

    def __init__(self, name: str = "node", parent: Any = None) -> None:
        super().__init__(name, parent)
        plain = self._text_item
        self._text_item = FlowTitleItem(self.name, self)
        plain.setParentItem(None)
        self.accent: theme.RGB = theme.UNKNOWN_ACCENT
        self.handler_name = ""
        self.problem_text = ""
        self.problem_is_error = False
        self.run_state: NodeState | None = None
        self.run_badge = ""
        self.pulse = 0.0  # 0..1, advanced by the canvas while the node runs
        self.map_badge: MapBadge | None = None  # a mapped node's item progress, with its state
        self.compare_mark: CompareMark | None = None  # compare mode's, over the run state

    @property
    def condition_false(self) -> bool:
        """Skipped by its own `when` (the run board's badge says so): drawn dashed."""
        return self.run_state is NodeState.SKIPPED and self.run_badge == CONDITION_FALSE

    def set_run_state(self, state: NodeState | None, badge: str) -> None:
        """Paint run state as an overlay: never a NodeGraphQt property, so no undo, no save."""
        if (state, badge) == (self.run_state, self.run_badge):
            return
        self.run_state, self.run_badge = state, badge
        self._tooltip_disable(self.disabled)
        self.update()

    def set_compare_mark(self, mark: CompareMark | None) -> None:
        """Compare mode's mark, painted over the run state; None: the run state again."""
        if mark == self.compare_mark:
            return
        self.compare_mark = mark
        self._tooltip_disable(self.disabled)
        self.update()

    def set_map_progress(self, badge: MapBadge | None) -> None:
        """A mapped node's item progress, drawn as a bar in place of the handler's name."""
        if badge == self.map_badge:
            return
        self.map_badge = badge
        self._tooltip_disable(self.disabled)
        self.update()

    @property
    def shows_map_bar(self) -> bool:
        return (
            self.map_badge is not None
            and self.run_state is not None
            and getattr(self, "compare_mark", None) is None
        )

    def set_problems(self, text: str, is_error: bool) -> None:
        if (text, is_error) == (self.problem_text, self.problem_is_error):
            return
        self.problem_text = text
        self.problem_is_error = is_error
        self._tooltip_disable(self.disabled)
        self.update()

    def _set_name(self, name: str) -> None:
        # NodeGraphQt's setter would put the whole name on the title; ours fits it.
        AbstractNodeItem.name.fset(self, name)
        self.show_title()

    name = property(NodeItem.name.fget, _set_name)

    def set_title(self, name: str) -> None:
        """Show `name` (the node id) as the title; NodeGraphQt's name setter resets the tooltip."""
        self.name = name
        self._tooltip_disable(self.disabled)

    def show_title(self) -> None:
        """The id on the title: whole while renamed in place, else fitted to a normal width
        (the node is redrawn to that width, its wires following its ports)."""
        title = self._text_item
        if not isinstance(title, FlowTitleItem):
            return  # NodeItem.__init__ has not made it yet
        text = self.name if title.editing else fitted_title(self.name, QFontMetricsF(title.font()))
        if text == title.toPlainText():
            return
        title.setPlainText(text)
        if self.scene() is None or title.editing:
            return
        self.draw_node()
        for port in (*self.inputs, *self.outputs):
            port.redraw_connected_pipes()

    def describe(self) -> str:
        """The node's tooltip: its id, handler, run state and problems."""
        lines = [
            f"<b>{html.escape(self.name)}</b>",
            f"handler: {html.escape(getattr(self, 'handler_name', ''))}",
        ]
        mark = getattr(self, "compare_mark", None)
        if mark is not None:
            lines.append(f"compare: {html.escape(mark[0])}")
        state = getattr(self, "run_state", None)
        if state is not None:
            badge = getattr(self, "run_badge", "")
            lines.append(f"state: {state.value}" + (f" ({html.escape(badge)})" if badge else ""))
            map_badge = getattr(self, "map_badge", None)
            if map_badge is not None:
                lines.append(f"items: {html.escape(map_badge[0])}")
        problems = getattr(self, "problem_text", "")
        if problems:
            lines.append("<br/>" + html.escape(problems).replace("\n", "<br/>"))
        lines.append("<br/><i>Double-click the title to rename; right-click for actions.</i>")
        return "<br/>".join(lines)

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        result = super().itemChange(change, value)
        title = getattr(self, "_text_item", None)  # None while NodeItem.__init__ runs
        if change == QGraphicsItem.GraphicsItemChange.ItemSelectedChange and (
            isinstance(title, FlowTitleItem) and title.field_shown
        ):
            # NodeGraphQt restacks the node on (de)selection: keep a rename field on top.
            self.setZValue(self.zValue() + FlowTitleItem.RAISE)
        return result

    def _tooltip_disable(self, state: bool) -> None:
        # NodeGraphQt rebuilds the tooltip on redraw and gives the title its own ("double-click
        # to edit node name"), which wins over the node's: both say what the node is instead.
        tip = self.describe()
        self.setToolTip(tip)
        self._text_item.setToolTip(tip)

    def paint(self, painter: QPainter, option: Any, widget: Any) -> None:
        super().paint(painter, option, widget)
        painter.save()
        rect = self.boundingRect().adjusted(1, 1, -1, -1)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(*self.accent))
        painter.drawRoundedRect(QRectF(rect.left(), rect.top(), 5, rect.height()), 2, 2)
        painter.setPen(QColor(210, 210, 210))
        font = QFont(painter.font())
        font.setPointSizeF(7.5)
        painter.setFont(font)
        if not self.shows_map_bar:  # the bar takes the handler name's place while it shows
            painter.drawText(
                rect.adjusted(0, 0, 0, -4),
                Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom,
                self.handler_name,
            )
        if self.problem_text:
            color = QColor(*(theme.ERROR_COLOR if self.problem_is_error else theme.WARNING_COLOR))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(color, 2.5))
            painter.drawRoundedRect(rect, 4, 4)
            badge = QRectF(rect.right() - 14, rect.top() - 6, 16, 16)
            painter.setBrush(QBrush(color))
            painter.setPen(Qt.PenStyle.NoPen)
            painter.drawEllipse(badge)
            painter.setPen(QColor(255, 255, 255))
            font.setBold(True)
            font.setPointSizeF(8)
            painter.setFont(font)
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, "!")
        if self.compare_mark:  # compare mode: how the node differs, instead of its run state
            self._paint_compare_mark(painter, rect, font)
        elif self.run_state:
            self._paint_run_state(painter, rect, font)
        painter.restore()

    def _paint_run_state(self, painter: QPainter, rect: QRectF, font: QFont) -> None:
        assert self.run_state is not None
        color = QColor(*theme.STATE_COLORS[self.run_state])
        if self.run_state is NodeState.SKIPPED:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(20, 20, 20, 150))  # dimmed: it never ran
            painter.drawRoundedRect(rect, 4, 4)
        outline = QColor(color)
        running = self.run_state is NodeState.RUNNING
        if running:
            outline.setAlphaF(0.45 + 0.55 * abs(1 - 2 * self.pulse))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        pen = QPen(outline, 4 if running else 3)
        if self.condition_false:  # its own condition skipped it: nothing upstream failed
            pen = QPen(QColor(200, 200, 200), 2, Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.drawRoundedRect(rect.adjusted(1, 1, -1, -1), 4, 4)
        label = self.run_state.value + (f" · {self.run_badge}" if self.run_badge else "")
        font.setBold(True)
        font.setPointSizeF(7)
        painter.setFont(font)
        width = painter.fontMetrics().horizontalAdvance(label) + 10
        pill = QRectF(rect.left() + 10, rect.top() + 24, width, 14)  # under the title
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawRoundedRect(pill, 7, 7)
        pending = self.run_state is NodeState.PENDING
        painter.setPen(QColor(30, 30, 30) if pending else QColor(255, 255, 255))
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, label)
        if self.shows_map_bar:
            self._paint_map_bar(painter, rect, font)

    def _paint_map_bar(self, painter: QPainter, rect: QRectF, font: QFont) -> None:
        """Items succeeded (green) and failed (red) as parts of a bar, its text on top."""
        assert self.map_badge is not None
        text, succeeded, failed = self.map_badge
        bar = QRectF(rect.left() + 10, rect.bottom() - 17, rect.width() - 18, 13)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 120))
        painter.drawRoundedRect(bar, 4, 4)
        painter.save()
        clip = QPainterPath()
        clip.addRoundedRect(bar, 4, 4)
        painter.setClipPath(clip)
        left = bar.left()
        for share, state in ((succeeded, "SUCCEEDED"), (failed, "FAILED")):
            width = bar.width() * max(0.0, min(share, 1.0))
            painter.setBrush(QColor(*theme.STATE_COLORS[state]))
            painter.drawRect(QRectF(left, bar.top(), width, bar.height()))
            left += width
        painter.restore()
        font.setBold(True)
        font.setPointSizeF(7)
        # `96/250, 32 cancelled, 122 skipped` is wider than a narrow node: a smaller font
        # first, then its end elided (the tooltip and the inspector say it whole).
        room = bar.width() - 6
        while QFontMetricsF(font).horizontalAdvance(text) > room and font.pointSizeF() > 5.5:
            font.setPointSizeF(font.pointSizeF() - 0.5)
        text = QFontMetricsF(font).elidedText(text, Qt.TextElideMode.ElideRight, room)
        painter.setFont(font)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(bar, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_compare_mark(self, painter: QPainter, rect: QRectF, font: QFont) -> None:
        """An outline and a pill in the mark's colour; a node that did not differ is dimmed."""
        assert self.compare_mark is not None
        label, rgb, quiet = self.compare_mark
        color = QColor(*rgb)
        if quiet:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(20, 20, 20, 110))
            painter.drawRoundedRect(rect, 4, 4)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(color, 3))
        painter.drawRoundedRect(rect.adjusted(1, 1, -1, -1), 4, 4)
        font.setBold(True)
        font.setPointSizeF(7)
        painter.setFont(font)
        width = painter.fontMetrics().horizontalAdvance(label) + 10
        pill = QRectF(rect.left() + 10, rect.top() + 24, width, 14)  # where the run state goes
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawRoundedRect(pill, 7, 7)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, label)


class FlowNode(BaseNode):
    """One workflow node on the canvas: one input (its dependencies) and one output."""

    __identifier__ = NODE_IDENTIFIER
    NODE_NAME = "node"
    HANDLER = ""

    def __init__(self) -> None:
        super().__init__(qgraphics_item=FlowNodeItem)
        self.add_input("in", multi_input=True, display_name=False)
        self.add_output("out", multi_output=True, display_name=False)
        self.view.handler_name = self.HANDLER
        self.view.width = 170
        # Instead of NodeGraphQt's "in: (multi)" / "out: (multi)".
        self.input_ports()[0].view.setToolTip("Dependencies: drag a wire here from a node")
        self.output_ports()[0].view.setToolTip("Drag a wire to a node that depends on this one")


def node_class_name(handler: str) -> str:
    return "Handler_" + re.sub(r"\W", "_", handler)


class CanvasIntents(Protocol):
    """What the controller does with a user's gesture on the canvas."""

    def wires_changed(self, disconnected: list[Pair], connected: list[Pair]) -> None: ...
    def nodes_moved(self, positions: dict[str, tuple[float, float]]) -> None: ...
    def handler_dropped(self, handler: str, position: tuple[float, float]) -> None: ...
    def node_renamed_on_canvas(self, node_id: str, new_id: str) -> None: ...


class FlowViewer(NodeViewer):
    """NodeGraphQt's viewer with our right-click menus and no stale modifier hint.

    Built without an undo stack, so NodeGraphQt adds no Undo/Redo of its own
    (the document has the undo stack); `menu_at` builds the right-click menu.
    """

    def __init__(self) -> None:
        super().__init__(undo_stack=None)
        self.menu_at: Callable[[QPointF], QMenu] | None = None  # set by CanvasView

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        self.RMB_state = False
        menu = self.menu_at(self.mapToScene(event.pos())) if self.menu_at else None
        if menu is not None:
            menu.exec(event.globalPos())
        event.accept()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        super().keyPressEvent(event)
        if event.key() not in MODIFIER_KEYS:
            # "CTRL: Deselect Nodes" is a hint for dragging with Ctrl held, not for Ctrl+C.
            self.hide_modifier_hint()

    def focusOutEvent(self, event: QFocusEvent) -> None:
        # A shortcut that opens a dialog (Ctrl+O) takes the key release with it: without
        # this the hint would stay on the canvas and Ctrl would still count as held.
        self.ALT_state = self.CTRL_state = self.SHIFT_state = False
        self.hide_modifier_hint()
        super().focusOutEvent(event)

    def hide_modifier_hint(self) -> None:
        self._cursor_text.setPlainText("")
        self._cursor_text.setVisible(False)


class FlowGraph(NodeGraph):
    """NodeGraph whose viewer gestures become intents; the document decides what happens."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent, viewer=FlowViewer())
        self.intents: CanvasIntents | None = None
        self.id_of: dict[str, str] = {}  # NodeGraphQt id -> workflow node id

    def _pairs(self, port_pairs: Iterable[Any]) -> list[Pair]:
        pairs: list[Pair] = []
        for first, second in port_pairs:
            out_port, in_port = (
                (first, second) if first.port_type == PortTypeEnum.OUT.value else (second, first)
            )
            source = self.id_of.get(out_port.node.id)
            target = self.id_of.get(in_port.node.id)
            if source and target:
                pairs.append((source, target))
        return pairs

    def _on_connection_changed(self, disconnected: list[Any], connected: list[Any]) -> None:
        if self.intents and (disconnected or connected):
            self.intents.wires_changed(self._pairs(disconnected), self._pairs(connected))

    def _on_connection_sliced(self, ports: list[Any]) -> None:
        if self.intents and ports:
            self.intents.wires_changed(self._pairs(ports), [])

    def _on_insert_node(self, pipe: Any, node_id: str, prev_node_pos: Any) -> None:
        # Dropping a node on a wire would rewire silently; treat it as a plain move.
        self._on_nodes_moved(prev_node_pos)

    def _on_nodes_moved(self, node_data: dict[Any, Any]) -> None:
        if not self.intents:
            return
        positions = {
            self.id_of[view.id]: (float(view.xy_pos[0]), float(view.xy_pos[1]))
            for view in node_data
            if view.id in self.id_of
        }
        if positions:
            self.intents.nodes_moved(positions)

    def _on_search_triggered(self, node_type: str, pos: tuple[float, float]) -> None:
        handler = self._handler_of_type(node_type)
        if self.intents and handler is not None:
            self.intents.handler_dropped(handler, (float(pos[0]), float(pos[1])))

    def _on_node_data_dropped(self, mimedata: QMimeData, pos: Any) -> None:
        if not (self.intents and mimedata.hasFormat(HANDLER_MIME)):
            return
        text = bytes(mimedata.data(HANDLER_MIME).data()).decode()
        if text.startswith(HANDLER_PREFIX):
            self.intents.handler_dropped(
                text.removeprefix(HANDLER_PREFIX), (float(pos.x()), float(pos.y()))
            )

    def _on_node_name_changed(self, node_id: str, name: str) -> None:
        workflow_id = self.id_of.get(node_id)
        if self.intents and workflow_id is not None:
            self.intents.node_renamed_on_canvas(workflow_id, name.strip())

    def _handler_of_type(self, node_type: str) -> str | None:
        cls = self.node_factory.nodes.get(node_type) or self.node_factory.nodes.get(
            self.node_factory.aliases.get(node_type, "")
        )
        return getattr(cls, "HANDLER", None) if cls is not None else None


def handler_mime(handler: str) -> QMimeData:
    """The drag payload of a palette entry."""
    mime = QMimeData()
    mime.setData(HANDLER_MIME, (HANDLER_PREFIX + handler).encode())
    return mime


class CanvasView(QObject):
    """Keeps a FlowGraph equal to the document; the canvas never writes the document itself."""

    selection_changed = Signal(list)  # workflow node ids

    def __init__(self, document: WorkflowDocument, registry: HandlerRegistry) -> None:
        super().__init__(document)
        self.document = document
        self.registry = registry
        self.graph = FlowGraph()
        self.graph.set_acyclic(False)  # cycles are refused by the document, with a message
        self.graph.set_pipe_collision(False)
        self.nodes: dict[str, BaseNode] = {}
        self._types: dict[str, str] = {}
        self._running: set[str] = set()
        self._menus: tuple[list[QAction | None], ...] = ([], [], [])
        self._node_extras: list[QAction] = []
        self.menu_node_id: str | None = None  # the node last right-clicked, for node actions
        self.graph.viewer().menu_at = self.context_menu_at
        self.act_select_all = QAction("Select &all", self)
        self.act_select_all.setShortcut(QKeySequence(QKeySequence.StandardKey.SelectAll))
        self.act_select_all.triggered.connect(lambda _checked=False: self.select(self.nodes))
        self.add_canvas_action(self.act_select_all)
        self._pulse_timer = QTimer(self)
        self._pulse_timer.setInterval(60)
        self._pulse_timer.timeout.connect(self._advance_pulse)
        for spec in registry:
            self._node_type(spec.name)
        self.graph.node_selection_changed.connect(self._emit_selection)
        self.graph.node_selected.connect(self._emit_selection)
        document.changed.connect(self.apply)

    # --- document -> canvas ---

    def apply(self, diff: Diff) -> None:
        definition = self.document.definition
        if diff.reset:
            self._clear()
        for old, new in diff.renamed.items():
            node = self.nodes.pop(old, None)
            if node is not None:
                self.nodes[new] = node
                self.graph.id_of[node.id] = new
                node.model.name = new
                node.view.set_title(new)
        for node_id in diff.removed:
            node = self.nodes.pop(node_id, None)
            if node is not None:
                self.graph.id_of.pop(node.id, None)
                self.graph.remove_node(node, push_undo=False)
        for node_id in diff.added:
            self._create(node_id)
        for node_id in diff.moved:
            self._place(node_id)
        touched = set(diff.added) | set(diff.changed) | set(diff.renamed.values())
        for spec in definition.nodes:
            if spec.id in touched or touched.intersection(spec.dependencies):
                self.reconcile_inputs(spec.id)
        if diff.reset:
            self.fit()
            QTimer.singleShot(0, self.fit)  # again once the window has its real size

    def _clear(self) -> None:
        for node in list(self.nodes.values()):
            self.graph.remove_node(node, push_undo=False)
        self.nodes.clear()
        self.graph.id_of.clear()

    def _node_type(self, handler: str) -> str:
        """The NodeGraphQt type of a handler's nodes, registering it on first use."""
        if handler not in self._types:
            known = handler in self.registry
            cls = type(
                node_class_name(handler),
                (FlowNode,),
                {"NODE_NAME": handler if known else f"{handler} (unknown)", "HANDLER": handler},
            )
            self.graph.register_node(cls)
            self._types[handler] = cls.type_
        return self._types[handler]

    def _create(self, node_id: str) -> None:
        if node_id in self.nodes:
            return
        spec = self.document.definition.node(node_id)
        category = (
            self.registry.get(spec.handler).category if spec.handler in self.registry else None
        )
        accent = theme.accent_for(spec.handler, category)
        pos = position_of(self.document.definition, node_id) or (0.0, 0.0)
        node = self.graph.create_node(
            self._node_type(spec.handler),
            name=node_id,
            selected=False,
            color=theme.body_for(accent),
            text_color=(255, 255, 255),
            pos=pos,
            push_undo=False,
        )
        node.view.accent = accent
        # NodeGraphQt may have altered the name (whitespace); the title is the exact id.
        node.model.name = node_id
        node.view.set_title(node_id)
        self.nodes[node_id] = node
        self.graph.id_of[node.id] = node_id

    def _place(self, node_id: str) -> None:
        node = self.nodes.get(node_id)
        pos = position_of(self.document.definition, node_id)
        if node is None or pos is None:
            return
        if tuple(node.view.xy_pos) != pos:
            node.view.xy_pos = [pos[0], pos[1]]
        node.model.pos = [pos[0], pos[1]]

    def reconcile_inputs(self, node_id: str) -> None:
        """Make the wires into `node_id` exactly its dependencies, in model and on screen."""
        node = self.nodes.get(node_id)
        if node is None:
            return
        in_port = node.input_ports()[0]
        wanted = {
            dep: self.nodes[dep]
            for dep in self.document.definition.node(node_id).dependencies
            if dep in self.nodes and dep != node_id
        }
        current = {self.graph.id_of.get(p.node().id): p for p in in_port.connected_ports()}
        for dep, port in current.items():
            if dep not in wanted:
                in_port.disconnect_from(port, push_undo=False, emit_signal=False)
        for dep, source in wanted.items():
            out_port = source.output_ports()[0]
            if dep not in current:
                out_port.connect_to(in_port, push_undo=False, emit_signal=False)
            elif out_port.view not in in_port.view.connected_ports:
                # The viewer detached the pipe during a drag that was then refused.
                self.graph.viewer().establish_connection(out_port.view, in_port.view)
        wanted_views = {source.output_ports()[0].view for source in wanted.values()}
        for pipe in list(in_port.view.connected_pipes):
            if pipe.output_port not in wanted_views:
                pipe.delete()

    def paint_run_states(self, states: dict[str, tuple[NodeState | None, str]]) -> None:
        """Show `node id -> (state, badge)` on the nodes named; wires into running nodes glow."""
        for node_id, (state, badge) in states.items():
            node = self.nodes.get(node_id)
            if node is None:
                continue
            node.view.set_run_state(state, badge)
            running = state is NodeState.RUNNING
            if running != (node_id in self._running):
                # Restyling a wire redraws its arrow: only touch wires whose look changes.
                self._style_input_wires(node, running=running)
            if running:
                self._running.add(node_id)
            else:
                self._running.discard(node_id)
        if self._running and not self._pulse_timer.isActive():
            self._pulse_timer.start()

    def paint_compare(self, marks: dict[str, CompareMark]) -> None:
        """Compare mode: a mark over every node named, the run state on the others (an empty
        dict ends compare mode). Never undoable, never saved."""
        for node_id, node in self.nodes.items():
            node.view.set_compare_mark(marks.get(node_id))

    def compare_mark_of(self, node_id: str) -> str | None:
        """The compare label painted on a node (for tests)."""
        node = self.nodes.get(node_id)
        mark = node.view.compare_mark if node is not None else None
        return mark[0] if mark else None

    def paint_map_progress(self, badges: dict[str, MapBadge | None]) -> None:
        """Show (or, with None, take away) the item progress of the mapped nodes named."""
        for node_id, badge in badges.items():
            node = self.nodes.get(node_id)
            if node is not None:
                node.view.set_map_progress(badge)

    def map_badge_of(self, node_id: str) -> str | None:
        """The item progress text painted on a node (for tests and benchmarks)."""
        node = self.nodes.get(node_id)
        badge = node.view.map_badge if node is not None else None
        return badge[0] if badge else None

    def _style_input_wires(self, node: BaseNode, *, running: bool) -> None:
        for pipe in node.input_ports()[0].view.connected_pipes:
            if running:
                pipe.set_pipe_styling(color=(*theme.RUNNING_WIRE_COLOR, 255), width=3, style=0)
            else:
                pipe.reset()

    def _advance_pulse(self) -> None:
        if not self._running:
            self._pulse_timer.stop()
            return
        for node_id in self._running:
            node = self.nodes.get(node_id)
            if node is not None:
                node.view.pulse = (node.view.pulse + 0.08) % 1.0
                node.view.update()

    def set_problems(self, problems: dict[str, tuple[str, bool]]) -> None:
        """Outline and badge each node with problems; clear the others."""
        for node_id, node in self.nodes.items():
            text, is_error = problems.get(node_id, ("", False))
            node.view.set_problems(text, is_error)

    # --- selection and viewport ---

    def selected_ids(self) -> list[str]:
        return [
            self.graph.id_of[node.id]
            for node in self.graph.selected_nodes()
            if node.id in self.graph.id_of
        ]

    def select(self, node_ids: Iterable[str]) -> None:
        wanted = set(node_ids)
        for node_id, node in self.nodes.items():
            node.view.selected = node_id in wanted
        self._emit_selection()

    def center_on(self, node_id: str) -> None:
        node = self.nodes.get(node_id)
        if node is not None:
            self.graph.viewer().centerOn(node.view)

    def fit(self) -> None:
        """Frame every node, keeping 100 % zoom when they fit at that size."""
        if not self.nodes:
            return
        # NodeGraphQt's zoom_to_nodes groups and ungroups every item to measure them: 4.5 s
        # for 1,000 nodes. A union of bounding rects is the same rect in O(n).
        # The ports are child items half outside the node's own rect: without them (and a
        # margin) the first node's left port and the last one's right port were cut in half.
        rect = QRectF()
        for node in self.nodes.values():
            view = node.view
            rect = rect.united(
                view.mapRectToScene(view.boundingRect() | view.childrenBoundingRect())
            )
        rect.adjust(-FIT_MARGIN, -FIT_MARGIN, FIT_MARGIN, FIT_MARGIN)
        viewer = self.graph.viewer()
        viewer._scene_range = rect
        viewer._update_scene()
        if viewer.get_zoom() > 0.1:
            viewer.reset_zoom(rect.center())

    def scene_point(self) -> QPointF:
        """Where a new node goes: the middle of what is visible."""
        viewer = self.graph.viewer()
        return viewer.mapToScene(viewer.viewport().rect().center())

    def scene_point_under_cursor(self) -> QPointF | None:
        """The scene point under the mouse pointer, or None when it is not over the canvas."""
        viewer = self.graph.viewer()
        local = viewer.mapFromGlobal(QCursor.pos())
        return viewer.mapToScene(local) if viewer.rect().contains(local) else None

    def node_boxes(self) -> NodeBoxes:
        """Each node's size as drawn and where its wires attach, for auto-layout."""
        sizes = {}
        port_y = None
        for node_id, node in self.nodes.items():
            rect = node.view.boundingRect()
            sizes[node_id] = (rect.width(), rect.height())
            if port_y is None:
                port = node.input_ports()[0].view
                port_y = port.pos().y() + port.boundingRect().height() / 2
        return NodeBoxes(sizes) if port_y is None else NodeBoxes(sizes, port_y=port_y)

    # --- the widget, shortcuts and right-click menus ---

    @property
    def widget(self) -> QWidget:
        """The canvas widget, for the window's layout."""
        return self.graph.widget

    def set_intents(self, intents: CanvasIntents) -> None:
        """Who hears about the user's gestures (the editor controller)."""
        self.graph.intents = intents

    def add_canvas_action(self, action: QAction) -> None:
        """Make `action`'s shortcut fire only while the canvas has focus, so text fields keep
        their keys (Del, Ctrl+C, Tab ...)."""
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.graph.viewer().addAction(action)

    def set_context_menus(
        self,
        canvas: Sequence[QAction | None],
        selection: Sequence[QAction | None],
        view: Sequence[QAction | None],
    ) -> None:
        """What right-click offers (None is a separator): `canvas` on empty canvas,
        `selection` on a node or while nodes are selected, `view` and Select all always."""
        self._menus = (list(canvas), list(selection), list(view))

    def add_node_menu_action(self, action: QAction) -> None:
        """The hook for commands on one node, such as "Run from here" (a later issue adds it):
        shown in every node's right-click menu; `menu_node_id` is the node clicked."""
        self._node_extras.append(action)

    def context_menu_at(self, scene_point: QPointF) -> QMenu:
        """The right-click menu for a point: a node's (which selects it, unless it is part of
        the selection already) or the canvas's."""
        canvas, selection, view = self._menus
        node_id = self.node_at(scene_point)
        self.menu_node_id = node_id
        if node_id is not None:
            if node_id not in self.selected_ids():
                self.select([node_id])
            extras: list[QAction | None] = [None, *self._node_extras] if self._node_extras else []
            entries = [*selection, *extras]
        elif self.selected_ids():
            entries = [*canvas, None, *selection]
        else:
            entries = list(canvas)
        menu = QMenu(self.graph.viewer())
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        for entry in [*entries, None, *view, self.act_select_all]:
            if entry is None:
                if menu.actions() and not menu.actions()[-1].isSeparator():
                    menu.addSeparator()
            else:
                menu.addAction(entry)
        return menu

    def node_at(self, scene_point: QPointF) -> str | None:
        """The workflow node drawn at a scene point (its title and ports included)."""
        for item in self.graph.viewer().scene().items(scene_point):
            top = item.topLevelItem()
            if isinstance(top, FlowNodeItem):
                return self.graph.id_of.get(top.id)
        return None

    def reset_title(self, node_id: str) -> None:
        """Show the document's id again on a node whose title the user edited in place."""
        node = self.nodes.get(node_id)
        if node is not None:
            node.model.name = node_id
            node.view.set_title(node_id)

    def run_state_of(self, node_id: str) -> NodeState | None:
        """The run state painted on a node (for tests and benchmarks)."""
        node = self.nodes.get(node_id)
        return node.view.run_state if node is not None else None

    def _emit_selection(self, *_args: Any) -> None:
        self.selection_changed.emit(self.selected_ids())
