"""The REST API (`flowdesk serve`): a FastAPI front-end of the run service. The engine and the
store know nothing of it."""

from flowdesk.api.app import create_app
from flowdesk.api.errors import configure_api_logging
from flowdesk.api.server import ApiServer, PortInUseError, config, is_loopback, listen

__all__ = [
    "ApiServer",
    "PortInUseError",
    "config",
    "configure_api_logging",
    "create_app",
    "is_loopback",
    "listen",
]
