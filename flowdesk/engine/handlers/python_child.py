"""The child process of a `python` node: runs the user's `main(inputs, params)` once.

Standard library only, run by path with `python -I`, so it needs nothing of FlowDesk. It reads
{"code", "inputs", "params"} as JSON on stdin and writes one JSON answer on what was its
stdout: {"ok": true, "output": ...} or {"ok": false, "error": "<the exception's last line>"}.
Everything the code prints (stdout and stderr, and the traceback of a failure) goes to
stderr, which the parent keeps as the node's log.
"""

import json
import linecache
import os
import sys
import traceback

CODE_FILE = "<node code>"


def _answer(fd: int, answer: dict) -> None:
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(answer, allow_nan=False))


def _failure(exc: BaseException, skip_frames: int) -> dict:
    tb = exc.__traceback__
    for _ in range(skip_frames):
        tb = tb.tb_next if tb is not None else None
    sys.stderr.write("".join(traceback.format_exception(type(exc), exc, tb)))
    last = traceback.format_exception_only(type(exc), exc)[-1].strip()
    return {"ok": False, "error": last}


def main() -> None:
    answer_fd = os.dup(1)
    os.dup2(2, 1)  # the code's prints join its stderr: one log, in the order written
    request = json.loads(sys.stdin.buffer.read())
    code = request["code"]
    linecache.cache[CODE_FILE] = (len(code), None, code.splitlines(True), CODE_FILE)
    namespace = {"__name__": "__flowdesk_node__"}
    try:
        exec(compile(code, CODE_FILE, "exec"), namespace)
    except BaseException as exc:
        _answer(answer_fd, _failure(exc, 1))
        return
    entry = namespace.get("main")
    if not callable(entry):
        _answer(answer_fd, {"ok": False, "error": "the code does not define main(inputs, params)"})
        return
    try:
        output = entry(request["inputs"], request["params"])
    except BaseException as exc:
        _answer(answer_fd, _failure(exc, 1))
        return
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    try:
        text = json.dumps(output, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        error = f"main() returned a value that is not JSON-serializable: {exc}"
        _answer(answer_fd, {"ok": False, "error": error})
        return
    with os.fdopen(answer_fd, "w", encoding="utf-8") as out:
        out.write('{"ok": true, "output": ' + text + "}")


if __name__ == "__main__":
    main()
