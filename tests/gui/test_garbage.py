"""The editor collects garbage on the GUI thread only (flowdesk/gui/garbage.py)."""

from __future__ import annotations

import gc

from flowdesk.gui.garbage import GuiThreadCollector


def test_the_collector_turns_automatic_collection_off_and_collects_itself(qapp):
    gc.enable()
    collector = GuiThreadCollector()
    try:
        assert not gc.isenabled()
        cycles = []
        for _ in range(gc.get_threshold()[0] + 10):
            cycle: list = []
            cycle.append(cycle)
            cycles.append(cycle)
        cycles.clear()  # now garbage that only a collection frees
        assert gc.get_count()[0] > gc.get_threshold()[0]
        collector.check()
        assert gc.get_count()[0] < gc.get_threshold()[0]
    finally:
        collector.stop()
    assert gc.isenabled()
