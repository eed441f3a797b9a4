"""Secrets in the editor: Edit > Secrets… sets, replaces and deletes keyring values without ever
showing one, Problems warns about a secret that is not set, and a run that uses secrets shows
none in the inspector, the run log or the history, nor writes one to the saved and exported
files or to the database and its WAL, while the demo service saw them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from keyrings.alt.file import PlaintextKeyring
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QLabel, QLineEdit, QTableWidget, QTreeWidget, QTreeWidgetItem

from flowdesk.engine import HandlerRegistry
from flowdesk.engine.states import RunState
from flowdesk.model.secret_refs import not_set_message
from flowdesk.runs import RunService
from flowdesk.secrets import SERVICE, SecretStore

from .helpers import select
from .test_runs import finish

KEYRING_VALUE = "kR7qZx key/+ 1"
ENV_VALUE = "eN4wYv env&= 2"
MARKS = ("kr7qzx", "en4wyv")


def leaks(text: str) -> list[str]:
    return [mark for mark in MARKS if mark in text.lower()]


@pytest.fixture
def keyring(tmp_path) -> PlaintextKeyring:
    """The keyrings.alt file backend, in a file of this test's."""
    backend = PlaintextKeyring()
    backend.file_path = str(tmp_path / "keyring" / "keyring_pass.cfg")
    return backend


@pytest.fixture
def window(qtbot, dialogs, tmp_path, private_store, keyring, monkeypatch):
    from flowdesk.gui.main_window import MainWindow

    monkeypatch.setenv("FLOWDESK_SECRET_ENV_TOKEN", ENV_VALUE)
    registry = HandlerRegistry.default()
    service = RunService(registry, private_store, secrets=SecretStore(backend=keyring))
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    win = MainWindow(registry=registry, dialogs=dialogs, settings=settings, service=service)
    qtbot.addWidget(win, before_close_func=lambda w: w.document.undo_stack.setClean())
    win.show()
    yield win
    service.close()


def texts(widget) -> str:
    """Every text a widget and its children show."""
    found: list[str] = []
    for child in [widget, *widget.findChildren(object)]:
        if isinstance(child, QLabel):
            found.append(child.text() + child.toolTip())
        elif isinstance(child, QLineEdit):
            found.append(child.text())
        elif isinstance(child, QTableWidget):
            found += [
                child.item(r, c).text()
                for r in range(child.rowCount())
                for c in range(child.columnCount())
                if child.item(r, c)
            ]
        elif isinstance(child, QTreeWidget):
            stack: list[QTreeWidgetItem] = [
                child.topLevelItem(i) for i in range(child.topLevelItemCount())
            ]
            while stack:
                item = stack.pop()
                found += [item.text(0), item.text(1)]
                stack += [item.child(i) for i in range(item.childCount())]
        elif hasattr(child, "toPlainText"):
            found.append(child.toPlainText())
    return "\n".join(found)


def test_the_secrets_dialog_sets_replaces_and_deletes_without_showing_values(
    window, keyring, tmp_path
) -> None:
    path = tmp_path / "uses.json"
    node = {"id": "t", "handler": "transform", "config": {"value": "{{ secrets.KEY_TOKEN }}"}}
    path.write_text(json.dumps({"name": "uses", "dag": {"nodes": [node]}}))
    window.open_file(path, ask=False)
    assert [p.message for p in window.validator.problems] == [not_set_message("KEY_TOKEN")]

    dialog = window.open_secrets()
    assert dialog.value.echoMode() is QLineEdit.EchoMode.Password
    assert texts(dialog.table).split("\n") == ["ENV_TOKEN", "environment"]
    dialog.name.setText("KEY_TOKEN")
    dialog.value.setText("first value")
    dialog.set_button.click()
    dialog.table.selectRow(1)
    dialog.value.setText(KEYRING_VALUE)
    dialog.set_button.click()  # replaces it
    assert keyring.get_password(SERVICE, "KEY_TOKEN") == KEYRING_VALUE
    assert texts(dialog.table).split("\n") == ["ENV_TOKEN", "environment", "KEY_TOKEN", "keyring"]
    assert dialog.value.text() == "" and leaks(texts(dialog)) == []
    assert window.validator.problems == []  # Problems looked again

    dialog.table.selectRow(1)
    dialog.delete_button.click()
    assert keyring.get_password(SERVICE, "KEY_TOKEN") is None
    assert texts(dialog.table).split("\n") == ["ENV_TOKEN", "environment"]
    dialog.table.selectRow(0)
    dialog.delete_button.click()  # the environment's cannot be deleted here: it says so
    assert "FLOWDESK_SECRET_ENV_TOKEN" in dialog.status.text()
    assert leaks(texts(dialog)) == []
    assert [p.warning for p in window.validator.problems] == [True]


def test_a_run_with_secrets_shows_and_writes_no_value(
    window, keyring, loop, server, tmp_path, private_store
) -> None:
    window.service.secrets.set("KEY_TOKEN", KEYRING_VALUE)
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
            "config": {"url": f"{server.url}/flaky/gui", "query": {"failures": 1, "k": key}},
        },
        {"id": "broken", **call, "config": {"url": f"{server.url}/nowhere/{from_env}"}},
    ]
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"name": "gui secrets", "dag": {"nodes": nodes}}))
    window.open_file(path, ask=False)
    assert window.runs.run() is not None
    result = finish(window, loop)
    assert result.state is RunState.FAILED
    assert result.nodes["flaky"].attempts == 2

    shown = [texts(window.runs.panel)]
    for node_id in ("echo", "flaky", "broken"):
        select(window, node_id)
        shown.append(texts(window.runs.panel.inspector))
    assert window.runs.panel.inspector.output.topLevelItemCount() == 0  # broken: no output
    select(window, "echo")
    inspector = window.runs.panel.inspector
    assert inspector.output.text_of("body", "headers", "authorization") == "Bearer ***"
    assert inspector.config.text_of("headers", "Authorization") == "Bearer ***"
    assert "attempt 1 failed, retrying" in window.runs.panel.log.toPlainText()
    assert "Bearer ***" in shown[1] and "/nowhere/***" in shown[3]  # what is searched
    assert leaks("\n".join(shown)) == []

    echo = next(r for r in server.requests if r.path.startswith("/echo/"))
    assert echo.headers["authorization"] == f"Bearer {KEYRING_VALUE}"
    assert echo.query == {"env": [ENV_VALUE]}

    saved, exported = tmp_path / "saved.json", tmp_path / "exported.json"
    window.dialogs.save_paths += [str(saved), str(exported)]
    assert window.save_as() and window.export_dialog()
    database = [Path(f"{private_store}{suffix}") for suffix in ("", "-wal")]
    assert all(file.stat().st_size > 0 for file in database)  # the WAL is live: the store is open
    raw = {file: file.read_bytes().decode("latin-1") for file in [saved, exported, *database]}
    assert "Bearer ***" in raw[database[0]] + raw[database[1]]  # the run is in there
    for file, text in raw.items():
        assert leaks(text) == [], file
