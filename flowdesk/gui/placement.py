"""Where pasted and duplicated nodes go: clear of every node already on the canvas.

A fixed offset would put a second paste exactly on the first; stepping the
copies down (and a little right) until they overlap nothing keeps every
copy visible. Pure geometry on layout positions (a node's top-left corner).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

Position = tuple[float, float]

NODE_SIZE = (200.0, 60.0)  # a node's footprint on the canvas, width rounded up for long ids
GAP = 20.0  # space kept between a copy and any other node
STEP = (30.0, NODE_SIZE[1] + GAP)  # one row down and a little right per try


def overlaps(a: Position, b: Position) -> bool:
    """True when nodes at `a` and `b` would touch or come closer than GAP."""
    return abs(a[0] - b[0]) < NODE_SIZE[0] + GAP and abs(a[1] - b[1]) < NODE_SIZE[1] + GAP


def clear_offset(existing: Iterable[Position], copies: Iterable[Position]) -> Position:
    """The first offset k * STEP (k >= 1) at which no copy overlaps an existing node.

    Copies keep their positions relative to each other. Existing nodes go into
    a grid of footprint-sized cells, so each try only looks at a copy's
    neighbouring cells.
    """
    cell_w, cell_h = NODE_SIZE[0] + GAP, NODE_SIZE[1] + GAP
    grid: dict[tuple[int, int], list[Position]] = {}
    bottom = -math.inf
    for pos in existing:
        grid.setdefault((math.floor(pos[0] / cell_w), math.floor(pos[1] / cell_h)), []).append(pos)
        bottom = max(bottom, pos[1])
    moved = list(copies)
    if not grid or not moved:
        return STEP
    top = min(pos[1] for pos in moved)
    # Past this many steps every copy is below every existing node, so the loop ends.
    last = max(1, math.ceil((bottom - top + cell_h) / STEP[1]) + 1)
    for k in range(1, last + 1):
        dx, dy = k * STEP[0], k * STEP[1]
        if not any(_hits(grid, (x + dx, y + dy), cell_w, cell_h) for x, y in moved):
            return dx, dy
    return last * STEP[0], last * STEP[1]  # pragma: no cover - the bound above is clear


def _hits(
    grid: dict[tuple[int, int], list[Position]], pos: Position, cell_w: float, cell_h: float
) -> bool:
    col, row = math.floor(pos[0] / cell_w), math.floor(pos[1] / cell_h)
    return any(
        overlaps(pos, other)
        for dc in (-1, 0, 1)
        for dr in (-1, 0, 1)
        for other in grid.get((col + dc, row + dr), ())
    )
