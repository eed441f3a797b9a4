"""The workflow document: pydantic models for the seed's JSON format and our additions."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

TRIGGER_RULES = (
    "all_success",
    "all_done",
    "one_success",
    "none_failed",
    "none_failed_min_one_success",
)
"""When a node may run, given its dependencies' final states (the first is the default)."""
ITEM_FAILURE_MODES = ("fail", "skip")
"""What a failed item of a mapped node does to the node (the first is the default)."""
DEFAULT_MAX_ITEMS = 10_000


class RetryPolicy(BaseModel):
    """How often a node is tried and how long to wait between tries (exponential, jittered)."""

    model_config = ConfigDict(extra="forbid")

    max_attempts: int = Field(default=1, ge=1, le=100)
    backoff_s: float = Field(default=0.5, ge=0, le=3600)


class NodeSpec(BaseModel):
    """One node of the DAG. Unknown keys are kept so a round trip loses nothing."""

    model_config = ConfigDict(extra="allow")

    id: str
    handler: str
    dependencies: list[str] = Field(default_factory=list)
    config: dict[str, Any] = Field(default_factory=dict)
    retry: RetryPolicy | None = None
    timeout_s: float | None = Field(default=None, gt=0)
    when: str | None = None
    """A template evaluated once the node may run: falsy skips it ("condition false")."""
    trigger_rule: str | None = None
    """Which final states of its dependencies let it run (TRIGGER_RULES); all_success if None.
    Any text loads, so validation can name an unknown rule with every other problem."""
    map_over: str | None = None
    """A template giving a list: the node runs once per item, `item` and `item_index` in its
    config's templates; its output is the list of item outputs, in item order."""
    max_items: int = Field(default=DEFAULT_MAX_ITEMS, ge=0)
    """A map_over list longer than this fails the node before any item runs."""
    on_item_failure: str | None = None
    """"fail" (None: the node fails once all items are final) or "skip" (a failed item's output
    is null, the node succeeds). Any text loads, so validation can name an unknown value."""
    cache: Any = None
    """`true` or `{"ttl_s": N}`: reuse the output of an earlier execution with the same handler,
    resolved config and inputs (model/node_cache.py reads it). Any JSON loads, so validation
    can name a bad value with every other problem."""

    @property
    def unknown_fields(self) -> list[str]:
        return sorted(self.model_extra or {})


class Dag(BaseModel):
    model_config = ConfigDict(extra="allow")

    nodes: list[NodeSpec] = Field(default_factory=list)


class WorkflowDefinition(BaseModel):
    """A workflow as stored in a file: the seed's `{"name", "dag": {"nodes"}}` plus optional extras."""

    model_config = ConfigDict(extra="allow")

    name: str
    description: str | None = None
    dag: Dag = Field(default_factory=Dag)
    layout: dict[str, tuple[float, float]] | None = None

    @property
    def nodes(self) -> list[NodeSpec]:
        return self.dag.nodes

    def node(self, node_id: str) -> NodeSpec:
        for node in self.dag.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    def dependency_map(self) -> dict[str, list[str]]:
        """Node id -> its dependencies (the later of two duplicate ids wins)."""
        return {node.id: list(node.dependencies) for node in self.dag.nodes}

    def to_json_dict(self, *, include_layout: bool = True) -> dict[str, Any]:
        """The seed's shape: our optional fields appear only when set, so old readers see no noise."""
        data = self.model_dump(mode="json")
        for key in ("description", "layout"):
            if data.get(key) is None or (key == "layout" and not include_layout):
                data.pop(key, None)
        for node in data["dag"]["nodes"]:
            for key in ("retry", "timeout_s", "when", "trigger_rule", "cache"):
                if node.get(key) is None:
                    node.pop(key)
            for key in ("map_over", "on_item_failure"):
                if node.get(key) is None:
                    node.pop(key)
            if node.get("max_items") == DEFAULT_MAX_ITEMS:
                node.pop("max_items")
            if not node["config"]:
                del node["config"]
        return data
