"""Auto-layout: columns by dependency depth, few crossings (grandalf's Sugiyama), no wire over a node.

Qt-free, so it is testable alone: the canvas passes its node sizes in
(`NodeBoxes`), and flowdesk.model.drawing models the wires it draws. grandalf
puts each node in a column (longest path), orders every column to reduce
crossings, and proposes heights (Brandes-Köpf). On the canvas, though, a wire
that skips columns is one curve between its two ports, not a path through
grandalf's dummy vertices; so the heights are then chosen again (`_Placement`):
column by column, each node as near its proposal as it can be with its wires
clear of the nodes already placed, then any wire still over a node is cleared
by moving whichever of the three moves least, never onto another wire.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from graphlib import TopologicalSorter

from grandalf.graphs import Edge, Vertex, graph_core
from grandalf.layouts import SugiyamaLayout

from flowdesk.model.drawing import (
    Interval,
    NodeBoxes,
    Pair,
    Position,
    blocked_rise,
    rise_at,
    wire_curve,
)
from flowdesk.model.workflow import WorkflowDefinition

LAYER_GAP = 110.0  # between one column's widest node and the next column
ROW_GAP = 40.0  # between two nodes of a column
WIRE_CLEARANCE = 8.0  # kept between a wire and a node it does not end at
COMPONENT_GAP = 80.0  # between unconnected parts of the workflow
# grandalf is pure Python and its cost grows with the dummy vertices it adds on wires that
# skip columns: 1,500 nodes + 2,100 dummies take 2 s, 2,500 + 6,000 take 4.5 s; 2,000 nodes
# in layers without long wires take 0.5 s. Beyond this many nodes + dummies, columns are
# ordered by one barycenter sweep instead (`_order_simply`); wires are still kept clear.
MAX_SUGIYAMA_ITEMS = 4_000
NEAR = 2_000.0  # how far a node may be put from where it would go (or is) to clear wires
MAX_REPAIR_PASSES = 20
MAX_REPAIR_WORK = 1_000_000  # about a second
MAX_COMPACT_PASSES = 3
_FAR = 1e9  # past any real canvas: an interval reaching it is unbounded


@dataclass(frozen=True)
class Layout:
    """Where auto-layout put each node (top-left corners), and anything the user should know."""

    positions: dict[str, Position]
    wires_over_nodes: int = 0  # (wire, node) pairs left too close: only in very dense graphs
    ordered_simply: bool = False  # too many long wires for grandalf: a quicker ordering was used

    @property
    def note(self) -> str | None:
        """A status-bar sentence when the layout is not as good as it normally is."""
        notes = []
        if self.ordered_simply:
            notes.append("too many long wires to reduce crossings quickly, so they were not")
        if self.wires_over_nodes:
            notes.append(
                f"{self.wires_over_nodes} wire(s) still pass close to a node they do not "
                "connect (the graph is too dense to route in the time allowed)"
            )
        return "Auto layout: " + "; ".join(notes) if notes else None


def layout_workflow(definition: WorkflowDefinition, boxes: NodeBoxes | None = None) -> Layout:
    """Columns by dependency depth, unconnected parts stacked, no wire over a node."""
    boxes = boxes or NodeBoxes()
    ids = list(dict.fromkeys(node.id for node in definition.nodes))
    edges = _forward_edges(ids, definition_edges(definition))
    positions: dict[str, Position] = {}
    left_over, simply = 0, False
    top = 0.0
    for component, component_edges in _components(ids, edges):
        part = _layout_component(component, component_edges, boxes)
        left_over += part.wires_over_nodes
        simply |= part.ordered_simply
        bottom = top
        for node_id, (x, y) in part.positions.items():
            positions[node_id] = (round(x, 1), round(y + top, 1))
            bottom = max(bottom, y + top + boxes.size(node_id)[1])
        top = bottom + COMPONENT_GAP
    return Layout(positions, left_over, simply)


def definition_edges(definition: WorkflowDefinition) -> list[Pair]:
    """Every wire the canvas draws: (dependency, node) for dependencies that exist."""
    ids = {node.id for node in definition.nodes}
    pairs = ((dep, node.id) for node in definition.nodes for dep in node.dependencies if dep in ids)
    return list(dict.fromkeys(pair for pair in pairs if pair[0] != pair[1]))


# --- the graph ---


def _forward_edges(ids: list[str], edges: list[Pair]) -> list[Pair]:
    """`edges` without those that close a cycle (found by a depth-first search in id order)."""
    children: dict[str, list[str]] = {node_id: [] for node_id in ids}
    for source, target in edges:
        children[source].append(target)
    state: dict[str, bool] = {}  # True while on the search path, False when done
    back: set[Pair] = set()
    for root in ids:
        if root in state:
            continue
        state[root] = True
        stack = [(root, iter(children[root]))]
        while stack:
            node, pending = stack[-1]
            child = next(pending, None)
            if child is None:
                state[node] = False
                stack.pop()
            elif state.get(child):
                back.add((node, child))
            elif child not in state:
                state[child] = True
                stack.append((child, iter(children[child])))
    return [edge for edge in edges if edge not in back]


def _components(ids: list[str], edges: list[Pair]) -> list[tuple[list[str], list[Pair]]]:
    """Connected parts, in the order their first node appears."""
    parent = {node_id: node_id for node_id in ids}

    def root(node_id: str) -> str:
        while parent[node_id] != node_id:
            parent[node_id] = parent[parent[node_id]]
            node_id = parent[node_id]
        return node_id

    for source, target in edges:
        parent[root(source)] = root(target)
    groups: dict[str, tuple[list[str], list[Pair]]] = {}
    for node_id in ids:
        groups.setdefault(root(node_id), ([], []))[0].append(node_id)
    for edge in edges:
        groups[root(edge[0])][1].append(edge)
    return list(groups.values())


def _ranks(ids: list[str], edges: list[Pair]) -> dict[str, int]:
    """Each node's column: the longest path to it from a node without dependencies."""
    deps: dict[str, list[str]] = {node_id: [] for node_id in ids}
    for source, target in edges:
        deps[target].append(source)
    rank: dict[str, int] = {}
    for node_id in TopologicalSorter(deps).static_order():
        rank[node_id] = max((rank[dep] + 1 for dep in deps[node_id]), default=0)
    return rank


# --- ordering: grandalf, or one sweep for very large graphs ---


@dataclass
class _Order:
    """Nodes per column top to bottom, and where each would like its port line."""

    columns: list[list[str]]
    port_line: dict[str, float]


@dataclass
class _View:
    """What grandalf reads (w, h) and writes (xy) for each vertex."""

    w: float
    h: float
    xy: Position = (0.0, 0.0)


def _layout_component(ids: list[str], edges: list[Pair], boxes: NodeBoxes) -> Layout:
    rank = _ranks(ids, edges)
    dummies = sum(rank[target] - rank[source] - 1 for source, target in edges)
    simply = len(ids) + dummies > MAX_SUGIYAMA_ITEMS
    if simply:
        order = _order_simply(ids, edges, rank, boxes)
    else:
        order = _order_with_grandalf(ids, edges, rank, boxes)
    positions, left_over = _place(order, edges, boxes)
    return Layout(positions, left_over, simply)


def _order_with_grandalf(
    ids: list[str], edges: list[Pair], rank: Mapping[str, int], boxes: NodeBoxes
) -> _Order:
    vertices = {node_id: Vertex(node_id) for node_id in ids}
    for node_id, vertex in vertices.items():
        width, height = boxes.size(node_id)
        # grandalf lays layers top to bottom and ours run left to right, so its x is our y.
        # The extent is symmetric about the port line so that aligned nodes get straight wires.
        vertex.view = _View(2 * max(boxes.port_y, height - boxes.port_y), width)
    # A graph_core built from lists keeps grandalf's results independent of hash order.
    core = graph_core(list(vertices.values()), [Edge(vertices[s], vertices[t]) for s, t in edges])
    sugiyama = SugiyamaLayout(core)
    sugiyama.xspace = ROW_GAP
    roots = [vertices[node_id] for node_id in ids if rank[node_id] == 0]
    sugiyama.init_all(roots=roots, inverted_edges=[])
    for _ in range(2):  # two down-and-up sweeps of crossing reduction
        for _layer in sugiyama.ordering_step():
            pass
    sugiyama.setxy()
    port_line = {node_id: vertex.view.xy[0] for node_id, vertex in vertices.items()}
    columns = [
        sorted(
            (vertex.data for vertex in layer if isinstance(vertex, Vertex)),
            key=port_line.__getitem__,
        )
        for layer in sugiyama.layers
    ]
    return _Order(columns, port_line)


def _order_simply(
    ids: list[str], edges: list[Pair], rank: Mapping[str, int], boxes: NodeBoxes
) -> _Order:
    """Each column sorted by the mean row of its nodes' dependencies, stacked from the top."""
    deps: dict[str, list[str]] = {node_id: [] for node_id in ids}
    for source, target in edges:
        deps[target].append(source)
    columns: list[list[str]] = [[] for _ in range(max(rank.values(), default=0) + 1)]
    for node_id in ids:
        columns[rank[node_id]].append(node_id)
    row: dict[str, float] = {}
    port_line: dict[str, float] = {}
    for column in columns:
        column.sort(key=lambda n: sum(row[d] for d in deps[n]) / len(deps[n]) if deps[n] else -1)
        y = 0.0
        for index, node_id in enumerate(column):
            row[node_id] = float(index)
            port_line[node_id] = y + boxes.port_y
            y += boxes.size(node_id)[1] + ROW_GAP
    return _Order(columns, port_line)


# --- placement: no wire over a node ---


def _place(order: _Order, edges: list[Pair], boxes: NodeBoxes) -> tuple[dict[str, Position], int]:
    """Positions, and how many (wire, node) pairs are still too close (0 unless too dense)."""
    placement = _Placement(order, edges, boxes)
    placement.place_in_order()
    left = placement.repair()
    if not left:
        placement.compact()
    return placement.positions(), left


class _Placement:
    """Heights of nodes in fixed columns, chosen so that no wire passes a node.

    The x of every wire is fixed by the columns, so a wire between two ends
    whose heights differ by d is at `y_start + d * rise(x)`, with `rise` from
    0 to 1 the same for any d. For a node that the wire could pass, the d that
    make it pass form one interval (`_blocked_rise`); so for a node about to
    move, every height near it that would put it on a wire, put a wire of its
    own on another node, or bring it too close to a neighbour is a union of
    intervals, and the nearest free height is easy to find.
    """

    def __init__(self, order: _Order, edges: list[Pair], boxes: NodeBoxes) -> None:
        self.order, self.edges, self.boxes = order, edges, boxes
        self.columns = order.columns
        self.column_of = {node: k for k, column in enumerate(self.columns) for node in column}
        self.width = [max(boxes.size(n)[0] for n in column) for column in self.columns]
        self.left: list[float] = []
        x = 0.0
        for column_width in self.width:
            self.left.append(x)
            x += column_width + LAYER_GAP
        self.wires_of: dict[str, list[Pair]] = {}
        self.wires_over: list[list[Pair]] = [[] for _ in self.columns]
        for edge in edges:
            for end in edge:
                self.wires_of.setdefault(end, []).append(edge)
            for k in range(self.column_of[edge[0]], self.column_of[edge[1]] + 1):
                self.wires_over[k].append(edge)
        self._wire_x: dict[Pair, tuple[float, float, float]] = {}  # start, end, tangent
        for source, target in edges:
            start = self.left[self.column_of[source]] + boxes.size(source)[0]
            end = self.left[self.column_of[target]]
            self._wire_x[source, target] = (start, end, min(end - start, boxes.size(target)[0]))
        self.top: dict[str, float] = {}
        self._rises: dict[tuple[float, float, float, float], float] = {}
        self._sorted: dict[int, tuple[list[str], list[float]]] = {}
        self._complete = 0  # columns before this one have every node placed
        self.work = 0  # nodes and wires looked at, to bound `repair` on very dense graphs
        self._tallest = [max(boxes.size(n)[1] for n in column) for column in self.columns]

    def positions(self) -> dict[str, Position]:
        shift = min(self.top.values(), default=0.0)
        return {node: (self.left[self.column_of[node]], y - shift) for node, y in self.top.items()}

    def place_in_order(self) -> None:
        """Column by column, each node at the free height nearest grandalf's proposal, where
        free means apart from the nodes placed above it and with each wire into it clear of
        the nodes already placed. If there is none within NEAR, the node stays at its
        proposal and `repair` makes room, moving whatever has to move least."""
        for k, column in enumerate(self.columns):
            self._complete = k
            placed: list[tuple[float, str]] = []  # (top, node) of this column, sorted
            for index, node in enumerate(column):
                wanted = self.order.port_line[node] - self.boxes.port_y
                # Only neighbours within reach can block a height within NEAR.
                reach = NEAR + ROW_GAP + self._tallest[k]
                first = bisect.bisect_left(placed, (wanted - reach, ""))
                last = bisect.bisect_right(placed, (wanted + reach, "\uffff"))
                apart = self._neighbours(node, [other for _top, other in placed[first:last]])
                blocked = list(apart)
                for edge in self.wires_of.get(node, ()):
                    if edge[1] == node:
                        blocked += self._own_wire(node, edge, wanted)
                free = _nearest_free(wanted, blocked, NEAR)
                if free is None:
                    apart = self._neighbours(node, column[:index])
                    free = _nearest_free(wanted, apart, float("inf"))
                self.top[node] = wanted if free is None else free
                bisect.insort(placed, (self.top[node], node))
        self._complete = len(self.columns)

    def repair(self) -> int:
        """Move a node off each wire that still passes it, or move one of the wire's ends:
        whichever of the three has a free height nearest to where it is (looked for within
        NEAR first, then anywhere). A move clears everything the mover was involved in and
        cannot put anything else on a wire, so each move leaves fewer hits. Stops after
        MAX_REPAIR_WORK node checks; returns how many hits are left."""
        for _ in range(MAX_REPAIR_PASSES):
            hits = self.hits()
            if not hits or self.work > MAX_REPAIR_WORK:
                return len(hits)
            for edge, node in hits:
                if self.work > MAX_REPAIR_WORK:
                    break
                if self._hit(edge, node) and not self._move_nearest((node, *edge), NEAR):
                    self._move_nearest((node, *edge), _FAR)
        return len(self.hits())

    def compact(self) -> None:
        """Bring nodes that `repair` moved far back toward grandalf's proposal, each to the
        free height nearest it, as long as that is nearer than where the node is; like any
        move to a free height, this puts no node on a wire."""
        for _ in range(MAX_COMPACT_PASSES):
            moved = False
            wanted = {node: line - self.boxes.port_y for node, line in self.order.port_line.items()}
            far = sorted(self.top, key=lambda n: -abs(self.top[n] - wanted[n]))
            for node in far:
                if abs(self.top[node] - wanted[node]) < NEAR / 4 or self.work > MAX_REPAIR_WORK:
                    break
                free = _nearest_free(wanted[node], self._blocked(node, None), _FAR)
                if (
                    free is not None
                    and abs(free - wanted[node]) < abs(self.top[node] - wanted[node]) - 1
                ):
                    self._move(node, free)
                    moved = True
            if not moved:
                return

    def _blocked(self, node: str, near: float | None) -> list[Interval]:
        """Every top of `node` (near `near`, if given) that is too close to a neighbour, on
        a wire, or puts one of its own wires on a node."""
        within = _FAR if near is None else NEAR
        blocked = self._neighbours(node, self.columns[self.column_of[node]])
        blocked += self._passing_wires(node, within)
        for edge in self.wires_of.get(node, ()):
            blocked += self._own_wire(node, edge, near)
        return blocked

    def _move(self, node: str, top: float) -> None:
        self.top[node] = top
        self._sorted.pop(self.column_of[node], None)

    def _move_nearest(self, nodes: tuple[str, ...], within: float) -> bool:
        best: tuple[float, str, float] | None = None
        for node in nodes:
            top = self.top[node]
            free = _nearest_free(top, self._blocked(node, top if within < _FAR else None), within)
            if free is not None and (best is None or abs(free - top) < best[0]):
                best = (abs(free - top), node, free)
        if best is None:
            return False
        self._move(best[1], best[2])
        return True

    def hits(self) -> list[tuple[Pair, str]]:
        """(wire, node) for each node a wire passes, with a little less than the clearance."""
        found = []
        for k in range(len(self.columns)):
            nodes, tops = self._sorted_column(k)
            reach = self._tallest[k] + WIRE_CLEARANCE
            for edge in self.wires_over[k]:
                span = self._span(
                    edge,
                    self.left[k] - WIRE_CLEARANCE,
                    self.left[k] + self.width[k] + WIRE_CLEARANCE,
                )
                if span is None:
                    continue
                first = bisect.bisect_left(tops, span[0] - reach)
                last = bisect.bisect_right(tops, span[1] + WIRE_CLEARANCE)
                found += [(edge, n) for n in nodes[first:last] if self._hit(edge, n)]
        return found

    def _hit(self, edge: Pair, node: str) -> bool:
        if node in edge:
            return False
        k, clearance = self.column_of[node], WIRE_CLEARANCE - 1
        width, height = self.boxes.size(node)
        span = self._span(edge, self.left[k] - clearance, self.left[k] + width + clearance)
        top = self.top[node]
        return (
            span is not None and span[0] <= top + height + clearance and span[1] >= top - clearance
        )

    def _line(self, node: str) -> float:
        return self.top[node] + self.boxes.port_y

    def _ends_x(self, edge: Pair) -> tuple[float, float]:
        return self._wire_x[edge][:2]

    def _rise(self, edge: Pair, x: float) -> float:
        """`_rise` of the wire's curve at x; it depends on x coordinates only, so it is
        shared by every wire between the same two columns."""
        key = (*self._wire_x[edge], x)
        rise = self._rises.get(key)
        if rise is None:
            start, end, tangent = self._wire_x[edge]
            rise = self._rises[key] = rise_at(wire_curve((start, 0.0), (end, 0.0), tangent), x)
        return rise

    def _span(self, edge: Pair, left: float, right: float) -> Interval | None:
        """The wire's lowest and highest y between two x, or None if it is not there."""
        start, end = self._ends_x(edge)
        if end <= start or max(left, start) > min(right, end):
            return None
        line, rise = self._line(edge[0]), self._line(edge[1]) - self._line(edge[0])
        ends = (line + rise * self._rise(edge, left), line + rise * self._rise(edge, right))
        return min(ends), max(ends)

    def _neighbours(self, node: str, others: Iterable[str]) -> list[Interval]:
        """Tops at which `node` would come closer than ROW_GAP to one of `others`."""
        height = self.boxes.size(node)[1]
        return [
            (self.top[o] - height - ROW_GAP, self.top[o] + self.boxes.size(o)[1] + ROW_GAP)
            for o in others
            if o != node and o in self.top
        ]

    def _passing_wires(self, node: str, within: float) -> list[Interval]:
        """Tops (within `within` of the node's own) at which a wire between two other nodes
        would pass `node`; a wire with both ends farther away cannot block anything nearer."""
        k, (width, height) = self.column_of[node], self.boxes.size(node)
        top, reach = self.top[node], within + height + WIRE_CLEARANCE
        blocked = []
        for edge in self.wires_over[k]:
            if node in edge:
                continue
            ends = self._line(edge[0]), self._line(edge[1])
            if min(ends) > top + reach or max(ends) < top - reach:
                continue
            self.work += 1
            span = self._span(
                edge, self.left[k] - WIRE_CLEARANCE, self.left[k] + width + WIRE_CLEARANCE
            )
            if span:
                blocked.append((span[0] - WIRE_CLEARANCE - height, span[1] + WIRE_CLEARANCE))
        return blocked

    def _own_wire(self, node: str, edge: Pair, near: float | None) -> list[Interval]:
        """Tops of `node` (one end of `edge`) at which the wire would pass a placed node;
        with `near`, only those within NEAR of it (much faster in a big column).

        Measured from the other end: the wire is at `y_other + d * r` where d is
        this end's height minus the other's, and r the rise counted from there.
        """
        source, target = edge
        other = target if node == source else source
        if other not in self.top:
            return []
        start, end = self._ends_x(edge)
        line, other_top = self._line(other), self.top[other]
        # The largest |d| that matters: a node this column's wire cannot reach is not in the way.
        reach = _FAR if near is None else abs(near - other_top) + NEAR
        clearance, size = WIRE_CLEARANCE, self.boxes.size
        blocked = []
        # Nodes in the target's column are only near the wire's last few pixels, where it is
        # level with its end: while that column is being placed, they are left to `repair`.
        last = self.column_of[target] - (self.column_of[target] >= self._complete)
        for k in range(self.column_of[source], last + 1):
            left, right = self.left[k] - clearance, self.left[k] + self.width[k] + clearance
            if max(left, start) > min(right, end):
                continue
            most = max(self._rise(edge, right), 1 - self._rise(edge, left)) * reach
            for obstacle in self._nodes_between(
                k, line - most - clearance, line + most + clearance
            ):
                if obstacle in edge:
                    continue
                self.work += 1
                width, height = size(obstacle)
                low = self._rise(edge, left)
                high = self._rise(edge, self.left[k] + width + clearance)
                if node == source:
                    low, high = 1 - high, 1 - low
                top = self.top[obstacle]
                gap = blocked_rise(
                    top - clearance - line, top + height + clearance - line, low, high
                )
                if gap is not None:
                    blocked.append((other_top + gap[0], other_top + gap[1]))
        return blocked

    def _nodes_between(self, k: int, upper: float, lower: float) -> list[str]:
        """Placed nodes of column k that reach between heights `upper` and `lower`."""
        if k >= self._complete:  # still being placed: few, and not yet sorted
            return [n for n in self.columns[k] if n in self.top]
        nodes, tops = self._sorted_column(k)
        first = bisect.bisect_left(tops, upper - self._tallest[k])
        return nodes[first : bisect.bisect_right(tops, lower)]

    def _sorted_column(self, k: int) -> tuple[list[str], list[float]]:
        """Column k's nodes top to bottom and their tops (kept until one of them moves)."""
        if k not in self._sorted:
            nodes = sorted(self.columns[k], key=self.top.__getitem__)
            self._sorted[k] = (nodes, [self.top[node] for node in nodes])
        return self._sorted[k]


def _nearest_free(wanted: float, blocked: list[Interval], within: float) -> float | None:
    """The height nearest `wanted` outside every blocked interval, or None if there is none
    within `within` of it (intervals may be unbounded on one side)."""
    step = 0.5  # land just outside an interval, not on its edge
    merged: list[list[float]] = []
    for start, end in sorted(blocked):
        if merged and start <= merged[-1][1] + 2 * step:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in merged:
        if start <= wanted <= end:
            free = [y for y in (start - step, end + step) if abs(y - wanted) <= min(within, _FAR)]
            return min(free, key=lambda y: abs(y - wanted), default=None)
    return wanted
