"""Two JSON values as one tree of rows, side by side: each key or list item once, with its value
in A and in B and whether it was added, removed or changed (Qt-free; the compare view draws it).

What differs is decided by `flowdesk.runs.compare.diff_json` (the same findings `flowdesk runs
diff` prints); this module only lays both values out around those findings. A list whose items
were inserted or removed is aligned as that diff aligned it: removed items (A's indexes) and added
items (B's indexes) stand alone, the others pair up in order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from flowdesk.runs.compare import JsonPath, PathChange, diff_json, ignoring

RowKind = Literal["same", "added", "removed", "changed", "inside", "ignored"]
"""`inside`: the row's own value is not what changed, something under it is. `ignored`: it
differs, at a path the user chose to ignore."""

MAX_ROWS = 500
"""Rows shown per object or list; rows that differ are always shown, unchanged ones after this
many are counted in `DiffRow.hidden` (a 100,000-item response must not freeze the window)."""
ABSENT = object()


@dataclass
class DiffRow:
    """One key (or list item) of A and/or B. `a`/`b` are the texts shown, None when absent."""

    key: str
    a: str | None
    b: str | None
    kind: RowKind
    path: JsonPath
    children: list[DiffRow] = field(default_factory=list)
    hidden: int = 0

    @property
    def differs(self) -> bool:
        return self.kind not in ("same", "ignored")

    def child(self, key: str) -> DiffRow:
        """The child row shown as `key` (for tests and lookups); KeyError when there is none."""
        for row in self.children:
            if row.key == key:
                return row
        raise KeyError(key)

    def find(self, *keys: str) -> DiffRow:
        row = self
        for key in keys:
            row = row.child(key)
        return row


def diff_rows(
    old: Any,
    new: Any,
    *,
    changes: Sequence[PathChange] | None = None,
    ignore: Sequence[str] = (),
) -> DiffRow:
    """The root row of `old` (A) beside `new` (B). `changes`: diff_json(old, new) when the caller
    has it already (unfiltered); differences at `ignore` patterns are rows of kind `ignored`."""
    if changes is None:
        changes = diff_json(old, new)
    counted = {change.path for change in ignoring(changes, ignore)}
    return _row("", old, new, (), list(changes), counted)


def summary(value: Any) -> str:
    """A value as one line: scalars as JSON (strings bare), containers by their size."""
    if isinstance(value, dict):
        return f"{{{len(value)} key{'' if len(value) == 1 else 's'}}}"
    if isinstance(value, list):
        return f"[{len(value)} item{'' if len(value) == 1 else 's'}]"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _text(value: Any) -> str | None:
    return None if value is ABSENT else summary(value)


def _row(
    key: str,
    a: Any,
    b: Any,
    path: JsonPath,
    changes: list[PathChange],
    counted: set[JsonPath],
) -> DiffRow:
    """The row at `path`; `changes` are those at or under it (paths still absolute)."""
    depth = len(path)
    own = next((c for c in changes if len(c.path) == depth), None)
    if own is not None:
        kind: RowKind = own.kind if own.path in counted else "ignored"
        row = DiffRow(key, _text(a), _text(b), kind, path)
        if own.kind == "changed":  # a type change (an object became a list): both sides' items
            _fill_one_side(row, a, "removed" if kind != "ignored" else kind, side="a")
            _fill_one_side(row, b, "added" if kind != "ignored" else kind, side="b")
        elif own.kind == "removed":
            _fill_one_side(row, a, kind, side="a")
        else:
            _fill_one_side(row, b, kind, side="b")
        return row
    below = [c for c in changes if len(c.path) > depth]
    kind = "inside" if any(c.path in counted for c in below) else "same"
    row = DiffRow(key, _text(a), _text(b), kind, path)
    children = _Children(row, counted)
    if isinstance(a, dict) and isinstance(b, dict):
        by_key = _by_step(below, depth)
        for name in [*a, *(k for k in b if k not in a)]:
            under = by_key.get(name, [])
            children.add(str(name), a.get(name, ABSENT), b.get(name, ABSENT), name, under)
    elif isinstance(a, list) and isinstance(b, list):
        _list_rows(children, a, b, below)
    return row


class _Children:
    """Builds a row's children: at most MAX_ROWS that differ and MAX_ROWS that do not, in
    their order; the others are only counted (`hidden`), never built."""

    def __init__(self, row: DiffRow, counted: set[JsonPath]) -> None:
        self.row = row
        self.counted = counted
        self.shown = {True: 0, False: 0}

    def add(self, key: str, a: Any, b: Any, step: str | int, changes: list[PathChange]) -> None:
        differs = any(change.path in self.counted for change in changes)
        if self.shown[differs] >= MAX_ROWS:
            self.row.hidden += 1
            return
        self.shown[differs] += 1
        path = (*self.row.path, step)
        self.row.children.append(_row(key, a, b, path, changes, self.counted))


def _by_step(changes: list[PathChange], depth: int) -> dict[str | int, list[PathChange]]:
    """Changes grouped by the key or index they go through at `depth`."""
    groups: dict[str | int, list[PathChange]] = {}
    for change in changes:
        groups.setdefault(change.path[depth], []).append(change)
    return groups


def _list_rows(children: _Children, a: list[Any], b: list[Any], below: list[PathChange]) -> None:
    depth = len(children.row.path)
    # Added items (and paths in them) count B's indexes; every other change counts A's.
    in_b = _by_step([c for c in below if c.kind == "added"], depth)
    in_a = _by_step([c for c in below if c.kind != "added"], depth)
    removed = {i for i, cs in in_a.items() if any(_at(c, depth, "removed") for c in cs)}
    added = {j for j, cs in in_b.items() if any(_at(c, depth, "added") for c in cs)}
    i = j = 0
    while i < len(a) or j < len(b):
        if i < len(a) and (i in removed or j >= len(b)):
            children.add(f"[{i}]", a[i], ABSENT, i, in_a.get(i, []))
            i += 1
        elif j < len(b) and (j in added or i >= len(a)):
            children.add(f"[{j}]", ABSENT, b[j], j, in_b.get(j, []))
            j += 1
        else:
            under = [*in_a.get(i, []), *(c for c in in_b.get(i, []) if len(c.path) > depth + 1)]
            children.add(f"[{i}]" if i == j else f"[{i}]→[{j}]", a[i], b[j], i, under)
            i += 1
            j += 1


def _at(change: PathChange, depth: int, kind: str) -> bool:
    """`change` is of `kind` and is a whole item of the list at `depth`."""
    return change.kind == kind and len(change.path) == depth + 1


def _fill_one_side(row: DiffRow, value: Any, kind: RowKind, *, side: str) -> None:
    """Add the items of a value present on one side only (all of `kind`) under `row`."""
    if isinstance(value, dict):
        items: list[tuple[str, str | int, Any]] = [(str(k), k, v) for k, v in value.items()]
    elif isinstance(value, list):
        items = [(f"[{i}]", i, v) for i, v in enumerate(value)]
    else:
        return
    for key, step, child in items[:MAX_ROWS]:
        a, b = (summary(child), None) if side == "a" else (None, summary(child))
        sub = DiffRow(key, a, b, kind, (*row.path, step))
        _fill_one_side(sub, child, kind, side=side)
        row.children.append(sub)
    row.hidden += max(0, len(items) - MAX_ROWS)
