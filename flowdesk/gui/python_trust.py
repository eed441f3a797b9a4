"""Asking once before a workflow's Python code first runs on this computer.

A workflow file can hold `python` nodes, whose code runs with the user's rights. Before the
editor runs code it has not run before, it asks; an accepted content is remembered (its hash
in QSettings), so the same file is never asked about again. The CLI never asks: whoever
typed `flowdesk run` chose to run it.
"""

from __future__ import annotations

import hashlib
import json

from PySide6.QtCore import QSettings

from flowdesk.model import WorkflowDefinition

PYTHON_HANDLER = "python"
QUESTION = (
    "This workflow runs Python code on your computer ({nodes}). Run it only if you trust "
    "where the workflow came from. Run it?"
)
KEY_PREFIX = "trustedPython/"


def python_code_hash(definition: WorkflowDefinition) -> str | None:
    """A hash of the workflow's Python nodes (ids and configs), or None when it has none."""
    nodes = sorted(
        (node.id, node.config) for node in definition.nodes if node.handler == PYTHON_HANDLER
    )
    if not nodes:
        return None
    text = json.dumps(nodes, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def python_node_ids(definition: WorkflowDefinition) -> list[str]:
    return [node.id for node in definition.nodes if node.handler == PYTHON_HANDLER]


class PythonTrust:
    """Which Python contents the user agreed to run, kept in `settings`."""

    def __init__(self, settings: QSettings) -> None:
        self.settings = settings

    def is_trusted(self, definition: WorkflowDefinition) -> bool:
        digest = python_code_hash(definition)
        return digest is None or bool(self.settings.value(KEY_PREFIX + digest, False, bool))

    def trust(self, definition: WorkflowDefinition) -> None:
        digest = python_code_hash(definition)
        if digest is not None:
            self.settings.setValue(KEY_PREFIX + digest, True)

    @staticmethod
    def question(definition: WorkflowDefinition) -> str:
        ids = python_node_ids(definition)
        shown = ", ".join(ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
        return QUESTION.format(nodes=f"node{'s' if len(ids) > 1 else ''} {shown}")
