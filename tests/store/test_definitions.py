"""Workflow definitions saved by name, and JSON import/export through flowdesk.model."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from storetools import chain

from flowdesk.model import WorkflowLoadError, load_workflow
from flowdesk.store import Store, UnknownDefinitionError

SEED = Path(__file__).resolve().parent.parent / "data" / "seed_example.json"


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "runs.db") as store:
        yield store


def test_save_load_list_delete(store) -> None:
    first = store.definitions.save(chain("alpha"))
    store.definitions.save(chain("beta", "x"))
    assert first.node_count == 4 and first.created_at == first.updated_at
    assert store.definitions.load("alpha") == chain("alpha")
    assert [d.name for d in store.definitions.list()] == ["beta", "alpha"]
    store.definitions.delete("beta")
    assert [d.name for d in store.definitions.list()] == ["alpha"]
    with pytest.raises(UnknownDefinitionError, match="no saved workflow named 'beta'"):
        store.definitions.load("beta")
    with pytest.raises(UnknownDefinitionError):
        store.definitions.delete("beta")


def test_saving_again_replaces_and_keeps_the_creation_time(store) -> None:
    first = store.definitions.save(chain("alpha"))
    time.sleep(0.01)
    second = store.definitions.save(chain("alpha", "a", "b", "c"))
    assert second.created_at == first.created_at < second.updated_at
    assert second.node_count == 5
    assert [n.id for n in store.definitions.load("alpha").nodes] == ["input", "a", "b", "c", "out"]
    assert len(store.definitions.list()) == 1


def test_import_and_export_keep_every_node_and_config(store, tmp_path) -> None:
    summary = store.definitions.import_file(SEED)
    assert summary.name == "Parallel API Fetcher"
    target = tmp_path / "exported.json"
    store.definitions.export_file(summary.name, target)
    assert load_workflow(target) == load_workflow(SEED)
    assert json.loads(target.read_text())["dag"] == json.loads(SEED.read_text())["dag"]


def test_importing_a_bad_file_saves_nothing(store, tmp_path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{ nope")
    with pytest.raises(WorkflowLoadError, match="line 1"):
        store.definitions.import_file(bad)
    assert store.definitions.list() == []
