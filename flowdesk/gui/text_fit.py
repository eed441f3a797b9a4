"""Fitting long text into narrow places: ids elided in the middle, with the whole text left to
a tooltip, so a long node id never widens a panel or pushes a toolbar."""

from __future__ import annotations

import re

WORD_LIMIT = 32  # characters of one unbreakable word a wrapping label shows


def elide_middle(text: str, limit: int) -> str:
    """`text` cut to `limit` characters around a `…`: ids often differ at either end."""
    if len(text) <= limit:
        return text
    tail = (limit - 1) // 3
    return text[: limit - 1 - tail] + "…" + text[-tail:]


def elide_long_words(text: str, limit: int = WORD_LIMIT) -> str:
    """Every word longer than `limit` elided, so a word-wrapping label always fits its width."""
    return re.sub(rf"\S{{{limit + 1},}}", lambda match: elide_middle(match.group(), limit), text)
