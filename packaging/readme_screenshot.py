"""Generate the README's screenshot: the editor mid-run, against the local demo service.

    .venv/bin/python packaging/readme_screenshot.py [OUTPUT.png]

Runs offscreen; writes resources/screenshots/editor-mid-run.png by default.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QT_API", "pyside6")

import qasync
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = ROOT / "resources" / "screenshots" / "editor-mid-run.png"


def workflow(base: str) -> dict:
    def call(node_id: str, path: str, x: float, y: float) -> tuple[dict, tuple[float, float]]:
        node = {
            "id": node_id,
            "handler": "call_external_service",
            "dependencies": ["input"],
            "config": {"url": f"{base}{path}"},
        }
        return node, (x, y)

    calls = [
        call("get_user", "/users/{{ params.user_id }}", 300, -60),
        call("get_posts", "/slow?seconds=3", 300, 60),
        call("get_comments", "/slow?seconds=3", 300, 180),
        call("get_policies", "/fail", 300, 300),
    ]
    nodes = [{"id": "input", "handler": "input", "dependencies": []}] + [n for n, _ in calls]
    nodes += [
        {
            "id": "report",
            "handler": "transform",
            "dependencies": ["get_user", "get_posts", "get_comments"],
            "config": {"value": {"who": "{{ get_user.body.name }}", "posts": "{{ get_posts.body }}"}},
        },
        {"id": "policy_titles", "handler": "transform", "dependencies": ["get_policies"],
         "config": {"value": "{{ get_policies.body.policies | map(attribute='title') | list }}"}},
        {"id": "output", "handler": "output", "dependencies": ["report", "policy_titles"]},
    ]  # fmt: skip
    layout = {"input": (0, 120), **{n["id"]: pos for n, pos in calls}}
    layout |= {"report": (600, 60), "policy_titles": (600, 300), "output": (880, 180)}
    return {"name": "Customer report", "dag": {"nodes": nodes}, "layout": layout}


def main(output: Path) -> None:
    from flowdesk.demo import DemoServer
    from flowdesk.gui.files import Dialogs
    from flowdesk.gui.main_window import MainWindow
    from flowdesk.model import save_workflow, workflow_from_data

    class Answers(Dialogs):
        def ask_params(self, parent, workflow, text):  # type: ignore[override]
            return '{"user_id": 2}'

    app = QApplication(sys.argv[:1])
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory() as folder, DemoServer() as server:
        os.environ["FLOWDESK_DB"] = str(Path(folder) / "runs.db")
        path = Path(folder) / "customer_report.json"
        save_workflow(workflow_from_data(workflow(server.url)), path)
        settings = QSettings(str(Path(folder) / "settings.ini"), QSettings.Format.IniFormat)
        window = MainWindow(dialogs=Answers(), settings=settings)
        window.resize(1400, 860)
        window.show()
        window.open_file(path, ask=False)
        window.canvas.fit()

        async def capture() -> None:
            window.runs.run()
            started = time.monotonic()
            while time.monotonic() - started < 1.0:
                await asyncio.sleep(0.05)
            window.canvas.select(["get_user"])
            await asyncio.sleep(0.2)
            output.parent.mkdir(parents=True, exist_ok=True)
            if not window.grab().save(str(output)):
                raise SystemExit(f"could not write {output}")
            window.runs.cancel()
            await window.runs.controller.task

        with loop:  # closing the loop also stops its worker threads
            loop.run_until_complete(capture())
        window.document.undo_stack.setClean()
        window.close()
    print(output)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_OUTPUT)
