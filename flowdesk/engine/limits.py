"""How much one run may spend on a value: the size of template results and node outputs, and
the time a node's templates may take when the node sets no timeout of its own."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from flowdesk.model.template_limits import DEFAULT_MAX_BYTES

MAX_VALUE_ENV = "FLOWDESK_MAX_VALUE_MB"
DEFAULT_TEMPLATE_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class RunLimits:
    max_value_bytes: int = DEFAULT_MAX_BYTES
    """A template's value or a node's output larger than this fails the node."""
    template_timeout_s: float = DEFAULT_TEMPLATE_TIMEOUT_S
    """Templates of a node without `timeout_s` get this long (with it, they get `timeout_s`)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> RunLimits:
        """The defaults, with FLOWDESK_MAX_VALUE_MB when set. Raises ValueError if it is bad."""
        text = environ.get(MAX_VALUE_ENV, "").strip()
        if not text:
            return cls()
        try:
            megabytes = float(text)
        except ValueError:
            megabytes = 0
        if not 0 < megabytes <= 1024:
            raise ValueError(
                f"{MAX_VALUE_ENV} must be a number of megabytes above 0 and at most 1024: {text!r}"
            )
        return cls(max_value_bytes=int(megabytes * 1024 * 1024))
