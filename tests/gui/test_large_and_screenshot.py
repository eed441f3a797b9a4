"""A 300-node workflow (guards the PySide6 6.12 / Python 3.11 crash) and a window screenshot."""

from __future__ import annotations

import json
import time

from PySide6.QtWidgets import QApplication

from .conftest import ARTIFACTS


def write_big_workflow(path, count: int = 300) -> None:
    nodes = [{"id": "n0", "handler": "input", "dependencies": []}]
    for index in range(1, count):
        nodes.append(
            {
                "id": f"n{index}",
                "handler": "transform" if index % 3 else "delay",
                "dependencies": [f"n{(index - 1) // 2}"],
                "config": {"value": f"{{{{ n{(index - 1) // 2} }}}}"}
                if index % 3
                else {"seconds": 0},
            }
        )
    path.write_text(json.dumps({"name": "Big", "dag": {"nodes": nodes}}))


def test_three_hundred_nodes(window, tmp_path):
    path = tmp_path / "big.json"
    write_big_workflow(path)
    started = time.perf_counter()
    assert window.open_file(path)
    QApplication.processEvents()
    elapsed = time.perf_counter() - started
    assert len(window.canvas.nodes) == 300
    assert (
        sum(len(n.input_ports()[0].connected_ports()) for n in window.canvas.nodes.values()) == 299
    )
    assert window.validator.problems == []
    assert elapsed < 20, elapsed
    # One edit on a big document is still quick (diff, validate, repaint).
    started = time.perf_counter()
    window.controller.wires_changed([("n0", "n299")], [])
    window.validator.validate_now()
    assert time.perf_counter() - started < 2
    assert window.document.definition.node("n299").dependencies == ["n149"]


def test_screenshot_of_the_window(seed, window, qtbot):
    assert window.open_file(seed)
    # One node with a problem, so the picture shows the outline, badge and problems list.
    window.controller.edit_config("get_comments", {"url": "http://x/{{ get_user.body }}"})
    window.validator.validate_now()
    window.canvas.select(["get_user"])
    qtbot.wait(50)  # let the deferred zoom-to-fit run
    assert window.canvas.nodes["get_comments"].view.problem_is_error
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / "editor-window.png"
    image = window.grab()
    assert image.save(str(target))
    assert target.stat().st_size > 10_000
    assert image.width() >= 1000 and image.height() >= 600
