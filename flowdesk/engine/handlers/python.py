"""`python`: the user's `main(inputs, params)` run in a child process of its own.

One process per call, at most `RunResources.process_slots` of a run at once: the code cannot
stall the event loop (the editor's), shares no state between calls, and is killed (with
anything it started) when its node times out or the run is cancelled. Its prints and its
traceback go to the node's log; an exception fails the node with its last line.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from flowdesk.engine.context import HandlerError, NodeContext
from flowdesk.engine.registry import handler
from flowdesk.model.loading import read_json

CHILD = Path(__file__).with_name("python_child.py")
DEFAULT_CODE = "def main(inputs, params):\n    return {}\n"
READ_CHUNK = 64 * 1024


class PythonConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", title="python")

    code: str = Field(
        default=DEFAULT_CODE,
        description="Python source defining main(inputs, params), which returns a JSON value. "
        "inputs: the direct dependencies' outputs by node id; what it prints goes to the log.",
        json_schema_extra={"format": "python"},
    )


@handler("python", PythonConfig, category="Data")
async def run_python(config: PythonConfig, context: NodeContext) -> Any:
    """Runs main(inputs, params) in a separate process; outputs what it returns."""
    request = json.dumps(
        {"code": config.code, "inputs": context.inputs, "params": dict(context.params)}
    )
    async with context.resources.process_slots:
        answer = await run_child(request.encode("utf-8"), context.write_log)
    if not answer.get("ok"):
        raise HandlerError(str(answer.get("error") or "the code failed"))
    return answer.get("output")


async def run_child(request: bytes, write_log: Any) -> dict[str, Any]:
    """Start the child, give it `request`, stream its log to `write_log`, and return its
    answer. Cancelling this (a timeout, a cancelled run) kills the child's whole process group
    before the cancellation goes on."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-I",
        "-u",
        str(CHILD),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=os.name == "posix",
    )
    try:
        assert process.stdin and process.stdout and process.stderr
        log_reader = asyncio.ensure_future(_stream_log(process.stderr, write_log))
        try:
            process.stdin.write(request)
            await process.stdin.drain()
            process.stdin.close()
            answer_bytes = await process.stdout.read()
            await log_reader
        finally:
            log_reader.cancel()
        code = await process.wait()
    except BaseException:
        _kill(process)
        await process.wait()
        raise
    return _parse_answer(answer_bytes, code)


async def _stream_log(stream: asyncio.StreamReader, write_log: Any) -> None:
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    while chunk := await stream.read(READ_CHUNK):
        write_log(decoder.decode(chunk))
    write_log(decoder.decode(b"", final=True))


def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    try:
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGKILL)  # its own session: whatever it started too
        else:  # pragma: no cover - Windows
            process.kill()
    except ProcessLookupError:
        pass


def _parse_answer(data: bytes, exit_code: int) -> dict[str, Any]:
    if not data:
        how = f"signal {-exit_code}" if exit_code < 0 else f"exit code {exit_code}"
        raise HandlerError(f"the Python process ended without an answer ({how})")
    try:
        answer = read_json(data.decode("utf-8"))
    except ValueError as exc:
        raise HandlerError(f"the Python process answered unreadably: {exc}") from None
    if not isinstance(answer, dict):
        raise HandlerError("the Python process answered unreadably")
    return answer
