"""Celery is loaded only when workers are chosen: the engine, the run service and the command
line's parser import none of it (FlowDesk on one machine needs none of it)."""

from __future__ import annotations

from conftest import modules_loaded_by

CELERY = ("celery", "kombu", "billiard", "redis", "flowdesk.scaleout")


def test_the_engine_the_run_service_and_the_cli_parser_load_no_celery() -> None:
    code = (
        "import flowdesk.engine, flowdesk.runs\n"
        "from flowdesk.cli import build_parser\n"
        "build_parser().parse_args(['run', 'x.json', '--executor', 'celery'])"
    )
    loaded = modules_loaded_by(code, {"celery", "kombu", "billiard", "redis", "flowdesk"})
    assert [name for name in loaded if name.startswith(CELERY)] == []
    assert "flowdesk.engine.executor" in loaded  # the seam itself is the engine's
