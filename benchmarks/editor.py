"""Editor scale, measured in its own process (offscreen Qt); prints one JSON object.

- open: seconds to open a 1,000-node workflow in the main window;
- max_gap_ms: the longest gap between event-loop ticks during a 1,000-node run;
- paint_delay_ms: from the engine's last event to the last node painted.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from itertools import pairwise
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

import qasync
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

WIDTH, DEPTH = 50, 20  # 1,000 nodes


def workflow() -> dict:
    nodes = []
    for layer in range(DEPTH):
        for i in range(WIDTH):
            deps = [f"l{layer - 1}_{i}", f"l{layer - 1}_{(i + 1) % WIDTH}"] if layer else []
            nodes.append(
                {
                    "id": f"l{layer}_{i}",
                    "handler": "delay",
                    "dependencies": deps,
                    "config": {"seconds": 0.001 * (i % 7)},
                }
            )
    return {"name": "editor scale", "dag": {"nodes": nodes}}


def main() -> None:
    from flowdesk.engine.events import RunFinished
    from flowdesk.gui.files import Dialogs
    from flowdesk.gui.main_window import MainWindow

    class Answers(Dialogs):
        def ask_params(self, parent, workflow, text):  # type: ignore[override]
            return "{}"

    app = QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory() as folder:
        os.environ["FLOWDESK_DB"] = str(Path(folder) / "runs.db")
        path = Path(folder) / "big.json"
        path.write_text(json.dumps(workflow()))
        settings = QSettings(str(Path(folder) / "s.ini"), QSettings.Format.IniFormat)
        window = MainWindow(dialogs=Answers(), settings=settings)
        window.show()
        app.processEvents()
        started = time.perf_counter()
        window.open_file(path, ask=False)
        app.processEvents()
        open_s = time.perf_counter() - started

        ticks: list[float] = []
        timer = QTimer()
        timer.setInterval(5)
        timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
        last_event = 0.0
        last_paint = 0.0

        def on_event(event: object) -> None:
            nonlocal last_event
            if not isinstance(event, RunFinished):
                last_event = time.perf_counter()

        def on_paint() -> None:
            nonlocal last_paint
            states = {window.canvas.run_state_of(n) for n in window.canvas.nodes}
            if states == {"SUCCEEDED"} and not last_paint:
                last_paint = time.perf_counter()

        window.runs.controller.started.connect(
            lambda _id: window.runs.controller.handle.subscribe(on_event)
        )
        window.runs.controller.board_changed.connect(on_paint)

        async def run() -> None:
            timer.start()
            window.runs.run()
            await window.runs.controller.task
            await asyncio.sleep(0.1)
            timer.stop()

        with loop:
            loop.run_until_complete(run())
        gaps = [b - a for a, b in pairwise(ticks)]
        window.document.undo_stack.setClean()
        window.close()
    print(
        json.dumps(
            {
                "nodes": WIDTH * DEPTH,
                "open_s": open_s,
                "max_gap_ms": max(gaps) * 1000,
                "paint_delay_ms": (last_paint - last_event) * 1000,
                "run_state": window.runs.controller.board.state.value,
            }
        )
    )


if __name__ == "__main__":
    main()
