"""A mapped node REUSED from another run (run from here, the node cache) keeps its badge
(`100 items`) and its Items tab, read from the new run's own copy of the items in the store."""

from __future__ import annotations

from pathlib import Path

from flowdesk.engine import NodeState, RunState

from .helpers import select
from .test_map_in_editor import mapped, numbers, open_nodes
from .test_runs import finish


def total() -> dict:
    return {
        "id": "total",
        "handler": "transform",
        "dependencies": ["each"],
        "config": {"value": "{{ each | sum }}"},
    }


def assert_items_shown(window, run_id: str) -> None:
    select(window, "each")
    inspector = window.runs.panel.inspector
    items = inspector.items
    assert inspector.tabs.isTabVisible(inspector.tabs.indexOf(items))
    assert inspector.tabs.tabText(inspector.tabs.indexOf(items)) == "Items (100 items)"
    assert items.source is not None and items.source.key == (run_id, "each", "stored")
    assert items.range_label.text().startswith("items 1–100 of 100")  # noqa: RUF001
    items.select_item(42)
    assert items.detail_output.text_of() == "84"
    assert "REUSED" in inspector.title.text() and "100 items" in inspector.title.text()


def test_run_from_here_shows_the_reused_mapped_nodes_badge_and_items(window, loop, tmp_path):
    open_nodes(window, tmp_path, [numbers(100), mapped(), total()])
    window.runs.run()
    first = finish(window, loop)
    assert first.state is RunState.COMPLETED
    select(window, "total")
    assert window.runs.run_from_here() is not None
    second = finish(window, loop)
    assert second.state is RunState.COMPLETED
    assert second.nodes["each"].state is NodeState.REUSED
    assert window.canvas.run_state_of("each") == "REUSED"
    assert window.canvas.map_badge_of("each") == "100 items"
    assert_items_shown(window, second.run_id)

    window.runs.show_history_run(first.run_id)  # another run on show, then this one again
    window.runs.show_history_run(second.run_id)
    assert window.canvas.map_badge_of("each") == "100 items"
    assert_items_shown(window, second.run_id)


def test_a_cached_mapped_node_shows_its_badge_and_items(window, loop, tmp_path):
    open_nodes(window, tmp_path, [numbers(100), mapped(cache=True), total()])
    window.runs.run()
    finish(window, loop)
    window.runs.run()
    second = finish(window, loop)
    each = second.nodes["each"]
    assert each.state is NodeState.REUSED and each.cached
    assert window.canvas.map_badge_of("each") == "100 items"
    assert_items_shown(window, second.run_id)


def test_the_posts_example_run_from_report_shows_get_posts_items(window, loop, server, tmp_path):
    """The walk that found it: posts_for_each_user, F5, then Shift+F5 on `report`; the
    REUSED `get_posts` had no `4 items` bar and no Items tab (a cache hit had both)."""
    example = Path(__file__).parents[2] / "resources" / "examples" / "posts_for_each_user.json"
    text = example.read_text().replace("http://127.0.0.1:8911", server.url)
    assert "8911" not in text  # the test's own demo service, not the shared port
    path = tmp_path / "posts.json"
    path.write_text(text)
    assert window.open_file(str(path), ask=False)
    window.runs.run()
    assert finish(window, loop).state is RunState.COMPLETED
    select(window, "report")
    assert window.runs.run_from_here() is not None
    second = finish(window, loop)
    assert second.nodes["get_posts"].state is NodeState.REUSED
    assert window.canvas.map_badge_of("get_posts") == "4 items"
    select(window, "get_posts")
    inspector = window.runs.panel.inspector
    assert inspector.tabs.isTabVisible(inspector.tabs.indexOf(inspector.items))
    assert inspector.tabs.tabText(inspector.tabs.indexOf(inspector.items)) == "Items (4 items)"
    assert inspector.items.range_label.text().startswith("items 1–4 of 4")  # noqa: RUF001
    inspector.items.select_item(2)
    assert inspector.items.detail_output.text_of("body", "[0]", "userId") == "3"
