"""The `flowdesk` command as a user runs it: a subprocess of this Python, on one database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path


def run_flowdesk(
    *args: str,
    db: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 60,
    **options: object,
) -> subprocess.CompletedProcess[str]:
    """`flowdesk ARGS` with FLOWDESK_DB set to `db` (when given) over `env` (this process's
    environment by default), without FLOWDESK_DEBUG: the messages a user sees."""
    environment = dict(os.environ if env is None else env)
    if db is not None:
        environment["FLOWDESK_DB"] = str(db)
    environment.pop("FLOWDESK_DEBUG", None)
    return subprocess.run(  # type: ignore[call-overload]
        [sys.executable, "-m", "flowdesk", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=environment,
        **options,
    )
