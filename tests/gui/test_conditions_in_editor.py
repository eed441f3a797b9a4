"""The Node panel's Advanced group ("Run when", "Join rule") and how a node skipped by its
condition looks: dashed, "condition false" in the inspector and the legend."""

from __future__ import annotations

import json

from PySide6.QtWidgets import QLabel

from flowdesk.engine.states import RunState
from flowdesk.gui.run_panel import legend

from .helpers import select, type_into
from .test_runs import finish, painted

NODES = [
    {"id": "check", "handler": "transform", "dependencies": [], "config": {"value": True}},
    {"id": "other", "handler": "transform", "dependencies": [], "config": {"value": 1}},
    {"id": "notify", "handler": "transform", "dependencies": ["check"], "config": {"value": 2}},
]


def open_nodes(window, tmp_path, nodes) -> None:
    path = tmp_path / "wf.json"
    path.write_text(json.dumps({"name": "conditions", "dag": {"nodes": nodes}}))
    assert window.open_file(str(path), ask=False)


def test_run_when_is_validated_live_written_and_undoable(window, tmp_path) -> None:
    open_nodes(window, tmp_path, NODES)
    select(window, "notify")
    advanced = window.config_form.advanced
    assert advanced.title() == "Advanced"

    type_into(advanced.when, "{{ other.x }}")  # not upstream of notify
    assert "not upstream" in advanced.when_message.text()
    assert not advanced.when_message.isHidden()
    assert window.document.definition.node("notify").when is None
    assert window.config_form.pending_error() is not None

    type_into(advanced.when, "{{ check }}")
    assert advanced.when_message.isHidden()
    assert window.document.definition.node("notify").when == "{{ check }}"
    window.act_undo.trigger()
    assert window.document.definition.node("notify").when is None
    assert advanced.when.text() == ""


def test_join_rule_is_chosen_from_the_known_rules(window, tmp_path) -> None:
    open_nodes(window, tmp_path, NODES)
    select(window, "notify")
    rules = window.config_form.advanced.rule
    names = [rules.itemData(i) for i in range(rules.count())]
    assert names == [
        None,
        "all_done",
        "one_success",
        "none_failed",
        "none_failed_min_one_success",
    ]
    rules.setCurrentIndex(names.index("none_failed_min_one_success"))
    rules.activated.emit(rules.currentIndex())
    node = window.document.definition.node("notify")
    assert node.trigger_rule == "none_failed_min_one_success"
    rules.setCurrentIndex(0)
    rules.activated.emit(0)
    assert window.document.definition.node("notify").trigger_rule is None


def test_a_node_skipped_by_its_condition_is_dashed_and_says_so(window, loop, tmp_path) -> None:
    nodes = [
        {"id": "check", "handler": "transform", "dependencies": [], "config": {"value": False}},
        {
            "id": "notify",
            "handler": "transform",
            "dependencies": ["check"],
            "when": "{{ check }}",
            "config": {"value": 1},
        },
        {"id": "bad", "handler": "transform", "config": {"value": "{{ params.none.x }}"}},
        {
            "id": "after_bad",
            "handler": "transform",
            "dependencies": ["bad"],
            "config": {"value": 1},
        },
    ]
    open_nodes(window, tmp_path, nodes)
    window.runs.run()
    result = finish(window, loop)
    assert result.state is RunState.FAILED
    assert painted(window, "notify") == "SKIPPED"
    assert painted(window, "after_bad") == "SKIPPED"
    assert window.canvas.nodes["notify"].view.condition_false
    assert not window.canvas.nodes["after_bad"].view.condition_false

    inspector = window.runs.panel.inspector
    select(window, "notify")
    assert "condition false" in inspector.title.text()
    assert inspector.error.isHidden()
    select(window, "after_bad")
    assert "condition false" not in inspector.title.text()
    assert "upstream 'bad'" in inspector.error.text()


def test_the_legend_shows_the_condition_skip(qtbot) -> None:
    box = legend()
    qtbot.addWidget(box)
    chip = box.findChild(QLabel, "legend_condition_false")
    assert chip is not None
    assert "condition false" in chip.text()
    assert "dashed" in chip.styleSheet()
