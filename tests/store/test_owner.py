"""Telling at once whether the process that owns a run is alive (no heartbeat)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import replace

from storetools import dead_identity

from flowdesk.store import ProcessIdentity, owner
from flowdesk.store.owner import is_alive, start_token


def test_this_process_is_alive() -> None:
    me = ProcessIdentity.current()
    assert me.pid == os.getpid()
    assert is_alive(me)


def test_an_ended_process_is_dead() -> None:
    assert not is_alive(dead_identity())


def test_a_reused_pid_with_another_start_time_is_dead() -> None:
    me = ProcessIdentity.current()
    assert me.start_token is not None  # Linux: /proc is there
    impostor = replace(me, start_token=me.start_token + "0")
    assert not is_alive(impostor)


def test_a_zombie_counts_as_dead() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    token = None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # not reaped yet: /proc shows it as a zombie
        token = start_token(child.pid)
        if token is None:
            break
        time.sleep(0.02)
    assert token is None
    child.wait()


def test_a_process_on_another_host_is_assumed_alive() -> None:
    other = replace(dead_identity(), host="some-other-host")
    assert is_alive(other)


def test_without_proc_the_start_time_comes_from_ps(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(owner, "PROC", tmp_path / "no-proc")
    me = ProcessIdentity.current()
    assert me.start_token is not None and me.start_token.startswith("ps:")
    assert is_alive(me)
    assert not is_alive(dead_identity())
    assert not is_alive(replace(me, pid=me.pid + 1, start_token="ps:Thu Jan  1 00:00:00 1970"))


def test_when_ps_fails_the_owner_is_assumed_alive(monkeypatch, tmp_path) -> None:
    dead = dead_identity()
    monkeypatch.setattr(owner, "PROC", tmp_path / "no-proc")
    monkeypatch.setenv("PATH", str(tmp_path))  # no `ps` to run
    assert is_alive(replace(dead, start_token="ps:something"))
