"""The API is a front-end: the engine, the store, the run service and the command line's start
know nothing of HTTP serving."""

from __future__ import annotations

from conftest import modules_loaded_by

SERVING = {"fastapi", "starlette", "uvicorn"}


def test_below_the_api_nothing_imports_http_serving() -> None:
    code = (
        "import flowdesk.engine, flowdesk.store, flowdesk.runs, flowdesk.model\n"
        "from flowdesk.cli import build_parser; build_parser()  # every command registered"
    )
    assert modules_loaded_by(code, SERVING) == []


def test_the_api_imports_it() -> None:
    assert "fastapi" in modules_loaded_by("import flowdesk.api", SERVING)
