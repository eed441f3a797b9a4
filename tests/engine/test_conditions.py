"""Conditions (`when`) and join rules (`trigger_rule`): every rule against every combination of
its dependencies' outcomes, the if/else join, a skipped upstream as `none`, and run status."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from conftest import workflow

from flowdesk.engine.events import NodeFinished, NodeStarted
from flowdesk.engine.scheduler import WorkflowRun
from flowdesk.engine.states import NodeState, RunState
from flowdesk.engine.trigger_rules import CONDITION_FALSE
from flowdesk.model import TRIGGER_RULES

# One dependency per outcome: S succeeds, F fails (a missing param), K is skipped by its `when`.
OUTCOME_NODES = {
    "S": {"handler": "transform", "config": {"value": 1}},
    "F": {"handler": "transform", "config": {"value": "{{ params.missing }}"}},
    "K": {"handler": "transform", "config": {"value": 1}, "when": "{{ false }}"},
}
OUTCOME_STATES = {"S": NodeState.SUCCEEDED, "F": NodeState.FAILED, "K": NodeState.SKIPPED}
COMBINATIONS = ["".join(c) for n in (1, 2) for c in itertools.product("SFK", repeat=n)]

# The table: for each rule, the combinations of dependency outcomes under which the join runs.
RUNS_WHEN = {
    "all_success": {"S", "SS"},
    "all_done": set(COMBINATIONS),
    "one_success": {"S", "SS", "SF", "FS", "SK", "KS"},
    "none_failed": {"S", "K", "SS", "SK", "KS", "KK"},
    "none_failed_min_one_success": {"S", "SS", "SK", "KS"},
}


def run(definition, params=None):
    events: list = []
    run = WorkflowRun(definition, params=params)
    run.subscribe(events.append)
    return asyncio.run(run.execute()), events


def join_case(rule: str | None, combination: str):
    deps = [{"id": f"d{i}", **OUTCOME_NODES[outcome]} for i, outcome in enumerate(combination)]
    join = {"id": "join", "handler": "transform", "dependencies": [d["id"] for d in deps]}
    join["config"] = {"value": "ran"}
    if rule is not None:
        join["trigger_rule"] = rule
    return workflow(*deps, join)


def test_the_table_covers_every_rule() -> None:
    assert set(RUNS_WHEN) == set(TRIGGER_RULES)


@pytest.mark.parametrize("combination", COMBINATIONS)
@pytest.mark.parametrize("rule", [*TRIGGER_RULES, None])
def test_trigger_rule_against_dependency_outcomes(rule: str | None, combination: str) -> None:
    result, _ = run(join_case(rule, combination))
    for i, outcome in enumerate(combination):
        assert result.nodes[f"d{i}"].state is OUTCOME_STATES[outcome]
    join = result.nodes["join"]
    if combination in RUNS_WHEN[rule or "all_success"]:
        assert join.state is NodeState.SUCCEEDED
        assert join.output == "ran"
    else:
        assert join.state is NodeState.SKIPPED
        assert join.error and "upstream" in join.error
    expected = RunState.FAILED if "F" in combination else RunState.COMPLETED
    assert result.state is expected


def test_a_skip_reason_names_the_rule_or_the_node() -> None:
    result, _ = run(join_case("none_failed_min_one_success", "KK"))
    assert result.nodes["join"].error == (
        "no upstream node succeeded (join rule none_failed_min_one_success)"
    )
    result, _ = run(join_case("none_failed", "SF"))
    assert result.nodes["join"].error == "upstream 'd1' failed (join rule none_failed)"
    result, _ = run(join_case(None, "K"))
    assert result.nodes["join"].error == "upstream 'd0' was skipped"


def if_else(changed: bool):
    """Notify only on change: two branches with opposite `when`s, joined after."""
    return workflow(
        {"id": "check", "handler": "transform", "config": {"value": {"changed": changed}}},
        {
            "id": "yes",
            "handler": "transform",
            "dependencies": ["check"],
            "when": "{{ check.changed }}",
            "config": {"value": {"body": "notified"}},
        },
        {
            "id": "no",
            "handler": "transform",
            "dependencies": ["check"],
            "when": "{{ not check.changed }}",
            "config": {"value": {"body": "quiet"}},
        },
        {
            "id": "join",
            "handler": "transform",
            "dependencies": ["yes", "no"],
            "trigger_rule": "none_failed_min_one_success",
            "config": {"value": "{{ yes.body if yes else no.body }}"},
        },
    )


@pytest.mark.parametrize(
    ("changed", "ran", "skipped", "said"),
    [(True, "yes", "no", "notified"), (False, "no", "yes", "quiet")],
)
def test_the_join_after_an_if_else_runs_once_with_the_branch_that_ran(
    changed: bool, ran: str, skipped: str, said: str
) -> None:
    result, events = run(if_else(changed))
    assert result.state is RunState.COMPLETED
    assert result.nodes[ran].state is NodeState.SUCCEEDED
    assert result.nodes[skipped].state is NodeState.SKIPPED
    assert result.nodes[skipped].error == CONDITION_FALSE
    assert result.nodes["join"].output == said
    starts = [e.node_id for e in events if isinstance(e, NodeStarted)]
    assert starts.count("join") == 1
    assert skipped not in starts  # a node skipped by its condition never shows as running
    finishes = [e.node_id for e in events if isinstance(e, NodeFinished)]
    assert finishes.count("join") == 1


@pytest.mark.parametrize(
    ("when", "state"),
    [
        ("{{ params.flag }}", NodeState.SUCCEEDED),
        ("{{ params.flag and params.count > 2 }}", NodeState.SUCCEEDED),
        ("{{ params.empty }}", NodeState.SKIPPED),
        ("{{ params.zero }}", NodeState.SKIPPED),
        ("{{ params.none }}", NodeState.SKIPPED),
        ("{{ not params.flag }}", NodeState.SKIPPED),
    ],
)
def test_when_truthy_runs_and_falsy_skips(when: str, state: NodeState) -> None:
    params = {"flag": True, "count": 3, "empty": [], "zero": 0, "none": None}
    result, _ = run(
        workflow({"id": "a", "handler": "transform", "when": when, "config": {"value": 1}}),
        params,
    )
    assert result.nodes["a"].state is state
    assert result.state is RunState.COMPLETED


def test_a_when_that_fails_to_evaluate_fails_the_node_and_the_run() -> None:
    result, _ = run(
        workflow(
            {"id": "a", "handler": "transform", "when": "{{ params.x.y }}", "config": {"value": 1}},
            {"id": "b", "handler": "transform", "dependencies": ["a"], "config": {"value": 2}},
        ),
        {},
    )
    assert result.nodes["a"].state is NodeState.FAILED
    assert "params.x.y" in (result.nodes["a"].error or "")
    assert result.nodes["b"].state is NodeState.SKIPPED
    assert result.state is RunState.FAILED


def test_a_skipped_upstream_is_none_in_templates_and_inputs() -> None:
    result, _ = run(
        workflow(
            {"id": "a", "handler": "transform", "when": "{{ false }}", "config": {"value": 1}},
            {"id": "b", "handler": "transform", "config": {"value": 2}},
            {
                "id": "pick",
                "handler": "transform",
                "dependencies": ["a", "b"],
                "trigger_rule": "none_failed",
                "config": {"value": "{{ a if a is not none else b }}"},
            },
            {
                "id": "out",
                "handler": "output",
                "dependencies": ["a", "pick"],
                "trigger_rule": "all_done",
            },
        )
    )
    assert result.nodes["pick"].output == 2
    assert result.nodes["out"].output == {"a": None, "pick": 2}


def test_descendants_of_a_skipped_node_follow_their_own_rules() -> None:
    result, _ = run(
        workflow(
            {"id": "a", "handler": "transform", "when": "{{ false }}", "config": {"value": 1}},
            {"id": "chain", "handler": "transform", "dependencies": ["a"], "config": {"value": 2}},
            {
                "id": "done",
                "handler": "transform",
                "dependencies": ["chain"],
                "trigger_rule": "all_done",
                "config": {"value": "{{ chain }}"},
            },
        )
    )
    assert result.nodes["chain"].state is NodeState.SKIPPED
    assert result.nodes["done"].state is NodeState.SUCCEEDED
    assert result.nodes["done"].output is None
    assert result.state is RunState.COMPLETED


def test_a_failure_still_skips_an_all_success_chain_before_slow_siblings_end() -> None:
    """`all_success` cannot be met once a dependency failed: skipped at once, as before."""

    async def scenario() -> tuple[list, RunState]:
        run = WorkflowRun(
            workflow(
                {"id": "bad", "handler": "transform", "config": {"value": "{{ params.no }}"}},
                {"id": "slow", "handler": "delay", "config": {"seconds": 30}},
                {"id": "join", "handler": "output", "dependencies": ["bad", "slow"]},
            ),
            params={},
        )
        seen: list = []
        skipped = asyncio.Event()

        def listen(event) -> None:
            seen.append(event)
            if isinstance(event, NodeFinished) and event.node_id == "join":
                skipped.set()

        run.subscribe(listen)
        task = asyncio.create_task(run.execute())
        await asyncio.wait_for(skipped.wait(), 10)
        assert run.nodes["slow"].state is NodeState.RUNNING
        run.cancel()
        result = await task
        return seen, result.nodes["join"].state

    _, state = asyncio.run(scenario())
    assert state is NodeState.SKIPPED
