"""Helpers shared by the store tests: a dead process's identity, small workflows."""

from __future__ import annotations

import socket
import subprocess
import sys

from flowdesk.model import WorkflowDefinition, workflow_from_data
from flowdesk.store import ProcessIdentity
from flowdesk.store.owner import start_token


def dead_identity() -> ProcessIdentity:
    """The identity a process had while it lived (its start token read before it ended)."""
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    token = start_token(child.pid)
    child.communicate(b"")
    return ProcessIdentity(child.pid, token, socket.gethostname())


def chain(name: str = "chain", *ids: str) -> WorkflowDefinition:
    """input -> transform nodes in a line -> output."""
    ids = ids or ("a", "b")
    nodes = [{"id": "input", "handler": "input"}]
    previous = "input"
    for node_id in ids:
        nodes.append(
            {
                "id": node_id,
                "handler": "transform",
                "dependencies": [previous],
                "config": {"value": {"from": previous, "n": "{{ params.n | default(0) }}"}},
            }
        )
        previous = node_id
    nodes.append({"id": "out", "handler": "output", "dependencies": [previous]})
    return workflow_from_data({"name": name, "dag": {"nodes": nodes}})
