"""REUSED nodes over HTTP: a run from here made by another front-end shows each reused node's
state and source, its outputs count as results, and /openapi.json documents both."""

from __future__ import annotations

import asyncio

from flowdesk.model import workflow_from_data
from flowdesk.runs import RunService

from .helpers import echo


def test_a_run_from_here_shows_its_reused_nodes(client, db, registry) -> None:
    definition = workflow_from_data(echo("iterated"))
    with RunService(registry, db) as editor:  # the editor or the CLI, on the same database
        first = editor.start(definition, {"x": 5})
        asyncio.run(first.execute())  # type: ignore[union-attr]
        again = editor.start_from(definition, "output")
        asyncio.run(again.execute())

    body = client.get(f"/workflows/{again.run_id}").json()
    assert body["status"] == "COMPLETED"
    reused = body["nodes"]["t"]
    assert (reused["status"], reused["reused_from"], reused["cached"]) == (
        "REUSED",
        first.run_id,  # type: ignore[union-attr]
        False,
    )
    assert body["nodes"]["output"]["status"] == "SUCCEEDED"
    assert body["nodes"]["output"]["reused_from"] is None
    results = client.get(f"/workflows/{again.run_id}/results").json()
    assert results["outputs"]["t"] == 5, "a reused node's output is an output"
    assert results["results"] == {"output": {"t": 5}}


def test_openapi_documents_reused(client) -> None:
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    assert "REUSED" in components["NodeState"]["enum"]
    assert {"reused_from", "cached"} <= set(components["NodeStatus"]["properties"])
