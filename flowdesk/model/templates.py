"""`{{ ... }}` templates in node config: sandboxed jinja2, typed single expressions, static refs.

A string that is exactly one `{{ expr }}` evaluates to the value itself (a dict
stays a dict, 7 stays 7); any other template renders as text. Only strings that
contain `{{` or `{%` are templates; every other value passes through untouched.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, UndefinedError, meta, nodes
from jinja2.environment import Template
from jinja2.exceptions import SecurityError
from jinja2.nodes import EvalContext, Impossible
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from flowdesk.model import template_limits as limits
from flowdesk.model.secret_refs import (
    SECRETS,
    SecretNotSetError,
    SecretReferenceError,
    find_secret_names,
)
from flowdesk.model.template_limits import TemplateBudget, TemplateLimitError

PARAMS = "params"
ITEM = "item"
ITEM_INDEX = "item_index"
ITEM_NAMES = frozenset({ITEM, ITEM_INDEX})
"""Names a mapped node's config templates may use for the current item (map_over)."""
_SHOWN_CHARS = 80
_LOOP_FILTER = "flowdesk_loop"
_CONCAT_FILTER = "flowdesk_concat"


class TemplateError(Exception):
    """A template could not be parsed or evaluated; the message names the template and where."""

    def __init__(self, template: str, reason: str, location: str = "") -> None:
        self.template = template
        self.reason = reason
        self.location = location
        where = f" in {location}" if location else ""
        shown = template if len(template) <= _SHOWN_CHARS else template[:_SHOWN_CHARS] + "…"
        super().__init__(f"template {shown!r}{where}: {reason}")


def _finalize(value: Any) -> Any:
    # Text rendering of structured values reads as JSON, matching the workflow files.
    if isinstance(value, dict | list | bool) or value is None:
        return json.dumps(value)
    return value


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    """The sandbox, plus limits: operators and calls that could build a huge value are sized
    first, and calls check the deadline. Intercepted operators are also never folded into
    constants at compile time, so reading a template never computes `'a' * 10**9`."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        limits.check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        limits.current_budget().check_time()
        limits.check_method_call(__obj, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        format_text = super().wrap_str_format(value)
        if format_text is None:
            return None
        pattern = value.__self__
        is_map = value.__name__ == "format_map"

        def bounded(*args: Any, **kwargs: Any) -> str:
            values = args[0] if is_map and args and isinstance(args[0], Mapping) else kwargs
            size = limits.brace_format_size(pattern, () if is_map else args, values)
            limits.current_budget().check_size(size, "format()")
            return format_text(*args, **kwargs)

        return bounded


def _make_environment() -> _BoundedSandbox:
    env = _BoundedSandbox(
        undefined=StrictUndefined, finalize=_finalize, autoescape=False, keep_trailing_newline=True
    )
    # Only params and upstream node ids are names a template may use.
    env.globals.clear()
    limits.bound_filters(env.filters)
    env.filters[_LOOP_FILTER] = limits.guard_loop
    env.filters[_CONCAT_FILTER] = limits.concat
    return env


_ENV = _make_environment()


class _AddGuards(NodeTransformer):
    """Every `{% for %}` iterates through the deadline check; every `~` sizes its result."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = _filter(node.iter, _LOOP_FILTER)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _filter(nodes.List(node.nodes, lineno=node.lineno), _CONCAT_FILTER)


def _filter(value: nodes.Expr, name: str) -> nodes.Filter:
    return nodes.Filter(value, name, [], [], None, None, lineno=value.lineno)


def is_template(value: object) -> bool:
    # Spelled out rather than any(...) over the markers: it runs for every config value of every
    # node (and of every item of a mapped node), and the generator tripled its cost.
    return isinstance(value, str) and ("{{" in value or "{%" in value)


class CompiledTemplate:
    """One parsed template string, ready to evaluate many times."""

    def __init__(self, source: str) -> None:
        self.source = source
        try:
            source.encode("utf-8")  # text that cannot be stored or shown: say where
        except UnicodeEncodeError as exc:
            reason = f"holds a lone surrogate (an invalid character) at position {exc.start}"
            raise TemplateError(source, reason) from None
        try:
            ast = _ENV.parse(source)
            self.names: frozenset[str] = frozenset(meta.find_undeclared_variables(ast))
            self.secrets: frozenset[str] = (
                find_secret_names(ast) if SECRETS in self.names else frozenset()
            )
            """The secrets it reads, by name (`secrets.X`, `secrets['X']`)."""
            self.may_run_long = ast.find(nodes.For) is not None or ast.find(nodes.Macro) is not None
            """Loops and macros can run for long: such templates are evaluated off the event loop."""
            _AddGuards().visit(ast)
            ast.set_environment(_ENV)
            _check_constant_lookups(ast)
            # Code generation, here and below, is where an unknown filter or test is found
            # (TemplateAssertionError, a TemplateSyntaxError): a problem of the template.
            expression = _single_expression(ast, source)
            if expression is not None:
                self._expression = _expression_template(expression)
                self._template = None
            else:
                self._expression = None
                self._template = _ENV.from_string(ast)
        except TemplateSyntaxError as exc:
            raise TemplateError(source, f"syntax error: {exc.message}") from None
        except RecursionError:
            raise TemplateError(source, "nested too deeply to read") from None
        except UndefinedError as exc:
            raise TemplateError(source, f"undefined: {exc.message}") from None
        except SecretReferenceError as exc:
            raise TemplateError(source, str(exc)) from None
        except TemplateError:
            raise
        except Exception as exc:  # whatever reading a constant part raised
            raise TemplateError(source, f"cannot be read: {type(exc).__name__}: {exc}") from None

    def evaluate(
        self, context: Mapping[str, Any], location: str = "", budget: TemplateBudget | None = None
    ) -> Any:
        """The template's value (checked to be JSON within the budget's limits)."""
        budget = budget or limits.current_budget()
        try:
            return limits.evaluate_within(budget, lambda: self._evaluate(context, budget))
        except TemplateLimitError as exc:
            raise TemplateError(self.source, str(exc), location) from None
        except UndefinedError as exc:
            raise TemplateError(self.source, f"undefined: {exc.message}", location) from None
        except SecurityError as exc:
            raise TemplateError(self.source, f"not allowed: {exc}", location) from None
        except SecretNotSetError as exc:
            raise TemplateError(self.source, str(exc), location) from None
        except RecursionError:
            raise TemplateError(self.source, "nested too deeply", location) from None
        except Exception as exc:
            raise TemplateError(self.source, f"{type(exc).__name__}: {exc}", location) from None

    def _evaluate(self, context: Mapping[str, Any], budget: TemplateBudget) -> Any:
        if self._expression is not None:
            value = self._expression(context)
            check_value(value, budget)
            return value
        assert self._template is not None
        chunks: list[str] = []
        size = 0
        for chunk in self._template.generate(**context):
            size += len(chunk)
            budget.check_size(size, "the text")
            chunks.append(chunk)
        return "".join(chunks)


def _check_constant_lookups(ast: nodes.Template) -> None:
    """`''[0]` or `{}.x` fails whatever the run's data: report it when the template is read."""
    context = EvalContext(_ENV)
    for lookup in ast.find_all((nodes.Getitem, nodes.Getattr)):
        try:
            value = lookup.as_const(context)
        except Impossible:
            continue
        if isinstance(value, Undefined):
            value._fail_with_undefined_error()


def check_value(value: Any, budget: TemplateBudget) -> None:
    """A template's value goes into a config and on to the store: it must be JSON, in limits."""
    if value is None or isinstance(value, bool | float):
        return
    if isinstance(value, str):
        budget.check_size(len(value), "the text")
    elif isinstance(value, int):
        budget.check_int_bits(value.bit_length(), "the integer")
    elif isinstance(value, dict | list | tuple):
        try:
            encoded = json.dumps(value, default=_not_json)
        except RecursionError:
            raise TemplateLimitError("the value is nested too deeply to store") from None
        except ValueError as exc:  # an int too long to write, or a value that holds itself
            raise TemplateLimitError(f"the value cannot be stored: {exc}") from None
        budget.check_size(len(encoded), "the value")
    else:
        _not_json(value)


def _not_json(value: Any) -> Any:
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    kind = type(value).__name__
    if callable(value):
        raise TemplateLimitError(f"the value is a function ({kind}), not data: call it with ()")
    if isinstance(value, Iterable | Iterator):
        raise TemplateLimitError(f"the value is a {kind}, not JSON: add `| list` to make a list")
    raise TemplateLimitError(
        f"the value is a {kind}, not JSON (text, a number, true/false, null, a list or an object)"
    )


def _single_expression(ast: nodes.Template, source: str) -> nodes.Expr | None:
    """The expression when the whole string is one `{{ expr }}`, else None."""
    if len(ast.body) != 1 or not isinstance(ast.body[0], nodes.Output):
        return None
    parts = ast.body[0].nodes
    if len(parts) != 1 or isinstance(parts[0], nodes.TemplateData):
        return None
    start, end = source.find("{{"), source.rfind("}}")
    if start != 0 or end != len(source) - 2:
        return None
    return parts[0]


class _Expression:
    """What `Environment.compile_expression` builds, from the guarded tree instead of text.

    Called with the names as a dict, without jinja's copies of it and of the (empty) globals:
    a mapped node evaluates its config once per item, and those copies were a quarter of it."""

    __slots__ = ("_render",)

    def __init__(self, template: Template) -> None:
        self._render = template.root_render_func

    def __call__(self, names: Mapping[str, Any]) -> Any:
        # The environment has no globals (`_make_environment`), and jinja never writes to a
        # context's parent mapping, so `names` can be it as is.
        context = Context(_ENV, names, None, {})
        for _ in self._render(context):
            pass
        return context.vars["result"]


def _expression_template(expression: nodes.Expr) -> _Expression:
    tree = nodes.Template(
        [nodes.Assign(nodes.Name("result", "store"), expression, lineno=1)], lineno=1
    )
    tree.set_environment(_ENV)
    return _Expression(_ENV.from_string(tree))


@lru_cache(maxsize=4096)
def compile_template(source: str) -> CompiledTemplate:
    """Parse once; the cache makes validation and repeated runs cheap."""
    return CompiledTemplate(source)


def iter_templates(value: Any, path: str = "config") -> Iterator[tuple[str, str]]:
    """Yield (location, template source) for every template string inside a config structure."""
    if is_template(value):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from iter_templates(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from iter_templates(item, f"{path}[{index}]")


def referenced_names(value: Any) -> frozenset[str]:
    """Every top-level name the templates in `value` use (`params`, `secrets`, node ids)."""
    names: set[str] = set()
    for _, source in iter_templates(value):
        names |= compile_template(source).names
    return frozenset(names)


def referenced_secrets(value: Any) -> frozenset[str]:
    """Every secret name the templates in `value` read."""
    names: set[str] = set()
    for _, source in iter_templates(value):
        names |= compile_template(source).secrets
    return frozenset(names)


def runs_long(value: Any) -> bool:
    """True when a template in `value` has loops or macros (evaluate it off the event loop)."""
    return any(compile_template(source).may_run_long for _, source in iter_templates(value))


def resolve_templates(
    value: Any,
    context: Mapping[str, Any],
    path: str = "config",
    budget: TemplateBudget | None = None,
) -> Any:
    """A copy of `value` with every template evaluated against `context`, within `budget`.

    `context` maps `params` and node ids to their values. Non-template values
    are returned as they are (the string "007" stays "007").
    """
    if is_template(value):
        return compile_template(value).evaluate(context, path, budget)
    if isinstance(value, dict | Mapping):  # dict first: no ABC check for the usual case
        return {
            key: resolve_templates(item, context, f"{path}.{key}", budget)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            resolve_templates(item, context, f"{path}[{i}]", budget) for i, item in enumerate(value)
        ]
    return value
