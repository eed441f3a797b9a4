"""The workflow engine: handler registry and built-in handlers. Knows nothing of Qt."""

from flowdesk.engine.context import HandlerError, NodeContext, RunResources
from flowdesk.engine.registry import HandlerRegistry, HandlerSpec, UnknownHandlerError, handler

__all__ = [
    "HandlerError",
    "HandlerRegistry",
    "HandlerSpec",
    "NodeContext",
    "RunResources",
    "UnknownHandlerError",
    "handler",
]
