"""`flowdesk secrets set|list|delete`: the values templates read as `secrets.NAME`.

A value is read from a hidden prompt on a terminal, else from one line of stdin, never from an
argument (it would stay in the shell's history and in the process list). `list` shows names
and where each comes from, never values.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from flowdesk.cli import EXIT_OK, CliError
from flowdesk.model.secret_refs import env_var, name_problem
from flowdesk.secrets import SecretStore, SecretStoreError


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "secrets", help="set, list and delete the secrets templates read as secrets.NAME"
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    setting = actions.add_parser(
        "set",
        help="keep a value in the keyring (read from a hidden prompt, or one line of stdin)",
    )
    setting.add_argument("name", metavar="NAME", type=secret_name)
    setting.set_defaults(handler=set_command)

    listing = actions.add_parser("list", help="names and where each comes from (never values)")
    listing.add_argument("--json", action="store_true", help="print a JSON list on stdout")
    listing.set_defaults(handler=list_command)

    deleting = actions.add_parser("delete", help="remove a value from the keyring")
    deleting.add_argument("name", metavar="NAME", type=secret_name)
    deleting.set_defaults(handler=delete_command)


def secret_name(text: str) -> str:
    problem = name_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return text


def set_command(args: argparse.Namespace) -> int:
    value = _read_value(args.name)
    store = SecretStore()
    try:
        store.set(args.name, value)
    except (SecretStoreError, ValueError) as exc:
        raise CliError(str(exc)) from None
    print(f"secret {args.name} stored in the keyring ({store.keyring_name()})", file=sys.stderr)
    if store.from_environment(args.name) is not None:
        print(
            f"flowdesk: note: {env_var(args.name)} is set here and wins over the keyring",
            file=sys.stderr,
        )
    return EXIT_OK


def _read_value(name: str) -> str:
    """The value, from a prompt that does not echo on a terminal, else one line of stdin."""
    if sys.stdin.isatty():
        value = getpass.getpass(f"Value of {name} (not shown): ")
    else:
        value = sys.stdin.readline().rstrip("\r\n")
    if not value:
        raise CliError(f"no value given for {name}; nothing was stored")
    return value


def list_command(args: argparse.Namespace) -> int:
    store = SecretStore()
    infos = store.list()
    if args.json:
        print(json.dumps([{"name": i.name, "source": i.source.value} for i in infos]))
    else:
        width = max((len(info.name) for info in infos), default=0)
        for info in infos:
            print(f"{info.name:<{width}}  {info.source.value}")
        if not infos:
            print(
                f"no secrets set (flowdesk secrets set NAME, or {env_var('NAME')})",
                file=sys.stderr,
            )
    problem = store.keyring_problem()
    if problem is not None:
        print(f"flowdesk: note: {problem}", file=sys.stderr)
    return EXIT_OK


def delete_command(args: argparse.Namespace) -> int:
    store = SecretStore()
    in_env = store.from_environment(args.name) is not None
    try:
        held = store.delete(args.name)
    except SecretStoreError as exc:
        if not in_env:
            raise CliError(str(exc)) from None
        held = False
    if not held:
        if in_env:
            raise CliError(
                f"secret {args.name} comes from the environment ({env_var(args.name)}): "
                "unset it there"
            )
        raise CliError(f"secret {args.name} is not set")
    print(f"secret {args.name} deleted from the keyring", file=sys.stderr)
    if in_env:
        print(
            f"flowdesk: note: {env_var(args.name)} still sets it in this environment",
            file=sys.stderr,
        )
    return EXIT_OK
