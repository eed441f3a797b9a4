"""How the canvas draws nodes and wires, as plain geometry: what a wire passes on its way.

NodeGraphQt (horizontal layout, curved pipes) draws a wire as one cubic Bézier
from the output port on a node's right edge to the input port on another's
left edge. Auto-layout (flowdesk.model.layout) uses this model to keep wires
off nodes, and tests use it to check a layout; a GUI test checks it against
the canvas's real pipe items.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

Position = tuple[float, float]
Size = tuple[float, float]
Pair = tuple[str, str]  # (source, target): target depends on source
Curve = tuple[Position, Position, Position, Position]
Interval = tuple[float, float]

NODE_SIZE: Size = (160.0, 60.0)  # the canvas's node when no size is given
PORT_Y = 37.0  # where both ports' wires attach, below a node's top edge


@dataclass(frozen=True)
class NodeBoxes:
    """The size of each node as drawn, and where its ports are."""

    sizes: Mapping[str, Size] = field(default_factory=dict)
    default: Size = NODE_SIZE
    port_y: float = PORT_Y

    def size(self, node_id: str) -> Size:
        return self.sizes.get(node_id, self.default)


def wire_curve(start: Position, end: Position, target_width: float) -> Curve:
    """The cubic Bézier from an output port at `start` to an input port at `end`.

    NodeGraphQt (horizontal layout, curved pipes) pulls both control points
    horizontally by the x distance, capped at the width of the node the wire
    enters. Its y is then `start.y + (end.y - start.y) * smoothstep(t)`.
    """
    tangent = min(abs(end[0] - start[0]), target_width)
    return start, (start[0] + tangent, start[1]), (end[0] - tangent, end[1]), end


def curve_point(curve: Curve, t: float) -> Position:
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = curve
    u = 1 - t
    a, b, c, d = u * u * u, 3 * u * u * t, 3 * u * t * t, t * t * t
    return a * x0 + b * x1 + c * x2 + d * x3, a * y0 + b * y1 + c * y2 + d * y3


def rise_at(curve: Curve, x: float) -> float:
    """How far along its rise (0 at the start, 1 at the end) a left-to-right wire is at `x`.

    x(t) of such a curve increases with t, so one t has this x; the rise is
    smoothstep(t) there, the same for every wire with these x coordinates.
    """
    (x0, _), (x1, _), (x2, _), (x3, _) = curve
    if x <= x0:
        return 0.0
    if x >= x3:
        return 1.0
    # x(t) - x0 as a polynomial: c1 t + c2 t^2 + c3 t^3; Newton's method kept inside a
    # shrinking bracket (bisecting when a step would leave it).
    c1, c2, c3 = 3 * (x1 - x0), 3 * (x2 - 2 * x1 + x0), x3 - 3 * x2 + 3 * x1 - x0
    goal, low, high = x - x0, 0.0, 1.0
    t = goal / (x3 - x0)
    for _ in range(60):
        error = ((c3 * t + c2) * t + c1) * t - goal
        if abs(error) < 1e-6:
            break
        if error < 0:
            low = t
        else:
            high = t
        slope = (3 * c3 * t + 2 * c2) * t + c1
        step = t - error / slope if slope > 0 else -1.0
        t = step if low < step < high else (low + high) / 2
    return t * t * (3 - 2 * t)


def curve_y_span(curve: Curve, left: float, right: float) -> Interval | None:
    """The lowest and highest y of a left-to-right wire between x = left and x = right,
    or None when it does not pass there."""
    (x_start, y_start), (x_end, y_end) = curve[0], curve[3]
    if x_end <= x_start or max(left, x_start) > min(right, x_end):
        return None
    rise = y_end - y_start
    ends = (y_start + rise * rise_at(curve, left), y_start + rise * rise_at(curve, right))
    return min(ends), max(ends)


def node_wire_curve(
    source: str, target: str, positions: Mapping[str, Position], boxes: NodeBoxes
) -> Curve:
    (sx, sy), (tx, ty) = positions[source], positions[target]
    start = (sx + boxes.size(source)[0], sy + boxes.port_y)
    return wire_curve(start, (tx, ty + boxes.port_y), boxes.size(target)[0])


def wires_over_nodes(
    edges: Iterable[Pair],
    positions: Mapping[str, Position],
    boxes: NodeBoxes | None = None,
    clearance: float = 0.0,
) -> list[tuple[str, str, str]]:
    """(source, target, node) for each left-to-right wire passing within `clearance` of a node
    that is not one of its ends. A check for tests: O(wires x nodes)."""
    boxes = boxes or NodeBoxes()
    found = []
    for source, target in edges:
        curve = node_wire_curve(source, target, positions, boxes)
        if curve[3][0] <= curve[0][0]:
            continue  # drawn backwards (a cycle): not laid out, not checked
        for node_id, (x, y) in positions.items():
            if node_id in (source, target):
                continue
            width, height = boxes.size(node_id)
            span = curve_y_span(curve, x - clearance, x + width + clearance)
            if span and span[0] <= y + height + clearance and span[1] >= y - clearance:
                found.append((source, target, node_id))
    return found


def blocked_rise(above: float, below: float, low: float, high: float) -> Interval | None:
    """The height differences d between a wire's ends for which `d * r` lies in
    [above, below] for some rise r in [low, high] (0 <= low <= high <= 1).

    Where a wire crosses a node's x range its rise goes from `low` to `high`,
    and its y is `y_fixed_end + d * rise`; [above, below] is the node (with
    clearance) relative to the fixed end. So these d put the wire on the node:
    always one interval, maybe unbounded on one side.
    """
    infinity = float("inf")
    if high <= 0:
        return (-infinity, infinity) if above <= 0 <= below else None
    if above <= 0 <= below:
        return (above / low, below / low) if low > 0 else (-infinity, infinity)
    if above > 0:
        return (above / high, below / low if low > 0 else infinity)
    return (above / low if low > 0 else -infinity, below / high)
