"""The handler registry: names -> (config model, coroutine), extensible through entry points."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from flowdesk.engine.context import NodeContext

ENTRY_POINT_GROUP = "flowdesk.handlers"
log = logging.getLogger(__name__)

HandlerFn = Callable[[Any, "NodeContext"], Awaitable[Any]]


@dataclass(frozen=True)
class HandlerSpec:
    """A handler: its name in workflow files, its config model and the coroutine that runs it.

    `run(config, context)` receives the config already resolved and validated
    against `config_model`, and returns a JSON-serializable output.
    """

    name: str
    config_model: type[BaseModel]
    run: HandlerFn
    description: str = ""
    category: str = "General"
    needs_http: bool = False
    """The run opens its shared HTTP client before starting, off the event loop."""


class UnknownHandlerError(KeyError):
    def __str__(self) -> str:
        return f"unknown handler '{self.args[0]}'"


@dataclass
class HandlerRegistry:
    """Handlers by name. `HandlerRegistry.default()` holds the built-ins and installed plugins."""

    _handlers: dict[str, HandlerSpec] = field(default_factory=dict)
    load_errors: list[str] = field(default_factory=list)

    @classmethod
    def default(cls) -> HandlerRegistry:
        from flowdesk.engine.handlers import BUILTIN_HANDLERS

        registry = cls()
        for spec in BUILTIN_HANDLERS:
            registry.register(spec)
        registry.load_entry_points()
        return registry

    def register(self, spec: HandlerSpec) -> None:
        if spec.name in self._handlers:
            raise ValueError(f"handler '{spec.name}' is already registered")
        self._handlers[spec.name] = spec

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Register every plugin handler; a broken plugin is reported, never fatal."""
        for entry_point in entry_points(group=group):
            try:
                loaded = entry_point.load()
                specs = loaded if isinstance(loaded, list | tuple) else [loaded]
                for spec in specs:
                    if not isinstance(spec, HandlerSpec):
                        raise TypeError(f"expected a HandlerSpec, got {type(spec).__name__}")
                    self.register(spec)
            except Exception as exc:
                message = f"plugin '{entry_point.name}' ({entry_point.value}) not loaded: {exc}"
                log.warning(message)
                self.load_errors.append(message)

    def get(self, name: str) -> HandlerSpec:
        try:
            return self._handlers[name]
        except KeyError:
            raise UnknownHandlerError(name) from None

    def __contains__(self, name: object) -> bool:
        return name in self._handlers

    def __iter__(self) -> Iterator[HandlerSpec]:
        return iter(self._handlers.values())

    def config_models(self) -> dict[str, type[BaseModel]]:
        return {name: spec.config_model for name, spec in self._handlers.items()}


def handler(
    name: str,
    config_model: type[BaseModel],
    *,
    description: str = "",
    category: str = "General",
    needs_http: bool = False,
) -> Callable[[HandlerFn], HandlerSpec]:
    """Decorator that turns a coroutine function into a HandlerSpec (for built-ins and plugins)."""

    def wrap(fn: HandlerFn) -> HandlerSpec:
        doc = description or (fn.__doc__ or "").strip()
        return HandlerSpec(name, config_model, fn, doc, category, needs_http)

    return wrap


def registry_of(specs: Iterable[HandlerSpec]) -> HandlerRegistry:
    registry = HandlerRegistry()
    for spec in specs:
        registry.register(spec)
    return registry
