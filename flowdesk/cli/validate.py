"""`flowdesk validate FILE`: every problem of a workflow, one line each."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from flowdesk.cli import EXIT_BAD_INPUT, EXIT_OK, default_registry, read_workflow
from flowdesk.model import errors_only, topological_levels, validate_workflow
from flowdesk.secrets import KnownSecrets, SecretStore


def register(commands: Any) -> None:
    parser = commands.add_parser("validate", help="check a workflow file and list its problems")
    parser.add_argument("file", metavar="FILE", help="workflow JSON file")
    parser.set_defaults(handler=run_validate)


def run_validate(args: argparse.Namespace) -> int:
    definition = read_workflow(args.file)
    registry = default_registry()
    for message in registry.load_errors:
        print(f"flowdesk: warning: {message}", file=sys.stderr)
    problems = validate_workflow(
        definition, registry.config_models(), secret_is_set=KnownSecrets(SecretStore())
    )
    for problem in problems:
        print(f"{args.file}: {problem}", file=sys.stderr)
    errors = errors_only(problems)
    if errors:
        print(f"{args.file}: {len(errors)} error(s); the workflow cannot run", file=sys.stderr)
        return EXIT_BAD_INPUT
    levels = topological_levels(definition.dependency_map())
    print(
        f"{Path(args.file).name}: valid: '{definition.name}', {len(definition.nodes)} nodes "
        f"in {len(levels)} levels"
    )
    return EXIT_OK
