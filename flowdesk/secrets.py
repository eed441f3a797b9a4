"""Where secret values live: the operating system's keyring (service `flowdesk`) and the
environment (`FLOWDESK_SECRET_<NAME>`, which wins, for CI and servers).

Values are read only for a run (`resolve`, one lookup per secret the workflow reads) and
never shown: `list` gives names and where each comes from. A keyring cannot list what it
holds, so the names set through FlowDesk are kept in the keyring too, as one JSON list under
a reserved user name. A machine without a usable keyring still works from the environment.
`keyring` is imported on first use, so commands that need no secret do not pay for it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar

from flowdesk.model.secret_refs import ENV_PREFIX, ResolvedSecrets, env_var, name_problem

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

SERVICE = "flowdesk"
INDEX_USER = "flowdesk:names"
T = TypeVar("T")
"""Holds the JSON list of names; not a valid secret name, so no secret can take it."""


class SecretSource(StrEnum):
    KEYRING = "keyring"
    ENVIRONMENT = "environment"
    BOTH = "both"


@dataclass(frozen=True)
class SecretInfo:
    name: str
    source: SecretSource


class SecretStoreError(Exception):
    """The keyring failed or refused; the message is one line for the user."""


class NoUsableKeyring(SecretStoreError):
    """This machine has no keyring backend that can keep secrets."""


def no_keyring_message(name: str = "NAME") -> str:
    return f"no usable keyring on this machine: set {env_var(name)} in the environment instead"


class SecretStore:
    """Secrets of this user: the keyring (found lazily, or `backend`) and `environ`."""

    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        backend: KeyringBackend | None = None,
    ) -> None:
        self._environ = os.environ if environ is None else environ
        self._backend = backend

    # -- reading ----------------------------------------------------------------------------

    def from_environment(self, name: str) -> str | None:
        return self._environ.get(env_var(name)) or None

    def resolve(self, names: Iterable[str]) -> ResolvedSecrets:
        """The values of `names` for a run: the environment's, else the keyring's. A secret the
        keyring could not give (locked, failing) is `unavailable`, with the reason."""
        values: dict[str, str] = {}
        unavailable: dict[str, str] = {}
        for name in sorted(set(names)):
            value = self.from_environment(name)
            if value is None:
                try:
                    value = self._call(lambda b, name=name: b.get_password(SERVICE, name))
                except NoUsableKeyring:
                    continue  # not set: the environment was the only place to look
                except SecretStoreError as exc:
                    unavailable[name] = str(exc)
                    continue
            if value:
                values[name] = value
        return ResolvedSecrets(values, unavailable)

    def names(self) -> frozenset[str]:
        """Every name set here (the environment's and the keyring's), values unread."""
        return frozenset(info.name for info in self.list())

    def list(self) -> list[SecretInfo]:
        """Names and where each comes from, sorted; the keyring's only when it can be read."""
        from_env = {
            key.removeprefix(ENV_PREFIX)
            for key, value in self._environ.items()
            if key.startswith(ENV_PREFIX)
            and value
            and name_problem(key.removeprefix(ENV_PREFIX)) is None
        }
        try:
            in_keyring = set(self._index())
        except SecretStoreError:
            in_keyring = set()
        infos = []
        for name in sorted(from_env | in_keyring):
            if name in from_env and name in in_keyring:
                source = SecretSource.BOTH
            elif name in from_env:
                source = SecretSource.ENVIRONMENT
            else:
                source = SecretSource.KEYRING
            infos.append(SecretInfo(name, source))
        return infos

    def keyring_problem(self) -> str | None:
        """Why the keyring cannot be used here, or None when it can."""
        try:
            self._keyring()
        except SecretStoreError as exc:
            return str(exc)
        return None

    def keyring_name(self) -> str:
        """The keyring backend in use, for messages ("none" without one)."""
        try:
            backend = self._keyring()
        except SecretStoreError:
            return "none"
        return f"{type(backend).__module__}.{type(backend).__name__}"

    # -- writing ----------------------------------------------------------------------------

    def set(self, name: str, value: str) -> None:
        """Keep `value` in the keyring under `name` (SecretStoreError, ValueError)."""
        problem = name_problem(name)
        if problem is not None:
            raise ValueError(problem)
        if not value:
            raise ValueError(f"the value of {name} is empty; nothing was stored")
        try:
            self._keyring()
        except NoUsableKeyring:
            raise NoUsableKeyring(no_keyring_message(name)) from None
        self._call(lambda b: b.set_password(SERVICE, name, value))
        names = self._index()
        if name not in names:
            self._write_index([*names, name])

    def delete(self, name: str) -> bool:
        """Remove `name` from the keyring; False when the keyring did not hold it."""
        problem = name_problem(name)
        if problem is not None:
            raise ValueError(problem)
        names = self._index()
        held = self._call(lambda b: b.get_password(SERVICE, name)) is not None
        if held:
            self._call(lambda b: b.delete_password(SERVICE, name))
        if name in names:
            self._write_index([n for n in names if n != name])
        return held

    # -- the keyring ------------------------------------------------------------------------

    def _keyring(self) -> KeyringBackend:
        if self._backend is None:
            import keyring

            found = keyring.get_keyring()
            if _plaintext_by_default(found, self._environ):
                raise NoUsableKeyring(no_keyring_message())
            self._backend = found
        if not _usable(self._backend):
            raise NoUsableKeyring(no_keyring_message())
        return self._backend

    def _call(self, operation: Callable[[KeyringBackend], T]) -> T:
        backend = self._keyring()
        try:
            return operation(backend)
        except Exception as exc:  # backends raise their own types (D-Bus, files, locks)
            text = str(exc).strip().splitlines()
            reason = text[0] if text else type(exc).__name__
            raise SecretStoreError(f"the keyring failed: {reason}") from exc

    def _index(self) -> list[str]:
        text = self._call(lambda b: b.get_password(SERVICE, INDEX_USER))
        try:
            names = json.loads(text) if text else []
        except ValueError:
            names = []
        if not isinstance(names, list):
            return []
        return [n for n in names if isinstance(n, str) and name_problem(n) is None]

    def _write_index(self, names: list[str]) -> None:
        text = json.dumps(sorted(set(names)))
        self._call(lambda b: b.set_password(SERVICE, INDEX_USER, text))


def _plaintext_by_default(backend: KeyringBackend, environ: Mapping[str, str]) -> bool:
    """A keyrings.alt backend (a file on disk) that keyring picked only because nothing better
    exists: FlowDesk does not keep secrets in it unless the user chose it by name."""
    chosen = environ.get("PYTHON_KEYRING_BACKEND", "")
    return type(backend).__module__.startswith("keyrings.alt") and not chosen.startswith(
        "keyrings.alt"
    )


def _usable(backend: KeyringBackend) -> bool:
    """False for keyring's stand-ins when nothing better exists: the failing and the null
    backend, and a chain of no backends."""
    from keyring.backends import chainer, fail, null

    if isinstance(backend, fail.Keyring | null.Keyring):
        return False
    if isinstance(backend, chainer.ChainerBackend):
        return bool(backend.backends)
    return True


class KnownSecrets:
    """`known(name)`: is secret `name` set here? The names are read once, on first need (a
    workflow without secrets never touches the keyring), and again after `refresh()`. For
    validation, which must not do I/O on every check."""

    def __init__(self, store: SecretStore) -> None:
        self._store = store
        self._names: frozenset[str] | None = None

    def __call__(self, name: str) -> bool:
        if self._names is None:
            self._names = self._store.names()
        return name in self._names

    def refresh(self) -> None:
        self._names = None
