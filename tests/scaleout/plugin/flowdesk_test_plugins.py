"""Handlers for the scale-out tests and benchmarks, installed as a plugin (the dist-info folder
beside this file publishes them through the `flowdesk.handlers` entry point) by putting this
folder on the PYTHONPATH of the workers and of the orchestrating process."""

from __future__ import annotations

import asyncio
import os
import time

from pydantic import BaseModel, Field

from flowdesk.engine import handler


class BurnConfig(BaseModel):
    ms: float = Field(50, ge=0, le=60_000, description="Milliseconds of CPU to burn.")


class NapConfig(BaseModel):
    seconds: float = Field(ge=0, le=3600)


@handler("burn_cpu", BurnConfig, category="Test")
async def burn_cpu(config: BurnConfig, context) -> dict:
    """Keeps a CPU busy for `ms` milliseconds of its own time (pure Python, holding the GIL)."""
    deadline = time.thread_time() + config.ms / 1000
    spins = 0
    while time.thread_time() < deadline:
        spins += 1
    return {"spins": spins, "worker_pid": os.getppid()}


@handler("nap", NapConfig, category="Test")
async def nap(config: NapConfig, context) -> dict:
    """Sleeps, then says which worker (its parent process) ran it; notes each start in the file
    $FLOWDESK_TEST_STARTS names, if set."""
    log = os.environ.get("FLOWDESK_TEST_STARTS")
    if log:
        with open(log, "a", encoding="utf-8") as starts:
            starts.write(f"{context.run_id}:{context.node_id}:{context.attempt} {os.getppid()}\n")
    await asyncio.sleep(config.seconds)
    return {"worker_pid": os.getppid()}
