"""Open Example with the demo service started on request, the resources module, the theme."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QIcon, QPalette

from flowdesk import resources
from flowdesk.demo import DEFAULT_PORT
from flowdesk.engine.states import RunState
from flowdesk.gui import theme
from flowdesk.gui.examples import needs_demo_service, port_is_open
from flowdesk.model import load_workflow

# The demo service's fixed port (8911): one module at a time uses it, across xdist workers.
pytestmark = pytest.mark.usefixtures("demo_port_turn")


def test_every_referenced_resource_exists_and_loads(qapp) -> None:
    for path in resources.referenced():
        assert path.exists(), path
    assert not QIcon(str(resources.app_icon())).isNull()
    for handler in ("input", "output", "transform", "delay", "call_external_service", "a_plugin"):
        assert not theme.handler_icon(handler, (200, 100, 50)).isNull()
    assert resources.handler_icon("a_plugin").name == "plugin.svg"
    assert len(resources.examples()) == 7


def test_the_palette_follows_a_dark_scheme(qapp) -> None:
    dark = theme.palette_for(Qt.ColorScheme.Dark)
    light = theme.palette_for(Qt.ColorScheme.Light)
    assert dark.color(QPalette.ColorRole.Window).lightness() < 80
    assert light.color(QPalette.ColorRole.Window).lightness() > 150
    theme.apply_app_theme(qapp)
    assert qapp.style().name().lower() == "fusion"


def test_examples_that_call_the_demo_service_are_recognised() -> None:
    by_name = {p.stem: load_workflow(p) for p in resources.examples()}
    assert all(needs_demo_service(d) for d in by_name.values())
    assert not needs_demo_service(by_name["template_chain"], port=9999)


def test_open_example_offers_the_demo_service_and_runs(window, loop, dialogs) -> None:
    titles = [a.text() for a in window.examples_menu.actions()]
    assert "Template Chain" in titles and len(titles) == 7
    assert not port_is_open(DEFAULT_PORT)
    dialogs.confirm_answers.append(True)
    action = next(a for a in window.examples_menu.actions() if a.text() == "Template Chain")
    action.trigger()
    try:
        assert window.document.definition.name == "Template Chain"
        assert window.document.path is None and not window.document.modified
        assert dialogs.confirmations and "demo service" in dialogs.confirmations[0]
        assert window.demo.running and window.act_demo.isChecked()
        assert port_is_open(DEFAULT_PORT)
        dialogs.params_answers.append('{"user_id": 2}')
        window.runs.run()
        loop.run_until_complete(window.runs.controller.task)
        result = window.runs.controller.board.result
        assert result.state is RunState.COMPLETED
        assert result.results["output"]["author"] == "Grace Hopper"
    finally:
        window.act_demo.setChecked(False)
    assert not window.demo.running
    assert not port_is_open(DEFAULT_PORT)


def test_a_taken_port_is_reported_not_fatal(window, dialogs) -> None:
    from flowdesk.demo import DemoServer

    with DemoServer(port=DEFAULT_PORT):
        window.act_demo.setChecked(True)
        assert not window.demo.running and not window.act_demo.isChecked()
        assert "Cannot listen on port" in dialogs.errors[-1]
