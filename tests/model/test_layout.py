"""Auto-layout without Qt: columns by depth, no wire over a node it does not connect, quick."""

from __future__ import annotations

import random
import time

import pytest
from conftest import EXAMPLES

from flowdesk.model import NodeSpec, WorkflowDefinition, load_workflow
from flowdesk.model.drawing import (
    NodeBoxes,
    curve_point,
    curve_y_span,
    node_wire_curve,
    rise_at,
    wire_curve,
    wires_over_nodes,
)
from flowdesk.model.layout import WIRE_CLEARANCE, definition_edges, layout_workflow

EXAMPLE_FILES = sorted(EXAMPLES.glob("*.json"))


def workflow(deps: dict[str, list[str]]) -> WorkflowDefinition:
    nodes = [NodeSpec(id=node, handler="transform", dependencies=d) for node, d in deps.items()]
    return WorkflowDefinition(name="w", dag={"nodes": nodes})


def random_dag(count: int, seed: int, max_deps: int = 3) -> WorkflowDefinition:
    """Each node depends on up to `max_deps` earlier nodes, any distance back."""
    rng = random.Random(seed)
    deps: dict[str, list[str]] = {}
    for index in range(count):
        picks = {rng.randrange(index) for _ in range(rng.randint(0, max_deps))} if index else set()
        deps[f"n{index}"] = [f"n{pick}" for pick in sorted(picks)]
    return workflow(deps)


def grid(width: int, depth: int) -> WorkflowDefinition:
    """benchmarks/editor.py's shape: each node depends on two of the layer before."""
    deps = {
        f"l{layer}_{i}": [f"l{layer - 1}_{i}", f"l{layer - 1}_{(i + 1) % width}"] if layer else []
        for layer in range(depth)
        for i in range(width)
    }
    return workflow(deps)


def assert_drawn_clear(definition: WorkflowDefinition, boxes: NodeBoxes | None = None) -> None:
    boxes = boxes or NodeBoxes()
    layout = layout_workflow(definition, boxes)
    positions = layout.positions
    assert set(positions) == {node.id for node in definition.nodes}
    assert layout.wires_over_nodes == 0 and layout.note is None
    edges = definition_edges(definition)
    for source, target in edges:  # every wire runs left to right, into a later column
        assert positions[source][0] + boxes.size(source)[0] < positions[target][0]
    # Checked with slightly less than the clearance kept, so rounding cannot fail it.
    assert wires_over_nodes(edges, positions, boxes, clearance=WIRE_CLEARANCE - 2) == []
    rects = [(x, y, *boxes.size(node)) for node, (x, y) in positions.items()]
    for i, (x1, y1, w1, h1) in enumerate(rects):
        for x2, y2, w2, h2 in rects[i + 1 :]:
            assert x1 + w1 <= x2 or x2 + w2 <= x1 or y1 + h1 <= y2 or y2 + h2 <= y1, "overlap"


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=[p.stem for p in EXAMPLE_FILES])
def test_examples_have_no_wire_over_a_node(path) -> None:
    assert_drawn_clear(load_workflow(path))


def test_fifty_node_random_dag_has_no_wire_over_a_node() -> None:
    definition = random_dag(50, seed=11)
    assert len(definition_edges(definition)) > 60  # dense enough for many long wires
    assert_drawn_clear(definition)


@pytest.mark.parametrize("seed", range(12))
def test_more_random_dags_and_node_sizes(seed) -> None:
    definition = random_dag(40, seed=seed)
    rng = random.Random(seed)
    sizes = {node.id: (rng.choice([120.0, 160.0, 260.0]), 60.0) for node in definition.nodes}
    assert_drawn_clear(definition, NodeBoxes(sizes))


def test_the_old_layout_put_wires_over_nodes() -> None:
    """The regression: columns by depth with rows in id order drew dependencies that do not
    exist (wires passing under unrelated nodes into their ports)."""
    definition = random_dag(50, seed=11)
    old: dict[str, tuple[float, float]] = {}
    levels: dict[int, list[str]] = {}
    depth: dict[str, int] = {}
    for node in definition.nodes:  # nodes come in dependency order here
        depth[node.id] = max((depth[d] + 1 for d in node.dependencies), default=0)
        levels.setdefault(depth[node.id], []).append(node.id)
    for column, ids in levels.items():
        for row, node_id in enumerate(ids):
            old[node_id] = (column * 260.0, (row - (len(ids) - 1) / 2) * 110.0)
    assert wires_over_nodes(definition_edges(definition), old)


def test_layout_is_deterministic_and_keeps_unconnected_parts_apart() -> None:
    definition = workflow({"a": [], "b": ["a"], "c": [], "d": ["c"], "lone": []})
    first = layout_workflow(definition).positions
    assert layout_workflow(definition).positions == first
    assert first["a"][0] == first["c"][0] == first["lone"][0] == 0
    assert first["a"][1] < first["c"][1] < first["lone"][1]


def test_cycles_self_and_missing_dependencies_do_not_break_it() -> None:
    definition = workflow({"a": ["c"], "b": ["a"], "c": ["b"], "d": ["d", "ghost", "a"]})
    positions = layout_workflow(definition).positions
    assert set(positions) == {"a", "b", "c", "d"}
    assert positions["a"][0] < positions["b"][0] < positions["c"][0]  # one edge turned back
    assert layout_workflow(workflow({})).positions == {}


def test_large_workflows_lay_out_quickly() -> None:
    started = time.perf_counter()
    layout = layout_workflow(grid(50, 20))  # 1,000 nodes, 1,900 wires
    elapsed = time.perf_counter() - started
    assert len(layout.positions) == 1000 and layout.wires_over_nodes == 0
    assert elapsed < 5, elapsed  # about 0.3 s on a developer machine


def test_too_many_long_wires_for_grandalf_still_lays_out_clear() -> None:
    """A chain of 100 with a node depending on all of them: 4,950 dummy vertices, past the
    size grandalf handles quickly; the simpler ordering is used and the note says so."""
    deps = {f"n{i}": [f"n{i - 1}"] if i else [] for i in range(100)}
    deps["end"] = list(deps)
    layout = layout_workflow(workflow(deps))
    assert layout.ordered_simply and layout.note and "crossings" in layout.note
    edges = definition_edges(workflow(deps))
    assert layout.wires_over_nodes == 0
    assert wires_over_nodes(edges, layout.positions, clearance=WIRE_CLEARANCE - 2) == []


def test_wire_model_rise_and_span_agree_with_the_curve() -> None:
    rng = random.Random(3)
    for _ in range(500):
        start = (rng.uniform(0, 500), rng.uniform(-500, 500))
        end = (start[0] + rng.uniform(20, 3000), rng.uniform(-500, 500))
        curve = wire_curve(start, end, 160.0)
        t = rng.choice([rng.uniform(0, 0.3), rng.uniform(0.7, 1)])
        x, y = curve_point(curve, t)
        assert start[1] + (end[1] - start[1]) * rise_at(curve, x) == pytest.approx(y, abs=0.01)
        low, high = curve_y_span(curve, x - 5, x + 5)
        assert low <= y <= high


def test_node_wire_curve_runs_between_ports() -> None:
    boxes = NodeBoxes({"a": (100.0, 50.0)}, port_y=20.0)
    curve = node_wire_curve("a", "b", {"a": (0.0, 0.0), "b": (300.0, 100.0)}, boxes)
    assert curve[0] == (100.0, 20.0) and curve[3] == (300.0, 120.0)
