"""Which process owns a RUNNING run, and whether that process is still alive.

A pid alone is not enough (pids are reused), so a run records the owner's pid
and a start token: on Linux the boot id and the process start time from
/proc/<pid>/stat; on other POSIX systems the start time `ps` reports. A dead
owner is detected at once, without a heartbeat. When in doubt, the owner is
taken to be alive: wrongly calling a live run INTERRUPTED could run its nodes twice.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")


class UnknownLiveness(Exception):
    """The platform could not tell whether a process exists (a failing `ps`)."""


@dataclass(frozen=True)
class ProcessIdentity:
    pid: int
    start_token: str | None
    """When the process started; None where the platform offers no way to read it."""
    host: str

    @classmethod
    def current(cls) -> ProcessIdentity:
        pid = os.getpid()
        try:
            token = start_token(pid)
        except UnknownLiveness:
            token = None
        return cls(pid, token, socket.gethostname())


def start_token(pid: int) -> str | None:
    """The start token of a running process, None when no such process is running."""
    if PROC.is_dir():
        return _proc_start_token(pid)
    if sys.platform == "win32":  # pragma: no cover - not tested on Windows
        return None
    return _ps_start_token(pid)


def _proc_start_token(pid: int) -> str | None:
    """`<boot id>:<start time in clock ticks since boot>`."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    if len(fields) < 20 or fields[0] in ("Z", "X"):  # a zombie has already ended
        return None
    try:
        boot = (PROC / "sys" / "kernel" / "random" / "boot_id").read_text().strip()
    except OSError:
        boot = "?"
    return f"{boot}:{fields[19]}"


def _ps_start_token(pid: int) -> str | None:
    """POSIX without /proc (macOS, the BSDs): `ps -o lstart=`, to the second."""
    try:
        done = subprocess.run(
            ["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise UnknownLiveness(str(exc)) from None
    text = " ".join(done.stdout.split())
    if text:
        return f"ps:{text}"
    if done.returncode == 1:  # ps lists nothing and exits 1 for a pid that does not exist
        return None
    raise UnknownLiveness(done.stderr.strip() or f"ps exited {done.returncode}")


def is_alive(owner: ProcessIdentity, *, here: ProcessIdentity | None = None) -> bool:
    """False only when we can tell the owner has ended; another host's process counts as alive."""
    here = here or ProcessIdentity.current()
    if owner.host != here.host:
        return True
    if owner.pid == here.pid:
        return owner.start_token == here.start_token
    try:
        if owner.start_token is not None:
            return start_token(owner.pid) == owner.start_token
    except UnknownLiveness:
        return True
    return _pid_exists(owner.pid)


def _pid_exists(pid: int) -> bool:
    """Last resort, without a start time: a signal-0 probe (POSIX); Windows: assume alive."""
    if sys.platform == "win32":  # pragma: no cover - not tested on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
