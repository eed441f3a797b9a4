"""The command's own logging: warnings and above, one `flowdesk: warning: ...` line each, and none
of httpx's "HTTP Request: GET ..." lines on the terminal."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from flowdesk.cli import main
from flowdesk.logs import QUIET_LIBRARIES, configure_logging


@pytest.fixture(autouse=True)
def restore_logging():
    """main() configures the process's logging: put it back as it was for the next test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in QUIET_LIBRARIES}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, value in levels.items():
        logging.getLogger(name).setLevel(value)


def test_a_run_against_a_real_service_prints_no_http_request_lines(tmp_path, capfd, server):
    """Even with the root logger turned up to INFO on stderr (as the editor's start-up did with
    logging.basicConfig), httpx's request lines stay off the terminal."""
    chatty = logging.StreamHandler(sys.stderr)
    logging.getLogger().addHandler(chatty)
    logging.getLogger().setLevel(logging.INFO)
    path = tmp_path / "wf.json"
    nodes = [
        {"id": "input", "handler": "input"},
        {
            "id": "get_user",
            "handler": "call_external_service",
            "dependencies": ["input"],
            "config": {"url": f"{server.url}/users/1"},
        },
        {"id": "out", "handler": "output", "dependencies": ["get_user"]},
    ]
    path.write_text(json.dumps({"name": "one call", "dag": {"nodes": nodes}}))

    code = main(["run", str(path), "--db", str(tmp_path / "runs.db")])

    captured = capfd.readouterr()
    assert code == 0, captured.err
    assert "/users/1" in server.paths(), "the request really went out"
    assert "get_user" in captured.err and "SUCCEEDED" in captured.err, "progress is still shown"
    assert "HTTP Request" not in captured.err
    assert "HTTP Request" not in captured.out


def test_warnings_are_one_prefixed_line_each(capfd, monkeypatch) -> None:
    monkeypatch.delenv("FLOWDESK_DEBUG", raising=False)
    configure_logging()
    configure_logging()  # a second call must not print everything twice
    log = logging.getLogger("flowdesk.somewhere")
    log.info("not shown")
    log.warning("disk almost full:\n  %s", "/tmp")
    try:
        raise ValueError("bad thing")
    except ValueError:
        log.exception("handler 'x' of node 'y' raised")
    logging.getLogger("httpx").info("HTTP Request: GET http://x/ 200 OK")

    assert capfd.readouterr().err.splitlines() == [
        "flowdesk: warning: disk almost full: /tmp",
        "flowdesk: error: handler 'x' of node 'y' raised: ValueError: bad thing",
    ]


def test_flowdesk_debug_keeps_the_traceback(capfd, monkeypatch) -> None:
    monkeypatch.setenv("FLOWDESK_DEBUG", "1")
    configure_logging()
    try:
        raise ValueError("bad thing")
    except ValueError:
        logging.getLogger("flowdesk.x").exception("it broke")
    err = capfd.readouterr().err
    assert err.startswith("flowdesk: error: it broke\nTraceback (most recent call last):")
    assert "ValueError: bad thing" in err
