"""Secrets in templates: the `secrets` name, which secret names a template uses, the message for
one that is not set, and the object templates read values from.

Pure rules, no I/O: where values come from (keyring, environment) is `flowdesk/secrets.py`,
and masking them wherever they would leave a node is the engine's (`engine/masking.py`).
A template must name each secret literally (`secrets.TOKEN` or `secrets['TOKEN']`), so the
names a workflow needs are known before it runs and exactly those values are looked up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

from jinja2 import nodes

SECRETS = "secrets"
"""The template name secrets are read through, like `params`."""
ENV_PREFIX = "FLOWDESK_SECRET_"
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def env_var(name: str) -> str:
    """The environment variable that sets secret `name` (it wins over the keyring)."""
    return f"{ENV_PREFIX}{name}"


def not_set_message(name: str) -> str:
    return f"secret {name} is not set (flowdesk secrets set {name}, or {env_var(name)})"


def name_problem(name: str) -> str | None:
    """Why `name` cannot name a secret, or None."""
    if NAME_PATTERN.fullmatch(name):
        return None
    return (
        f"'{name}' is not a valid secret name: use letters, digits and _, not starting with a digit"
    )


class SecretNotSetError(Exception):
    """A template read a secret that has no value here; the message says how to set it."""


class SecretReferenceError(ValueError):
    """A template uses `secrets` other than by a literal name; the message says how."""


@dataclass(frozen=True)
class ResolvedSecrets:
    """The values of the secrets a run needs, looked up once when it starts.

    `unavailable` holds, for a secret that could not be read (a locked keyring), why not;
    a secret in neither mapping is simply not set."""

    values: Mapping[str, str] = field(default_factory=dict)
    unavailable: Mapping[str, str] = field(default_factory=dict)


class SecretLookup:
    """What `secrets` is in a template: `secrets.X` and `secrets['X']` give the value, or fail
    with the message that says how to set it. It has no other attribute a template could
    reach, cannot be listed, and never shows a value in its text."""

    __slots__ = ("_resolved",)

    def __init__(self, resolved: ResolvedSecrets | None = None) -> None:
        self._resolved = resolved or ResolvedSecrets()

    def __getitem__(self, name: object) -> str:
        if not isinstance(name, str):
            raise SecretNotSetError(f"secrets are named by text, not {type(name).__name__}")
        value = self._resolved.values.get(name)
        if value is not None:
            return value
        reason = self._resolved.unavailable.get(name)
        if reason is not None:
            raise SecretNotSetError(f"secret {name} could not be read: {reason}")
        raise SecretNotSetError(not_set_message(name))

    def __iter__(self) -> NoReturn:
        raise SecretNotSetError("secrets cannot be listed in a template; name one: secrets.NAME")

    def __repr__(self) -> str:
        return "<secrets>"

    __str__ = __repr__


def find_secret_names(ast: nodes.Template) -> frozenset[str]:
    """The secret names a parsed template reads. Raises SecretReferenceError when it uses
    `secrets` in any other way (a computed name, the whole object): such a name could not be
    looked up before the run, nor its value masked."""
    named: set[str] = set()
    literal_uses: set[int] = set()
    for lookup in ast.find_all((nodes.Getattr, nodes.Getitem)):
        target = lookup.node
        if not (isinstance(target, nodes.Name) and target.name == SECRETS):
            continue
        name: Any = lookup.attr if isinstance(lookup, nodes.Getattr) else _constant(lookup.arg)
        if not isinstance(name, str):
            continue
        problem = name_problem(name)
        if problem is not None:
            raise SecretReferenceError(problem)
        named.add(name)
        literal_uses.add(id(target))
    for use in ast.find_all(nodes.Name):
        if use.name == SECRETS and use.ctx == "load" and id(use) not in literal_uses:
            raise SecretReferenceError(
                "a secret must be named in the template itself: secrets.NAME or secrets['NAME']"
            )
    return frozenset(named)


def _constant(node: nodes.Expr) -> object:
    return node.value if isinstance(node, nodes.Const) else None
