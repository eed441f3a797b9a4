"""Auto-layout as drawn: no wire NodeGraphQt draws passes through a node that is not its end.

The wires checked are the canvas's real pipe items (their painter paths, sampled every
two pixels), after importing a file without layout and after Ctrl+L.
"""

from __future__ import annotations

import json
import random

import pytest
from PySide6.QtWidgets import QApplication

from flowdesk.model.drawing import NODE_SIZE, PORT_Y, NodeBoxes, node_wire_curve

from .conftest import REPO

EXAMPLES = sorted((REPO / "resources" / "examples").glob("*.json"))


def random_dag_file(path, count: int = 50, seed: int = 11) -> None:
    rng = random.Random(seed)
    nodes = []
    for index in range(count):
        picks = {rng.randrange(index) for _ in range(rng.randint(0, 3))} if index else set()
        deps = [f"n{pick}" for pick in sorted(picks)]
        nodes.append({"id": f"n{index}", "handler": "transform", "dependencies": deps})
    path.write_text(json.dumps({"name": "Random", "dag": {"nodes": nodes}}))


def without_layout(source, target) -> None:
    data = json.loads(source.read_text(encoding="utf-8"))
    data.pop("layout", None)
    target.write_text(json.dumps(data))


def drawn_wires(window):
    """(source, target, path in scene coordinates) for every pipe on the canvas."""
    canvas = window.canvas
    for target, node in canvas.nodes.items():
        for pipe in node.input_ports()[0].view.connected_pipes:
            source = canvas.graph.id_of[pipe.output_port.node.id]
            yield source, target, pipe.mapToScene(pipe.path())


def wires_through_nodes(window) -> list[tuple[str, str, str]]:
    rects = {node_id: n.view.sceneBoundingRect() for node_id, n in window.canvas.nodes.items()}
    found = []
    for source, target, path in drawn_wires(window):
        steps = max(50, int(path.length() / 2))
        points = [path.pointAtPercent(i / steps) for i in range(steps + 1)]
        for node_id, rect in rects.items():
            if node_id not in (source, target) and any(rect.contains(p) for p in points):
                found.append((source, target, node_id))
    return found


def test_the_wire_model_is_what_the_canvas_draws(seed, window):
    """flowdesk.model.drawing (which the layout relies on) against NodeGraphQt's pipes."""
    assert window.open_file(seed)
    QApplication.processEvents()
    boxes = window.canvas.node_boxes()
    assert boxes.port_y == PORT_Y
    assert set(boxes.sizes.values()) == {NODE_SIZE}
    positions = window.document.definition.layout
    count = 0
    for source, target, path in drawn_wires(window):
        model = node_wire_curve(source, target, positions, boxes)
        # NodeGraphQt draws from the input port back to the output port.
        drawn = [path.elementAt(i) for i in range(path.elementCount())]
        assert len(drawn) == 4
        for element, point in zip(drawn, reversed(model), strict=True):
            assert (element.x, element.y) == pytest.approx(point, abs=0.01)
        count += 1
    assert count == sum(len(n.dependencies) for n in window.document.definition.nodes) > 0


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_examples_imported_and_laid_out_have_no_wire_through_a_node(
    example, window, dialogs, tmp_path
):
    path = tmp_path / example.name
    without_layout(example, path)
    dialogs.open_paths.append(str(path))
    assert window.import_dialog()
    QApplication.processEvents()
    assert wires_through_nodes(window) == []
    window.act_layout.trigger()  # Ctrl+L: the canvas's own node sizes
    QApplication.processEvents()
    assert wires_through_nodes(window) == []


def test_random_fifty_node_dag_has_no_wire_through_a_node(window, dialogs, tmp_path):
    path = tmp_path / "random.json"
    random_dag_file(path)
    dialogs.open_paths.append(str(path))
    assert window.import_dialog()
    QApplication.processEvents()
    assert len(window.canvas.nodes) == 50
    assert wires_through_nodes(window) == []
    window.act_layout.trigger()
    QApplication.processEvents()
    assert wires_through_nodes(window) == []


def test_old_layout_would_fail_this_check(window, dialogs, tmp_path):
    """The check finds the defect: the old columns-by-depth layout (rows in id order) on the
    same graph drew wires through nodes."""
    path = tmp_path / "random.json"
    random_dag_file(path)
    data = json.loads(path.read_text())
    depth: dict[str, int] = {}
    rows: dict[int, list[str]] = {}
    for node in data["dag"]["nodes"]:
        depth[node["id"]] = max((depth[d] + 1 for d in node["dependencies"]), default=0)
        rows.setdefault(depth[node["id"]], []).append(node["id"])
    data["layout"] = {
        node_id: [column * 260.0, (row - (len(ids) - 1) / 2) * 110.0]
        for column, ids in rows.items()
        for row, node_id in enumerate(ids)
    }
    path.write_text(json.dumps(data))
    assert window.open_file(path)
    QApplication.processEvents()
    assert wires_through_nodes(window)


def test_auto_layout_uses_the_drawn_size_of_long_titles(window):
    node_id = window.controller.add_node("transform")
    assert window.controller.rename(node_id, "a_rather_long_node_identifier") is None
    boxes = window.canvas.node_boxes()
    assert isinstance(boxes, NodeBoxes)
    width = window.canvas.nodes["a_rather_long_node_identifier"].view.boundingRect().width()
    assert boxes.size("a_rather_long_node_identifier")[0] == width
