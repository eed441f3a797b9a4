"""The handlers FlowDesk ships with."""

from flowdesk.engine.handlers.basic import run_delay, run_input, run_output, run_transform
from flowdesk.engine.handlers.http import call_external_service
from flowdesk.engine.handlers.python import run_python

BUILTIN_HANDLERS = (
    run_input,
    run_output,
    call_external_service,
    run_transform,
    run_delay,
    run_python,
)

__all__ = ["BUILTIN_HANDLERS"]
