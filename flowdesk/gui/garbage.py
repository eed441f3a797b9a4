"""Garbage collection on the GUI thread only.

Python collects cyclic garbage in whichever thread happens to allocate when a threshold is
crossed, and FlowDesk has worker threads (the store's writer, the store opener). A Qt object
destroyed from one of them leaves Qt's timer bookkeeping pointing at freed memory: a
segfault later (seen under load in the GUI tests). So the editor turns automatic collection
off and collects on its own thread, as often as Python's thresholds would.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

CHECK_MS = 500


class GuiThreadCollector(QObject):
    """Collects a generation on the GUI thread once Python's own threshold for it is passed."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.setInterval(CHECK_MS)
        self._timer.timeout.connect(self.check)
        self._timer.start()

    def check(self) -> None:
        counts = gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > self._thresholds[generation]:
                gc.collect(generation)
                return

    def stop(self) -> None:
        """Back to Python's automatic collection (when the editor closes)."""
        self._timer.stop()
        gc.enable()
