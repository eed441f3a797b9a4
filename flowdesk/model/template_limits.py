"""Bounds on template evaluation: a deadline that loops and calls check, and size estimates
for every operation that could build a huge value, made before it runs.

A template comes from a workflow file someone may have sent you. Python cannot stop a
running `'a' * 10**12` or `10 ** 10**12`, so those are refused from their operands;
loops and calls check the deadline (and a stop flag set on cancel) as they go.
"""

from __future__ import annotations

import math
import re
import string
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

DEFAULT_MAX_BYTES = 16 * 1024 * 1024
MAX_INT_DIGITS = 4300
"""Python's own limit for turning an int into text: an int a template builds can be shown."""

_LOG10_2 = math.log10(2)
_CHECK_EVERY = 256
"""Loop items between two looks at the clock."""


class TemplateLimitError(Exception):
    """Evaluation went past a limit; the message is the node's error as is."""


@dataclass
class TemplateBudget:
    """What one evaluation may spend. `stop()` may be called from another thread."""

    max_bytes: int = DEFAULT_MAX_BYTES
    timeout_s: float | None = None
    clock: Callable[[], float] = time.monotonic
    """Where the time comes from (tests step it)."""
    deadline: float | None = field(default=None, init=False)
    stopped: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        if self.timeout_s is not None:
            self.deadline = self.clock() + self.timeout_s

    def stop(self) -> None:
        self.stopped = True

    def check_time(self) -> None:
        if self.stopped:
            raise TemplateLimitError("template evaluation was stopped")
        if self.deadline is not None and self.clock() > self.deadline:
            raise TemplateLimitError(f"template took longer than {self.timeout_s:g} s")

    def check_size(self, size: int, what: str) -> None:
        if size > self.max_bytes:
            raise TemplateLimitError(
                f"template result too large: {what} would be {_human(size)}"
                f" (limit {_human(self.max_bytes)})"
            )

    def check_int_bits(self, bits: float, what: str) -> None:
        digits = bits * _LOG10_2
        if digits > MAX_INT_DIGITS:
            raise TemplateLimitError(
                f"template result too large: {what} would have about {digits:,.0f} digits"
                f" (limit {MAX_INT_DIGITS:,})"
            )


_UNBOUNDED_TIME = TemplateBudget()
_CURRENT: ContextVar[TemplateBudget] = ContextVar("flowdesk_template_budget")


def current_budget() -> TemplateBudget:
    """The budget of the evaluation in progress (size limits only when there is none)."""
    return _CURRENT.get(_UNBOUNDED_TIME)


def evaluate_within(budget: TemplateBudget, evaluate: Callable[[], Any]) -> Any:
    token = _CURRENT.set(budget)
    try:
        return evaluate()
    finally:
        _CURRENT.reset(token)


def _human(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):,.1f} MB"
    return f"{size:,} bytes"


# -- estimates ---------------------------------------------------------------------------------

_SIZED = (str, bytes, list, tuple)


def _text_len(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes) else len(str(value))


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse `*`, `**`, `+` and `%` whose result would pass a limit, before computing it."""
    budget = current_budget()
    if operator == "*":
        for seq, count in ((left, right), (right, left)):
            if isinstance(seq, _SIZED) and isinstance(count, int):
                budget.check_size(len(seq) * max(count, 0) * _item_bytes(seq), "repetition")
        if _is_int(left) and _is_int(right):
            budget.check_int_bits(left.bit_length() + right.bit_length(), "the product")
    elif operator == "**":
        if _is_int(left) and _is_int(right) and abs(left) > 1 and right > 0:
            budget.check_int_bits(right * math.log2(abs(left)), "the power")
    elif operator == "+":
        if isinstance(left, _SIZED) and isinstance(right, _SIZED):
            budget.check_size((len(left) + len(right)) * _item_bytes(left), "the sum")
    elif operator == "%" and isinstance(left, str):
        budget.check_size(percent_format_size(left, right), "the formatted text")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _item_bytes(seq: Any) -> int:
    # A list or tuple holds 8-byte references; text is about a byte a character.
    return 8 if isinstance(seq, list | tuple) else 1


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[a-zA-Z%]")


def percent_format_size(fmt: str, args: Any) -> int:
    """An upper bound of `fmt % args`: the text, every width and precision, every argument."""
    values = list(args.values()) if isinstance(args, Mapping) else _as_tuple(args)
    star = max((v for v in values if _is_int(v)), default=0)
    size = len(fmt)
    for width, precision in _PERCENT_SPEC.findall(fmt):
        for number in (width, precision):
            size += star if number == "*" else int(number) if number else 0
    return size + sum(_text_len(v) for v in values)


def _as_tuple(args: Any) -> tuple[Any, ...]:
    return args if isinstance(args, tuple) else (args,)


_DIGITS = re.compile(r"\d+")


def brace_format_size(fmt: str, args: Iterable[Any], kwargs: Mapping[str, Any]) -> int:
    """An upper bound of `fmt.format(*args, **kwargs)`."""
    values = [*args, *kwargs.values()]
    widest = max((_text_len(v) for v in values), default=0)
    nested = max((v for v in values if _is_int(v)), default=0)
    size = len(fmt)
    for _, field_name, spec, _ in string.Formatter().parse(fmt):
        if field_name is None:
            continue
        size += widest + sum(int(n) for n in _DIGITS.findall(spec or ""))
        if spec and "{" in spec:
            size += nested
    return size


def check_method_call(method: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Refuse text methods whose result would pass the limit (`'x'.ljust(10**9)`)."""
    owner = getattr(method, "__self__", None)
    if not isinstance(owner, str | bytes):
        return
    name = getattr(method, "__name__", "")
    budget = current_budget()
    if name in ("center", "ljust", "rjust", "zfill") and args and _is_int(args[0]):
        budget.check_size(max(len(owner), args[0]), f"{name}()")
    elif name == "expandtabs":
        tab = args[0] if args else kwargs.get("tabsize", 8)
        if _is_int(tab):
            budget.check_size(
                len(owner) + owner.count("\t" if isinstance(owner, str) else b"\t") * tab,
                "expandtabs()",
            )
    elif name == "replace" and len(args) >= 2:
        count = args[2] if len(args) > 2 else kwargs.get("count", -1)
        budget.check_size(_replace_size(owner, args[0], args[1], count), "replace()")


def _replace_size(text: Any, old: Any, new: Any, count: Any = -1) -> int:
    if not isinstance(old, str | bytes) or not isinstance(new, str | bytes):
        return len(text)
    found = len(text) + 1 if not old else text.count(old)
    if _is_int(count) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(len(new) - len(old), 0)


# -- bounded filters ---------------------------------------------------------------------------


def _center_size(value: Any, width: int = 80) -> int:
    return max(_text_len(value), width if _is_int(width) else 0)


def _indent_size(value: Any, width: Any = 4, *_: Any, **__: Any) -> int:
    text = str(value)
    step = len(width) if isinstance(width, str) else width if _is_int(width) else 0
    return len(text) + (text.count("\n") + 1) * step


def _wordwrap_size(
    value: Any, width: Any = 79, break_long_words: Any = True, wrapstring: Any = None, **_: Any
) -> int:
    text = str(value)
    wrap = len(wrapstring) if isinstance(wrapstring, str) else 1
    lines = len(text) // max(width if _is_int(width) else 1, 1) + text.count(" ") + 1
    return len(text) + lines * wrap


def _format_size(value: Any, *args: Any, **kwargs: Any) -> int:
    return percent_format_size(str(value), kwargs or args)


def _replace_filter_size(value: Any, old: Any = "", new: Any = "", count: Any = None) -> int:
    return _replace_size(str(value), str(old), str(new), -1 if count is None else count)


def _batch_size(value: Any, linecount: Any = 1, fill_with: Any = None) -> int:
    extra = linecount if fill_with is not None and _is_int(linecount) else 0
    return (_len_or_zero(value) + extra) * 8


def _slice_size(value: Any, slices: Any = 1, fill_with: Any = None) -> int:
    return (_len_or_zero(value) + (slices if _is_int(slices) else 0)) * 8


def _tojson_size(value: Any, indent: Any = None) -> int:
    return (indent if _is_int(indent) else 0) * 1024


def _len_or_zero(value: Any) -> int:
    try:
        return len(value)
    except TypeError:
        return 0


_FILTER_SIZES: dict[str, Callable[..., int]] = {
    "center": _center_size,
    "indent": _indent_size,
    "wordwrap": _wordwrap_size,
    "format": _format_size,
    "replace": _replace_filter_size,
    "batch": _batch_size,
    "slice": _slice_size,
    "tojson": _tojson_size,
}


def bound_filters(filters: dict[str, Callable[..., Any]]) -> None:
    """Wrap the filters that can build a value much larger than their input."""
    for name, size in _FILTER_SIZES.items():
        filters[name] = _bounded(filters[name], name, size)
    filters["join"] = _bounded_join(filters["join"])


def _passes_extra(func: Callable[..., Any]) -> bool:
    # Filters marked pass_environment / pass_eval_context / pass_context get that first.
    return getattr(func, "jinja_pass_arg", None) is not None


def _bounded(func: Callable[..., Any], name: str, size: Callable[..., int]) -> Callable[..., Any]:
    skip = 1 if _passes_extra(func) else 0

    def bounded(*args: Any, **kwargs: Any) -> Any:
        current_budget().check_size(size(*args[skip:], **kwargs), f"'{name}'")
        return func(*args, **kwargs)

    bounded.__dict__.update(func.__dict__)  # keeps jinja's pass_* marker
    return bounded


def _bounded_join(func: Callable[..., Any]) -> Callable[..., Any]:
    skip = 1 if _passes_extra(func) else 0

    def bounded(*args: Any, **kwargs: Any) -> Any:
        head, rest = args[:skip], args[skip:]
        items = list(rest[0]) if rest else []
        separator = rest[1] if len(rest) > 1 else kwargs.get("d", "")
        if kwargs.get("attribute") is None:
            size = sum(_text_len(i) for i in items) + len(str(separator)) * max(len(items) - 1, 0)
            current_budget().check_size(size, "'join'")
        return func(*head, items, *rest[1:], **kwargs)

    bounded.__dict__.update(func.__dict__)
    return bounded


def concat(parts: Iterable[Any]) -> str:
    """`a ~ b`, with the size checked before the text is built."""
    texts = [str(part) for part in parts]
    current_budget().check_size(sum(map(len, texts)), "'~'")
    return "".join(texts)


def guard_loop(items: Any) -> Iterator[Any]:
    """The items of a `{% for %}`, checking the deadline as the loop goes."""
    budget = current_budget()
    budget.check_time()
    for count, item in enumerate(items, 1):
        if count % _CHECK_EVERY == 0:
            budget.check_time()
        yield item
