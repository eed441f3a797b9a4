"""The run service every front-end calls: start, resume, cancel, list and load runs."""

from flowdesk.runs.queue import RunQueue
from flowdesk.runs.reuse import RunFromRefused, node_fingerprints, reusable_results
from flowdesk.runs.service import RunHandle, RunNotPendingError, RunService

__all__ = [
    "RunFromRefused",
    "RunHandle",
    "RunNotPendingError",
    "RunQueue",
    "RunService",
    "node_fingerprints",
    "reusable_results",
]
