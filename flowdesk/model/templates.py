"""`{{ ... }}` templates in node config: sandboxed jinja2, typed single expressions, static refs.

A string that is exactly one `{{ expr }}` evaluates to the value itself (a dict
stays a dict, 7 stays 7); any other template renders as text. Only strings that
contain `{{` or `{%` are templates; every other value passes through untouched.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

PARAMS = "params"
_MARKERS = ("{{", "{%")


class TemplateError(Exception):
    """A template could not be parsed or evaluated; the message names the template and where."""

    def __init__(self, template: str, reason: str, location: str = "") -> None:
        self.template = template
        self.reason = reason
        self.location = location
        where = f" in {location}" if location else ""
        super().__init__(f"template {template!r}{where}: {reason}")


def _finalize(value: Any) -> Any:
    # Text rendering of structured values reads as JSON, matching the workflow files.
    if isinstance(value, dict | list | bool) or value is None:
        return json.dumps(value)
    return value


def _make_environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined, finalize=_finalize, autoescape=False, keep_trailing_newline=True
    )
    # Only params and upstream node ids are names a template may use.
    env.globals.clear()
    return env


_ENV = _make_environment()


def is_template(value: object) -> bool:
    return isinstance(value, str) and any(marker in value for marker in _MARKERS)


class CompiledTemplate:
    """One parsed template string, ready to evaluate many times."""

    def __init__(self, source: str) -> None:
        self.source = source
        try:
            ast = _ENV.parse(source)
            # Code generation, here and below, is where an unknown filter or test is found
            # (TemplateAssertionError, a TemplateSyntaxError): a problem of the template.
            self.names: frozenset[str] = frozenset(meta.find_undeclared_variables(ast))
            expression = _single_expression(ast, source)
            if expression is not None:
                self._expression = _ENV.compile_expression(expression, undefined_to_none=False)
                self._template = None
            else:
                self._expression = None
                self._template = _ENV.from_string(ast)
        except TemplateSyntaxError as exc:
            raise TemplateError(source, f"syntax error: {exc.message}") from None
        except RecursionError:
            raise TemplateError(source, "nested too deeply to read") from None

    def evaluate(self, context: Mapping[str, Any], location: str = "") -> Any:
        try:
            if self._expression is not None:
                value = self._expression(**context)
                _reject_undefined(value)
                return value
            assert self._template is not None
            return self._template.render(**context)
        except UndefinedError as exc:
            raise TemplateError(self.source, f"undefined: {exc.message}", location) from None
        except SecurityError as exc:
            raise TemplateError(self.source, f"not allowed: {exc}", location) from None
        except Exception as exc:
            raise TemplateError(self.source, f"{type(exc).__name__}: {exc}", location) from None


def _single_expression(ast: nodes.Template, source: str) -> str | None:
    """The inner text when the whole string is one `{{ expr }}`, else None."""
    if len(ast.body) != 1 or not isinstance(ast.body[0], nodes.Output):
        return None
    parts = ast.body[0].nodes
    if len(parts) != 1 or isinstance(parts[0], nodes.TemplateData):
        return None
    start, end = source.find("{{"), source.rfind("}}")
    if start != 0 or end != len(source) - 2:
        return None
    return source[2:end]


def _reject_undefined(value: Any) -> None:
    from jinja2 import Undefined

    if isinstance(value, Undefined):
        value._fail_with_undefined_error()
    if isinstance(value, dict):
        for item in value.values():
            _reject_undefined(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _reject_undefined(item)


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
    """Every top-level name the templates in `value` use (`params` and node ids)."""
    names: set[str] = set()
    for _, source in iter_templates(value):
        names |= compile_template(source).names
    return frozenset(names)


def resolve_templates(value: Any, context: Mapping[str, Any], path: str = "config") -> Any:
    """A copy of `value` with every template evaluated against `context`.

    `context` maps `params` and node ids to their values. Non-template values
    are returned as they are (the string "007" stays "007").
    """
    if is_template(value):
        return compile_template(value).evaluate(context, path)
    if isinstance(value, Mapping):
        return {
            key: resolve_templates(item, context, f"{path}.{key}") for key, item in value.items()
        }
    if isinstance(value, list):
        return [resolve_templates(item, context, f"{path}[{i}]") for i, item in enumerate(value)]
    return value
