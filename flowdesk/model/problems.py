"""Problems found in a workflow: values the CLI prints and the editor pins on nodes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Rule(StrEnum):
    """The rule a problem breaks; stable codes that tests and the editor can match on."""

    MALFORMED_JSON = "malformed-json"
    UNREADABLE_FILE = "unreadable-file"
    STRUCTURE = "structure"
    DUPLICATE_ID = "duplicate-id"
    INVALID_ID = "invalid-id"
    RESERVED_ID = "reserved-id"
    UNKNOWN_HANDLER = "unknown-handler"
    MISSING_DEPENDENCY = "missing-dependency"
    SELF_DEPENDENCY = "self-dependency"
    CYCLE = "cycle"
    INVALID_CONFIG = "invalid-config"
    TEMPLATE_SYNTAX = "template-syntax"
    TEMPLATE_NAME = "template-name"
    SECRET_NOT_SET = "secret-not-set"
    UNKNOWN_FIELD = "unknown-field"
    UNKNOWN_TRIGGER_RULE = "unknown-trigger-rule"
    INVALID_CONDITION = "invalid-condition"
    INVALID_MAP = "invalid-map"
    UNKNOWN_ITEM_FAILURE = "unknown-item-failure"
    INVALID_CACHE = "invalid-cache"


@dataclass(frozen=True)
class Problem:
    """One broken rule. `nodes` names every node involved (all nodes of a cycle)."""

    rule: Rule
    message: str
    nodes: tuple[str, ...] = ()
    location: str | None = None
    warning: bool = False

    @property
    def node_id(self) -> str | None:
        return self.nodes[0] if self.nodes else None

    def __str__(self) -> str:
        parts = [f"node '{self.nodes[0]}'"] if self.nodes else []
        if self.location:
            parts.append(self.location)
        where = ", ".join(parts) + ": " if parts else ""
        kind = "warning: " if self.warning else ""
        return f"{kind}{where}{self.message} [{self.rule}]"


class WorkflowLoadError(Exception):
    """A file could not be turned into a WorkflowDefinition at all."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems
