"""Generated DAG shapes of no-op nodes (`transform` with a constant value)."""

from __future__ import annotations

from typing import Any


def _node(node_id: str, deps: list[str]) -> dict[str, Any]:
    return {"id": node_id, "handler": "transform", "dependencies": deps, "config": {"value": 1}}


def fan_out_fan_in(width: int) -> list[dict[str, Any]]:
    middle = [f"n{i}" for i in range(width)]
    return [
        _node("source", []),
        *(_node(node_id, ["source"]) for node_id in middle),
        _node("sink", middle),
    ]


def layers(depth: int, width: int) -> list[dict[str, Any]]:
    """`depth` layers of `width` nodes; each node depends on every node of the layer above."""
    nodes: list[dict[str, Any]] = []
    above: list[str] = []
    for layer in range(depth):
        current = [f"l{layer}_{i}" for i in range(width)]
        nodes += [_node(node_id, above) for node_id in current]
        above = current
    return nodes


def chain(length: int) -> list[dict[str, Any]]:
    return [_node(f"c{i}", [f"c{i - 1}"] if i else []) for i in range(length)]


def as_workflow(name: str, nodes: list[dict[str, Any]]) -> dict[str, Any]:
    return {"name": name, "dag": {"nodes": nodes}}


SHAPES = {
    "fan-out/fan-in 1,000": lambda: fan_out_fan_in(1_000),
    "fan-out/fan-in 10,000": lambda: fan_out_fan_in(10_000),
    "100 layers x 50": lambda: layers(100, 50),
    "chain 1,000": lambda: chain(1_000),
}
