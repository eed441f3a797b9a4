"""A node with map_over on Celery workers: every item is a task of its own (its own id, its own
retries), and the outputs come back in item order."""

from __future__ import annotations

import uuid

import pytest
import redis

from flowdesk.engine import NodeState, RunState
from flowdesk.model import workflow_from_data

from .helpers import run_in_service, task_state

pytestmark = pytest.mark.usefixtures("shared_worker")


def test_each_item_is_a_task_with_its_own_attempts(server, executor_for, redis_url, tmp_path):
    key = uuid.uuid4().hex
    definition = workflow_from_data(
        {
            "name": "map over celery",
            "dag": {
                "nodes": [
                    {"id": "ids", "handler": "transform", "config": {"value": [10, 20, 30]}},
                    {
                        "id": "each",
                        "handler": "call_external_service",
                        "dependencies": ["ids"],
                        "map_over": "{{ ids }}",
                        "retry": {"max_attempts": 2, "backoff_s": 0.05},
                        "config": {
                            "url": f"{server.url}/flaky/{key}-{{{{ item }}}}",
                            "query": {"failures": 1},
                        },
                    },
                ]
            },
        }
    )
    result, _ = run_in_service(definition, executor_for(), tmp_path / "runs.db")
    assert result.state is RunState.COMPLETED
    each = result.nodes["each"]
    assert [item.state for item in each.items] == [NodeState.SUCCEEDED] * 3
    assert [item.attempts for item in each.items] == [2, 2, 2]
    assert [out["body"]["key"] for out in each.output] == [f"{key}-{n}" for n in (10, 20, 30)]
    client = redis.Redis.from_url(redis_url)
    for index in range(3):
        assert task_state(client, f"{result.run_id}:each[{index}]:2") == "SUCCESS"
