"""FlowDesk: draw a DAG of handlers, run it locally and concurrently, inspect and resume runs."""

__version__ = "0.1.0"

__all__ = ["__version__"]
