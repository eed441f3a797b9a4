"""How values are stored: times as ISO-8601 text in UTC, JSON values as compact text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_text(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo is UTC else moment.astimezone(UTC)).isoformat()


def from_text(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


COMPACT = json.JSONEncoder(separators=(",", ":"))
"""Built once: `json.dumps` with any option builds an encoder per call (a third of a row's cost)."""


def to_json_text(value: Any) -> str | None:
    """None stays NULL (a JSON null output reads back as None either way)."""
    return None if value is None else COMPACT.encode(value)


def from_json_text(text: str | None) -> Any:
    return None if text is None else json.loads(text)
