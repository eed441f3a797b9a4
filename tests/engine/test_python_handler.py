"""The `python` handler in real child processes: prints to the log, exceptions, non-JSON
outputs, and a timeout or a cancelled run killing the process (and what it started)."""

from __future__ import annotations

import asyncio
import os
import textwrap
from pathlib import Path

from conftest import workflow

from flowdesk.engine import HandlerRegistry, WorkflowRun
from flowdesk.engine.scheduler import run_workflow
from flowdesk.engine.states import NodeState, RunState
from flowdesk.model.secret_refs import ResolvedSecrets
from flowdesk.runs import RunService

INPUT = {"id": "input", "handler": "input"}

# The code writes its own pid and that of a grandchild to params.pid_file, then waits forever.
STUCK = textwrap.dedent(
    """
    import os, subprocess, sys, time

    def main(inputs, params):
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        with open(params["pid_file"] + ".tmp", "w") as out:
            out.write(f"{os.getpid()} {child.pid}")
        os.replace(params["pid_file"] + ".tmp", params["pid_file"])
        print("waiting", flush=True)
        time.sleep(600)
    """
)


def python_node(code: str, **fields) -> dict:
    return {
        "id": "py",
        "handler": "python",
        "dependencies": ["input"],
        "config": {"code": textwrap.dedent(code)},
        **fields,
    }


def run_python(code: str, params: dict | None = None, **fields):
    definition = workflow(INPUT, python_node(code, **fields))
    return asyncio.run(run_workflow(definition, params or {})).nodes["py"]


def alive(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie waiting for its parent is not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


async def wait_for_file(path: Path) -> list[int]:
    async with asyncio.timeout(30):
        while not path.exists():
            await asyncio.sleep(0.02)
    return [int(pid) for pid in path.read_text().split()]


async def wait_dead(pids: list[int]) -> list[int]:
    """The pids still alive after a generous grace (an orphan is reaped by init)."""
    async with asyncio.timeout(10):
        while any(alive(pid) for pid in pids):
            await asyncio.sleep(0.02)
    return [pid for pid in pids if alive(pid)]


def test_main_gets_inputs_and_params_and_prints_go_to_the_log() -> None:
    node = run_python(
        """
        import sys

        def main(inputs, params):
            print("hello", inputs["input"]["n"])
            print("to stderr", file=sys.stderr)
            return {"double": params["n"] * 2, "os_pid_differs": __import__("os").getpid()}
        """,
        {"n": 21},
    )
    assert node.state is NodeState.SUCCEEDED, node.error
    assert node.output["double"] == 42
    assert node.output["os_pid_differs"] != os.getpid()  # it ran in another process
    assert node.log == "hello 21\nto stderr\n"


def test_an_exception_fails_the_node_with_its_last_line_and_the_traceback_in_the_log() -> None:
    node = run_python(
        """
        def helper(value):
            raise ValueError(f"bad value {value}")

        def main(inputs, params):
            print("before")
            helper(3)
        """
    )
    assert node.state is NodeState.FAILED
    assert node.error == "ValueError: bad value 3"
    assert node.log.startswith("before\nTraceback (most recent call last):\n")
    assert 'line 3, in helper\n    raise ValueError(f"bad value {value}")' in node.log
    assert "python_child" not in node.log  # only the user's frames
    assert node.log.endswith("ValueError: bad value 3\n")


def test_a_syntax_error_and_a_missing_main_fail_the_node() -> None:
    node = run_python("def main(inputs, params)\n    return 1\n")
    assert node.state is NodeState.FAILED
    assert node.error.startswith("SyntaxError")
    assert "line 1" in node.log
    node = run_python("x = 1\n")
    assert node.error == "the code does not define main(inputs, params)"


def test_an_output_that_is_not_json_fails_the_node() -> None:
    node = run_python("def main(inputs, params):\n    return {1, 2}\n")
    assert node.state is NodeState.FAILED
    assert node.error.startswith("main() returned a value that is not JSON-serializable")
    assert "set" in node.error
    node = run_python("def main(inputs, params):\n    return float('nan')\n")
    assert node.state is NodeState.FAILED
    assert "not JSON-serializable" in node.error


def test_a_timeout_kills_the_process_and_what_it_started(tmp_path) -> None:
    pid_file = tmp_path / "pids"
    definition = workflow(INPUT, python_node(STUCK, timeout_s=3))

    async def scenario() -> tuple:
        run = WorkflowRun(definition, HandlerRegistry.default(), {"pid_file": str(pid_file)})
        task = asyncio.ensure_future(run.execute())
        pids = await wait_for_file(pid_file)
        assert all(alive(pid) for pid in pids)
        result = await task
        return result, pids, await wait_dead(pids)

    result, _pids, left = asyncio.run(scenario())
    node = result.nodes["py"]
    assert node.state is NodeState.FAILED
    assert node.error == "timed out after 3 s"
    assert left == [], f"still alive: {left}"
    assert node.log == "waiting\n"


def test_cancelling_the_run_kills_the_process(tmp_path) -> None:
    pid_file = tmp_path / "pids"
    definition = workflow(INPUT, python_node(STUCK))

    async def scenario() -> tuple:
        run = WorkflowRun(definition, HandlerRegistry.default(), {"pid_file": str(pid_file)})
        task = asyncio.ensure_future(run.execute())
        pids = await wait_for_file(pid_file)
        run.cancel()
        result = await task
        return result, pids, await wait_dead(pids)

    result, _pids, left = asyncio.run(scenario())
    assert result.state is RunState.CANCELLED
    assert result.nodes["py"].state is NodeState.CANCELLED
    assert left == [], f"still alive: {left}"


def test_secrets_are_masked_in_the_log() -> None:
    definition = workflow(
        INPUT,
        python_node(
            """
            def main(inputs, params):
                print("the token is", params["token"])
                raise RuntimeError("rejected " + params["token"])
            """,
        ),
        {
            "id": "uses",
            "handler": "transform",
            "dependencies": ["input"],
            "config": {"value": "{{ secrets.TOKEN }}"},
        },
    )
    run = WorkflowRun(
        definition,
        HandlerRegistry.default(),
        {"token": "hunter22"},
        secrets=ResolvedSecrets({"TOKEN": "hunter22"}),
    )
    node = asyncio.run(run.execute()).nodes["py"]
    assert node.state is NodeState.FAILED
    assert "hunter22" not in node.log and "hunter22" not in node.error
    assert "the token is ***" in node.log


def test_the_log_is_kept_with_the_stored_node_run(tmp_path, registry) -> None:
    definition = workflow(INPUT, python_node("def main(i, p):\n    print('kept')\n    return 1\n"))
    with RunService(registry, tmp_path / "runs.db") as service:
        handle = service.start(definition, {})
        asyncio.run(handle.execute())
        run_id = handle.run_id
    with RunService(registry, tmp_path / "runs.db") as service:
        stored = service.load(run_id)
        assert stored.result.nodes["py"].log == "kept\n"
        assert stored.result.nodes["input"].log is None


def test_a_version_3_file_gets_the_log_column(tmp_path) -> None:
    import sqlite3
    from contextlib import closing

    from flowdesk.store import Store
    from flowdesk.store.tables import SCHEMA_VERSION

    path = tmp_path / "v3.db"
    with Store.open(path):
        pass
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("ALTER TABLE node_runs DROP COLUMN log")
        connection.execute("PRAGMA user_version = 3")
        connection.commit()
    with Store.open(path):
        pass
    with closing(sqlite3.connect(path)) as connection:
        columns = {row[1] for row in connection.execute("PRAGMA table_info(node_runs)")}
        assert "log" in columns
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
