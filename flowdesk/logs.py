"""How FlowDesk logs (the CLI, the editor, later the server): warnings and above on stderr, one line each, never HTTP chatter.

Libraries log at INFO freely (httpx logs every request as "HTTP Request: GET ..."); on a terminal
that buries the progress display, so the command sets its own logging up once, in `main`,
before anything else can (a later `logging.basicConfig` then changes nothing).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TextIO

QUIET_LIBRARIES = ("httpx", "httpcore", "aiohttp")
"""Loggers that stay at WARNING even when the root logger is turned up."""


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time, so a live display that redirects
    stderr (rich) prints log lines above itself, and test capture sees them."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        """StreamHandler sets it; the current sys.stderr always wins."""


class OneLineFormatter(logging.Formatter):
    """`flowdesk: warning: message` on one line; an exception adds `: Type: text` to it. With
    FLOWDESK_DEBUG=1 multi-line messages stay as written and tracebacks are shown."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"flowdesk: {record.levelname.lower()}: {record.getMessage()}"
        if os.environ.get("FLOWDESK_DEBUG"):
            if record.exc_info:
                line += "\n" + self.formatException(record.exc_info)
            return line
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            line += f": {type(error).__name__}: {error}"
        return " ".join(line.split()) if "\n" in line else line


def configure_logging() -> None:
    """Install the command's one handler on the root logger; calling it again changes nothing."""
    root = logging.getLogger()
    if not any(isinstance(handler, StderrHandler) for handler in root.handlers):
        handler = StderrHandler()
        handler.setFormatter(OneLineFormatter())
        root.addHandler(handler)
    root.setLevel(logging.WARNING)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
