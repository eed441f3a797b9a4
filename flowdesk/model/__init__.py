"""The workflow document: schema, loading and saving, graph queries, templates, validation."""

from flowdesk.model.graph import find_cycles, topological_levels, topological_order
from flowdesk.model.loading import (
    dump_snapshot,
    dump_workflow,
    load_workflow,
    parse_workflow,
    save_workflow,
    workflow_from_data,
)
from flowdesk.model.problems import Problem, Rule, WorkflowLoadError
from flowdesk.model.templates import (
    TemplateError,
    compile_template,
    is_template,
    referenced_names,
    resolve_templates,
)
from flowdesk.model.validation import errors_only, validate_workflow
from flowdesk.model.workflow import (
    ITEM_FAILURE_MODES,
    TRIGGER_RULES,
    NodeSpec,
    RetryPolicy,
    WorkflowDefinition,
)

__all__ = [
    "ITEM_FAILURE_MODES",
    "TRIGGER_RULES",
    "NodeSpec",
    "Problem",
    "RetryPolicy",
    "Rule",
    "TemplateError",
    "WorkflowDefinition",
    "WorkflowLoadError",
    "compile_template",
    "dump_snapshot",
    "dump_workflow",
    "errors_only",
    "find_cycles",
    "is_template",
    "load_workflow",
    "parse_workflow",
    "referenced_names",
    "resolve_templates",
    "save_workflow",
    "topological_levels",
    "topological_order",
    "validate_workflow",
    "workflow_from_data",
]
