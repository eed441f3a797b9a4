"""A small local HTTP service for examples, tests and benchmarks (no internet needed)."""

from flowdesk.demo.server import DEFAULT_PORT, DemoServer, RequestRecord

__all__ = ["DEFAULT_PORT", "DemoServer", "RequestRecord"]
