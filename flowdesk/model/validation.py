"""Check a workflow against every rule of the workflow format and report all problems at once."""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from flowdesk.model import graph
from flowdesk.model.node_cache import InvalidCacheValue, cache_policy
from flowdesk.model.problems import Problem, Rule
from flowdesk.model.secret_refs import SECRETS, not_set_message
from flowdesk.model.templates import (
    ITEM_NAMES,
    PARAMS,
    TemplateError,
    compile_template,
    is_template,
    iter_templates,
)
from flowdesk.model.workflow import ITEM_FAILURE_MODES, TRIGGER_RULES, NodeSpec, WorkflowDefinition

ID_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# `params` and `secrets` are template names; keywords and jinja literals cannot be named in one.
RESERVED_IDS = frozenset({PARAMS, SECRETS, "true", "false", "none", *keyword.kwlist})

ConfigModels = Mapping[str, type[BaseModel]]
SecretIsSet = Callable[[str], bool]


def validate_workflow(
    definition: WorkflowDefinition,
    config_models: ConfigModels,
    secret_is_set: SecretIsSet | None = None,
) -> list[Problem]:
    """Every problem in `definition`; an empty list means it can run.

    `config_models` maps each known handler name to its config model (the
    handler registry provides it), so the model layer needs no engine import.
    With `secret_is_set`, each secret a template reads that is not set is a warning
    (the caller looks values up; the model does no I/O).
    """
    problems: list[Problem] = []
    ids = _check_ids(definition.nodes, problems)
    deps = _check_dependencies(definition.nodes, ids, problems)
    for cycle, group in graph.cycle_groups(deps):
        path = " -> ".join(cycle)
        others = sorted(group - set(cycle))
        if others:
            shown = ", ".join(others[:10]) + (", …" if len(others) > 10 else "")
            path += f" (and {len(others)} more node(s) on cycles with it: {shown})"
        nodes = (*dict.fromkeys(cycle), *others)
        problems.append(Problem(Rule.CYCLE, f"dependency cycle: {path}", nodes))
    for node in definition.nodes:
        _check_node_fields(node, problems)
        model = config_models.get(node.handler)
        if model is None:
            known = ", ".join(sorted(config_models)) or "none"
            problems.append(
                Problem(
                    Rule.UNKNOWN_HANDLER,
                    f"unknown handler '{node.handler}' (known: {known})",
                    (node.id,),
                )
            )
        else:
            problems.extend(check_config(node, model))
        problems.extend(_check_templates(node, ids, deps, secret_is_set))
    for field in sorted(definition.model_extra or {}):
        problems.append(
            Problem(Rule.UNKNOWN_FIELD, f"unknown top-level field '{field}'", warning=True)
        )
    if not definition.nodes:
        problems.append(Problem(Rule.STRUCTURE, "the workflow has no nodes", warning=True))
    return problems


def errors_only(problems: list[Problem]) -> list[Problem]:
    return [problem for problem in problems if not problem.warning]


def _check_ids(nodes: list[NodeSpec], problems: list[Problem]) -> set[str]:
    seen: dict[str, int] = {}
    for index, node in enumerate(nodes):
        if node.id in seen:
            problems.append(
                Problem(
                    Rule.DUPLICATE_ID,
                    f"duplicate id: nodes #{seen[node.id] + 1} and #{index + 1} are both '{node.id}'",
                    (node.id,),
                )
            )
            continue
        seen[node.id] = index
        problem = id_problem(node.id)
        if problem is not None:
            problems.append(problem)
    return set(seen)


def id_problem(node_id: str) -> Problem | None:
    """Why `node_id` cannot name a node, or None: the one id rule, for validation and edits."""
    if not ID_PATTERN.fullmatch(node_id):
        message = (
            f"'{node_id}' is not a valid id: use letters, digits and _, not starting with a digit"
        )
        return Problem(Rule.INVALID_ID, message, (node_id,))
    if node_id in RESERVED_IDS:
        return Problem(Rule.RESERVED_ID, f"'{node_id}' is reserved; choose another id", (node_id,))
    return None


def _check_dependencies(
    nodes: list[NodeSpec], ids: set[str], problems: list[Problem]
) -> dict[str, list[str]]:
    """The dependency map restricted to nodes that exist, for the graph checks that follow."""
    deps: dict[str, list[str]] = {}
    for node in nodes:
        kept: dict[str, None] = {}  # ordered and O(1) to test: wide fan-ins have 10,000 deps
        for dep in node.dependencies:
            if dep == node.id:
                problems.append(Problem(Rule.SELF_DEPENDENCY, "depends on itself", (node.id,)))
            elif dep not in ids:
                problems.append(
                    Problem(Rule.MISSING_DEPENDENCY, f"depends on missing node '{dep}'", (node.id,))
                )
            else:
                kept[dep] = None
        deps.setdefault(node.id, list(kept))
    return deps


def _check_node_fields(node: NodeSpec, problems: list[Problem]) -> None:
    if node.trigger_rule is not None and node.trigger_rule not in TRIGGER_RULES:
        message = f"unknown trigger_rule {node.trigger_rule!r} (known: {', '.join(TRIGGER_RULES)})"
        problems.append(Problem(Rule.UNKNOWN_TRIGGER_RULE, message, (node.id,), "trigger_rule"))
    if node.when is not None and not is_template(node.when):
        message = f"when {node.when!r} is not a template: write it as {{{{ … }}}}"
        problems.append(Problem(Rule.INVALID_CONDITION, message, (node.id,), "when"))
    _check_map_fields(node, problems)
    try:
        cache_policy(node.cache)
    except InvalidCacheValue as exc:
        problems.append(Problem(Rule.INVALID_CACHE, str(exc), (node.id,), "cache"))
    for field in node.unknown_fields:
        problems.append(
            Problem(
                Rule.UNKNOWN_FIELD, f"unknown field '{field}' is ignored", (node.id,), warning=True
            )
        )


def _check_map_fields(node: NodeSpec, problems: list[Problem]) -> None:
    if node.on_item_failure is not None and node.on_item_failure not in ITEM_FAILURE_MODES:
        message = (
            f"unknown on_item_failure {node.on_item_failure!r}"
            f" (known: {', '.join(ITEM_FAILURE_MODES)})"
        )
        problems.append(Problem(Rule.UNKNOWN_ITEM_FAILURE, message, (node.id,), "on_item_failure"))
    if node.map_over is not None and not is_template(node.map_over):
        message = f"map_over {node.map_over!r} is not a template: write it as {{{{ … }}}}"
        problems.append(Problem(Rule.INVALID_MAP, message, (node.id,), "map_over"))
    if node.map_over is None:
        unused = [
            field
            for field, is_set in (
                ("max_items", "max_items" in node.model_fields_set),
                ("on_item_failure", node.on_item_failure is not None),
            )
            if is_set
        ]
        for field in unused:
            message = f"{field} is ignored: the node has no map_over"
            problems.append(Problem(Rule.INVALID_MAP, message, (node.id,), field, warning=True))


def check_config(node: NodeSpec, model: type[BaseModel]) -> list[Problem]:
    """Config against the handler's model. Template strings are checked after resolution, at run
    time, so a field holding a template is not held to its final type here."""
    try:
        model.model_validate(node.config)
    except ValidationError as exc:
        return [
            Problem(
                Rule.INVALID_CONFIG, _describe_error(error), (node.id,), _location(error["loc"])
            )
            for error in exc.errors()
            if not is_template(error.get("input"))
        ]
    return []


def _location(loc: tuple[Any, ...]) -> str:
    text = "config"
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _describe_error(error: Mapping[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown config key"
    return str(error["msg"]).removeprefix("Value error, ")


def node_templates(node: NodeSpec) -> list[tuple[str, str]]:
    """(location, source) of every template of a node: its config's, its `when` and its
    `map_over`."""
    found = list(iter_templates(node.config))
    if node.when is not None and is_template(node.when):
        found.append(("when", node.when))
    if node.map_over is not None and is_template(node.map_over):
        found.append(("map_over", node.map_over))
    return found


def _check_templates(
    node: NodeSpec,
    ids: set[str],
    deps: Mapping[str, list[str]],
    secret_is_set: SecretIsSet | None,
) -> list[Problem]:
    problems: list[Problem] = []
    for location, source in node_templates(node):
        try:
            template = compile_template(source)
        except TemplateError as exc:
            problems.append(Problem(Rule.TEMPLATE_SYNTAX, exc.reason, (node.id,), location))
            continue
        if secret_is_set is not None:
            for secret in sorted(template.secrets):
                if not secret_is_set(secret):
                    problems.append(
                        Problem(
                            Rule.SECRET_NOT_SET,
                            not_set_message(secret),
                            (node.id,),
                            location,
                            warning=True,
                        )
                    )
        mapped_config = node.map_over is not None and location.startswith("config")
        for name in sorted(template.names - {PARAMS, SECRETS}):
            if name in ITEM_NAMES and mapped_config:
                continue  # the current item
            if name in deps.get(node.id, ()) or (
                name in ids and name != node.id and graph.is_ancestor(deps, name, node.id)
            ):
                continue
            if name in ITEM_NAMES:
                reason = (
                    f"uses '{name}', which exists only in the config of a node with map_over"
                    if node.map_over is None
                    else f"uses '{name}' in {location}: the current item exists only in the config"
                )
            elif name == node.id:
                reason = "refers to the node itself"
            elif name in ids:
                reason = (
                    f"uses node '{name}', which is not upstream of '{node.id}' (add a dependency)"
                )
            else:
                reason = (
                    f"uses unknown name '{name}' (templates may use params, secrets and upstream"
                    " node ids)"
                )
            problems.append(
                Problem(Rule.TEMPLATE_NAME, f"template {source!r} {reason}", (node.id,), location)
            )
    return problems
