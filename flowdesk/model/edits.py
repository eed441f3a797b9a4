"""Pure edits of a WorkflowDefinition (the document rules): each returns a new definition.

No Qt: the editor's undo commands store the definitions these functions
return, so every editor change is a before/after pair of plain pydantic
documents, and the rules (no cycles, valid unique ids) are testable alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from jinja2 import Environment, TemplateSyntaxError

from flowdesk.model.drawing import NodeBoxes
from flowdesk.model.graph import is_ancestor
from flowdesk.model.layout import layout_workflow
from flowdesk.model.validation import ID_PATTERN, RESERVED_IDS, id_problem
from flowdesk.model.workflow import NodeSpec, RetryPolicy, WorkflowDefinition

Position = tuple[float, float]

# Same delimiters as the template engine; keep_trailing_newline keeps the lexer lossless.
_LEXER_ENV = Environment(keep_trailing_newline=True)


class EditRefused(ValueError):
    """An edit the document cannot take (a cycle, a bad id); the message is for the status bar."""


def copy_of(definition: WorkflowDefinition) -> WorkflowDefinition:
    return definition.model_copy(deep=True)


def position_of(definition: WorkflowDefinition, node_id: str) -> Position | None:
    layout = definition.layout or {}
    pos = layout.get(node_id)
    return (float(pos[0]), float(pos[1])) if pos is not None else None


def unique_id(base: str, taken: Iterable[str]) -> str:
    """`base` made a valid identifier not in `taken` (`get_user` -> `get_user_2`)."""
    taken = set(taken)
    cleaned = re.sub(r"\W", "_", base) or "node"
    if not ID_PATTERN.fullmatch(cleaned):
        cleaned = f"n_{cleaned}"
    if cleaned in RESERVED_IDS:
        cleaned = f"{cleaned}_node"
    if cleaned not in taken:
        return cleaned
    stem = re.sub(r"_\d+$", "", cleaned) or cleaned
    counter = 2
    while f"{stem}_{counter}" in taken:
        counter += 1
    return f"{stem}_{counter}"


def check_new_id(definition: WorkflowDefinition, old: str, new: str) -> None:
    """Raise EditRefused unless `new` may replace `old` as a node id."""
    problem = id_problem(new)
    if problem is not None:
        raise EditRefused(problem.message)
    if new != old and any(node.id == new for node in definition.nodes):
        raise EditRefused(f"a node called '{new}' already exists")


def add_node(
    definition: WorkflowDefinition, spec: NodeSpec, position: Position | None
) -> WorkflowDefinition:
    result = copy_of(definition)
    result.dag.nodes.append(spec.model_copy(deep=True))
    if position is not None:
        result.layout = {**(result.layout or {}), spec.id: (position[0], position[1])}
    return result


def remove_nodes(definition: WorkflowDefinition, node_ids: Iterable[str]) -> WorkflowDefinition:
    """Remove nodes, their wires (other nodes' dependencies on them) and their layout."""
    gone = set(node_ids)
    result = copy_of(definition)
    result.dag.nodes = [node for node in result.dag.nodes if node.id not in gone]
    for node in result.dag.nodes:
        if gone.intersection(node.dependencies):
            node.dependencies = [dep for dep in node.dependencies if dep not in gone]
    if result.layout:
        result.layout = {key: pos for key, pos in result.layout.items() if key not in gone}
    return result


def connect(definition: WorkflowDefinition, source: str, target: str) -> WorkflowDefinition:
    """Make `target` depend on `source`; refuse a wire that would close a cycle."""
    if source == target:
        raise EditRefused(f"'{source}' cannot depend on itself")
    deps = definition.dependency_map()
    if source not in deps or target not in deps:
        raise EditRefused("both ends of a wire must be nodes of this workflow")
    if source in deps[target]:
        return definition
    if is_ancestor(deps, target, source):
        raise EditRefused(
            f"refused: wiring {source} -> {target} would close a cycle "
            f"({source} already depends on {target})"
        )
    result = copy_of(definition)
    result.node(target).dependencies.append(source)
    return result


def disconnect(definition: WorkflowDefinition, source: str, target: str) -> WorkflowDefinition:
    result = copy_of(definition)
    node = result.node(target)
    node.dependencies = [dep for dep in node.dependencies if dep != source]
    return result


def move_nodes(
    definition: WorkflowDefinition, positions: Mapping[str, Position]
) -> WorkflowDefinition:
    result = copy_of(definition)
    layout = dict(result.layout or {})
    for node_id, (x, y) in positions.items():
        layout[node_id] = (round(float(x), 1), round(float(y), 1))
    result.layout = layout
    return result


def update_node(
    definition: WorkflowDefinition,
    node_id: str,
    *,
    config: dict[str, Any] | None = None,
    retry: RetryPolicy | bool | None = False,
    timeout_s: float | bool | None = False,
    when: str | bool | None = False,
    trigger_rule: str | bool | None = False,
) -> WorkflowDefinition:
    """Replace a node's config, retry, timeout, condition or join rule (False leaves a field as
    it is)."""
    result = copy_of(definition)
    node = result.node(node_id)
    if config is not None:
        node.config = dict(config)
    if retry is not False:
        node.retry = retry  # type: ignore[assignment]
    if timeout_s is not False:
        node.timeout_s = timeout_s  # type: ignore[assignment]
    if when is not False:
        node.when = when  # type: ignore[assignment]
    if trigger_rule is not False:
        node.trigger_rule = trigger_rule  # type: ignore[assignment]
    return result


def update_map(
    definition: WorkflowDefinition,
    node_id: str,
    map_over: str | None,
    max_items: int | None,
    on_item_failure: str | None,
) -> WorkflowDefinition:
    """`definition` with the node's map fields replaced. The node is rebuilt so that a max
    items left at its default counts as never set (validation warns about a set max_items on
    a node without map_over)."""
    result = copy_of(definition)
    nodes = result.dag.nodes
    for index, node in enumerate(nodes):
        if node.id == node_id:
            data = node.model_dump(exclude={"max_items"})
            data.update(map_over=map_over, on_item_failure=on_item_failure)
            if max_items is not None:
                data["max_items"] = max_items
            nodes[index] = NodeSpec.model_validate(data)
    return result


def update_cache(definition: WorkflowDefinition, node_id: str, cache: Any) -> WorkflowDefinition:
    """`definition` with the node's `cache` replaced: None (not cached, dropped from the file),
    True, or `{"ttl_s": seconds}` (model/node_cache.py reads it)."""
    result = copy_of(definition)
    result.node(node_id).cache = cache
    return result


def rename_node(definition: WorkflowDefinition, old: str, new: str) -> WorkflowDefinition:
    """Change a node id everywhere: the node, dependencies, layout and template references."""
    check_new_id(definition, old, new)
    result = copy_of(definition)
    for node in result.dag.nodes:
        if node.id == old:
            node.id = new
        if old in node.dependencies:
            node.dependencies = [new if dep == old else dep for dep in node.dependencies]
        _rewrite_node_templates(node, old, new)
    if result.layout and old in result.layout:
        result.layout = {(new if key == old else key): pos for key, pos in result.layout.items()}
    return result


def _rewrite_node_templates(node: NodeSpec, old: str, new: str) -> None:
    """Point every template of `node` (config, `when`, `map_over`) at `new` instead of `old`."""
    node.config = rewrite_references(node.config, old, new)
    if node.when is not None:
        node.when = rewrite_template(node.when, old, new)
    if node.map_over is not None:
        node.map_over = rewrite_template(node.map_over, old, new)


def rewrite_references(value: Any, old: str, new: str) -> Any:
    """`value` with every template reference to node `old` pointing at `new`."""
    if isinstance(value, str):
        return rewrite_template(value, old, new)
    if isinstance(value, dict):
        return {key: rewrite_references(item, old, new) for key, item in value.items()}
    if isinstance(value, list):
        return [rewrite_references(item, old, new) for item in value]
    return value


def rewrite_template(source: str, old: str, new: str) -> str:
    """Rename the variable `old` inside `{{ }}`/`{% %}` using jinja2's own lexer.

    Only free names are renamed: attribute names (`a.old`), filter and test
    names (`| old`), string literals and the text outside the tags stay.
    """
    if "{{" not in source and "{%" not in source:
        return source
    try:
        tokens = list(_LEXER_ENV.lexer.tokeniter(source, None))
    except TemplateSyntaxError:
        return source
    if "".join(value for _, _, value in tokens) != source:
        return source  # the lexer normalised something; never risk mangling the text
    out: list[str] = []
    previous = ""
    for _, kind, value in tokens:
        if kind == "name" and value == old and previous not in (".", "|", "is"):
            value = new
        out.append(value)
        if kind != "whitespace":
            previous = value
    return "".join(out)


def paste_nodes(
    definition: WorkflowDefinition,
    specs: list[NodeSpec],
    positions: Mapping[str, Position],
    offset: Position = (40.0, 40.0),
) -> tuple[WorkflowDefinition, list[str]]:
    """Add copies of `specs` with fresh ids; wires and templates among them follow the new ids.

    Dependencies on nodes outside the copied set are kept when that node exists here.
    """
    taken = {node.id for node in definition.nodes}
    renames: dict[str, str] = {}
    for spec in specs:
        renames[spec.id] = unique_id(spec.id, taken)
        taken.add(renames[spec.id])
    result = copy_of(definition)
    layout = dict(result.layout or {})
    for spec in specs:
        copy = spec.model_copy(deep=True)
        for old, new in renames.items():
            _rewrite_node_templates(copy, old, new)
        copy.id = renames[spec.id]
        copy.dependencies = [
            renames.get(dep, dep) for dep in spec.dependencies if dep in renames or dep in taken
        ]
        result.dag.nodes.append(copy)
        x, y = positions.get(spec.id, (0.0, 0.0))
        layout[copy.id] = (x + offset[0], y + offset[1])
    result.layout = layout
    return result, [renames[spec.id] for spec in specs]


def auto_layout(
    definition: WorkflowDefinition, boxes: NodeBoxes | None = None
) -> tuple[WorkflowDefinition, str | None]:
    """Every node placed by flowdesk.model.layout (columns by depth, no wire over a node),
    and a sentence for the user when the layout had to settle for less."""
    layout = layout_workflow(definition, boxes)
    result = copy_of(definition)
    result.layout = dict(layout.positions)
    return result, layout.note


def dedupe_ids(definition: WorkflowDefinition) -> tuple[WorkflowDefinition, list[str]]:
    """Give later duplicate ids fresh names, so the canvas can tell the nodes apart.

    Returns the new definition and a message per renamed node.
    """
    seen: set[str] = set()
    messages: list[str] = []
    all_ids = {node.id for node in definition.nodes}
    result = copy_of(definition)
    for index, node in enumerate(result.dag.nodes):
        if node.id in seen:
            fresh = unique_id(node.id, all_ids | seen)
            messages.append(f"node #{index + 1}: duplicate id '{node.id}' renamed to '{fresh}'")
            node.id = fresh
        seen.add(node.id)
    return result, messages
