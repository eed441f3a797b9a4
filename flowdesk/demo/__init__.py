"""A small local HTTP service for examples, tests and benchmarks (no internet needed)."""

from flowdesk.demo.server import DemoServer, RequestRecord

__all__ = ["DemoServer", "RequestRecord"]
