"""A node's `"cache"` in the editor: the Advanced group's "Cache output" and "Max age" write it
(undoably, a bad max age red and not applied), and a second run takes the cached output: the
node is REUSED, "cached" in the inspector, and the service is called once for two runs."""

from __future__ import annotations

import json

from flowdesk.engine import NodeState, RunState
from flowdesk.gui.cache_fields import max_age_text, parse_max_age

from .helpers import select, type_into
from .test_runs import INPUT, call, finish, painted, write


def test_max_age_reads_seconds_and_units() -> None:
    assert parse_max_age("") == (None, None)
    assert parse_max_age("3600") == (3600.0, None)
    assert parse_max_age(" 30m ") == (1800.0, None)
    assert parse_max_age("1H") == (3600.0, None)
    assert parse_max_age("1.5h") == (5400.0, None)
    assert parse_max_age("2d") == (172_800.0, None)
    assert parse_max_age("soon")[1] == "must be seconds or e.g. 30m, 1h, 2d (empty: no limit)"
    assert parse_max_age("0")[1].startswith("max age must be more than 0")
    assert "at most" in (parse_max_age("100000d")[1] or "")
    assert [max_age_text(s) for s in (3600, 1800, 90, 172_800, 0.5)] == [
        "1h",
        "30m",
        "90",
        "2d",
        "0.5",
    ]


def test_cache_fields_write_undo_and_a_second_run_is_cached(window, loop, server, tmp_path) -> None:
    window.open_file(write(tmp_path, [INPUT, call("user", f"{server.url}/users/1")]), ask=False)
    select(window, "user")
    cache = window.config_form.advanced.cache
    assert not cache.enabled.isChecked() and not cache.max_age.isEnabled()

    cache.enabled.setChecked(True)
    assert window.document.definition.node("user").cache is True
    assert cache.max_age.isEnabled()

    type_into(cache.max_age, "soon")
    assert "must be seconds" in cache.message.text() and not cache.message.isHidden()
    assert window.document.definition.node("user").cache is True, "refused: not applied"
    widget, reason = window.config_form.pending_error()
    assert widget is cache.max_age and "max age" in reason

    type_into(cache.max_age, "1h")
    assert cache.message.isHidden()
    assert window.document.definition.node("user").cache == {"ttl_s": 3600}
    assert window.save()
    saved = json.loads((tmp_path / "wf.json").read_text())["dag"]["nodes"][1]
    assert saved["cache"] == {"ttl_s": 3600}

    window.document.undo_stack.undo()
    assert window.document.definition.node("user").cache is True
    assert cache.max_age.text() == ""
    window.document.undo_stack.undo()
    assert window.document.definition.node("user").cache is None
    assert not cache.enabled.isChecked()
    assert "cache" not in window.document.definition.to_json_dict()["dag"]["nodes"][1]
    window.document.undo_stack.redo()
    window.document.undo_stack.redo()
    assert cache.max_age.text() == "1h" and cache.enabled.isChecked()

    window.runs.run()
    first = finish(window, loop)
    assert first.state is RunState.COMPLETED
    assert first.nodes["user"].state is NodeState.SUCCEEDED
    window.runs.run()
    second = finish(window, loop)
    assert second.state is RunState.COMPLETED and second.run_id != first.run_id
    assert server.paths() == ["/users/1"], "one call for two runs"
    assert second.nodes["user"].state is NodeState.REUSED and second.nodes["user"].cached
    assert painted(window, "user") == "REUSED"
    select(window, "user")
    title = window.runs.panel.inspector.title.text()
    assert "REUSED" in title and "cached" in title
    assert window.canvas.nodes["user"].view.run_badge == "cached"
