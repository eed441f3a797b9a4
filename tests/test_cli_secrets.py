"""Secrets as a user keeps them: `flowdesk secrets set|list|delete` (the keyrings.alt file
backend stands in for the system keyring) and the environment; a run uses them in a header,
a query and a URL path of the demo service, with a retried and a failing node, and no value
reaches its output, the database file or its WAL, while the service saw every one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

KEYRING_VALUE = "kR7qZx key/+ 1"
ENV_VALUE = "eN4wYv env&= 2"
MARKS = ("kr7qzx", "en4wyv")
"""The start of each value, unchanged in any encoding: found (any case) only if a value leaked."""
PLAIN_FILE = "keyrings.alt.file.PlaintextKeyring"
NO_KEYRING = "keyring.backends.fail.Keyring"


@pytest.fixture
def env(tmp_path) -> dict[str, str]:
    """A user of their own: database, keyring file and environment secrets in tmp_path."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FLOWDESK_SECRET_")}
    return {
        **clean,
        "FLOWDESK_DB": str(tmp_path / "db" / "flowdesk.db"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "PYTHON_KEYRING_BACKEND": PLAIN_FILE,
    }


def flowdesk(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flowdesk", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        input=stdin,
    )


def leaks(text: str) -> list[str]:
    return [mark for mark in MARKS if mark in text.lower()]


def write_workflow(tmp_path: Path, server) -> Path:
    key, from_env = "{{ secrets.KEY_TOKEN }}", "{{ secrets.ENV_TOKEN }}"
    call = {"handler": "call_external_service", "dependencies": ["input"]}
    nodes = [
        {"id": "input", "handler": "input"},
        {
            "id": "echo",
            **call,
            "config": {
                "url": f"{server.url}/echo/{key}",
                "headers": {"Authorization": f"Bearer {key}"},
                "query": {"env": from_env},
            },
        },
        {
            "id": "flaky",
            **call,
            "retry": {"max_attempts": 2, "backoff_s": 0},
            "config": {
                "url": server.url + "/flaky/{{ params.attempt }}",
                "query": {"failures": 1, "k": from_env},
            },
        },
        {"id": "broken", **call, "config": {"url": f"{server.url}/nowhere/{key}"}},
        {"id": "output", "handler": "output", "dependencies": ["echo", "flaky"]},
    ]
    path = tmp_path / "wf.json"
    path.write_text(json.dumps({"name": "secrets e2e", "dag": {"nodes": nodes}}))
    return path


def test_no_secret_value_is_written_anywhere(tmp_path, server, env) -> None:
    env["FLOWDESK_SECRET_ENV_TOKEN"] = ENV_VALUE
    stored = flowdesk(env, "secrets", "set", "KEY_TOKEN", stdin=KEYRING_VALUE + "\n")
    assert stored.returncode == 0, stored.stderr
    listed = flowdesk(env, "secrets", "list")
    assert listed.stdout.splitlines() == ["ENV_TOKEN  environment", "KEY_TOKEN  keyring"]
    path = write_workflow(tmp_path, server)
    validated = flowdesk(env, "validate", str(path))
    assert validated.returncode == 0 and "warning" not in validated.stderr, validated.stderr

    as_json = flowdesk(env, "run", str(path), "--json", "--params", '{"attempt": "first"}')
    assert as_json.returncode == 1, as_json.stderr  # `broken` fails
    report = json.loads(as_json.stdout)
    nodes = report["nodes"]
    assert [nodes[n]["status"] for n in ("echo", "flaky", "broken", "output")] == [
        "SUCCEEDED",
        "SUCCEEDED",
        "FAILED",
        "SUCCEEDED",
    ]
    assert nodes["flaky"]["attempts"] == 2
    body = nodes["echo"]["output"]["body"]
    assert body["headers"]["authorization"] == "Bearer ***"
    assert body["query"] == {"env": ["***"]} and body["path"] == "/echo/***"
    assert "/nowhere/***" in nodes["broken"]["error"]
    live = flowdesk(env, "run", str(path), "--params", '{"attempt": "second"}')  # live display
    assert "RETRYING" in live.stderr and "/nowhere/***" in live.stderr
    shown = flowdesk(env, "runs", "show", report["run_id"], "--json")
    assert json.loads(shown.stdout)["nodes"]["echo"]["output"]["body"]["path"] == "/echo/***"
    shown_text = flowdesk(env, "runs", "show", report["run_id"])

    seen = [r for r in server.requests if r.path.startswith("/echo/")]
    assert len(seen) == 2 and seen[0].headers["authorization"] == f"Bearer {KEYRING_VALUE}"
    assert seen[0].query == {"env": [ENV_VALUE]}
    assert leaks(seen[0].path) == ["kr7qzx"]  # the path carried it (percent-encoded)
    flaky = [r.query["k"] for r in server.requests if r.path.startswith("/flaky/")]
    assert flaky == [[ENV_VALUE]] * 4

    outputs = [stored, listed, validated, as_json, live, shown, shown_text]
    for result in outputs:
        assert leaks(result.stdout + result.stderr) == [], result.args
    files = [path, *Path(env["FLOWDESK_DB"]).parent.iterdir()]
    raw = {file: file.read_bytes().decode("latin-1") for file in files}
    assert "Bearer ***" in "".join(raw.values())  # the runs are in what is searched
    for file, text in raw.items():
        assert leaks(text) == [], file
    for value in (KEYRING_VALUE, ENV_VALUE):  # and no encoded form whole either
        for form in {value, quote(value, safe=""), quote_plus(value), json.dumps(value)}:
            assert all(form not in r.stdout + r.stderr for r in outputs)


def test_missing_secrets_warn_then_fail_the_node_and_values_never_come_from_arguments(
    tmp_path, server, env
) -> None:
    env["PYTHON_KEYRING_BACKEND"] = NO_KEYRING  # a machine without a keyring
    env["FLOWDESK_SECRET_SET_HERE"] = ENV_VALUE
    nodes = [
        {
            "id": "uses_set",
            "handler": "transform",
            "config": {"value": "{{ secrets.SET_HERE | length }}"},
        },
        {"id": "uses_missing", "handler": "transform", "config": {"value": "{{ secrets.GONE }}"}},
    ]
    path = tmp_path / "missing.json"
    path.write_text(json.dumps({"name": "missing", "dag": {"nodes": nodes}}))
    message = "secret GONE is not set (flowdesk secrets set GONE, or FLOWDESK_SECRET_GONE)"

    validated = flowdesk(env, "validate", str(path))
    assert validated.returncode == 0
    assert validated.stderr.splitlines() == [
        f"{path}: warning: node 'uses_missing', config.value: {message} [secret-not-set]"
    ]
    ran = flowdesk(env, "run", str(path), "--json")
    assert ran.returncode == 1
    report = json.loads(ran.stdout)["nodes"]
    assert report["uses_set"]["output"] == len(ENV_VALUE)
    assert report["uses_missing"]["status"] == "FAILED"
    assert message in report["uses_missing"]["error"]

    refused = flowdesk(env, "secrets", "set", "GONE", "the-value")
    assert refused.returncode == 2 and "unrecognized arguments" in refused.stderr
    no_keyring = flowdesk(env, "secrets", "set", "GONE", stdin="v\n")
    assert no_keyring.returncode == 2
    assert no_keyring.stderr.strip() == (
        "flowdesk: no usable keyring on this machine: set FLOWDESK_SECRET_GONE in the "
        "environment instead"
    )
    listed = flowdesk(env, "secrets", "list", "--json")
    assert json.loads(listed.stdout) == [{"name": "SET_HERE", "source": "environment"}]


def test_a_plaintext_file_keyring_is_used_only_when_chosen_by_name(tmp_path) -> None:
    """keyrings.alt (a dev dependency) would become the default keyring on a machine without
    one: FlowDesk then keeps no secret in a plain file unless the user named that backend."""
    from keyring.backends import fail

    import flowdesk.secrets as secrets

    plain = __import__("keyrings.alt.file", fromlist=["PlaintextKeyring"]).PlaintextKeyring()
    assert secrets._plaintext_by_default(plain, {})
    assert not secrets._plaintext_by_default(plain, {"PYTHON_KEYRING_BACKEND": PLAIN_FILE})
    assert not secrets._plaintext_by_default(fail.Keyring(), {})
