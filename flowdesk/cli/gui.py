"""`flowdesk gui [FILE]` (and plain `flowdesk`): open the editor."""

from __future__ import annotations

import argparse
from typing import Any

from flowdesk.cli import CliError


def register(commands: Any) -> None:
    parser = commands.add_parser("gui", help="open the editor (the default command)")
    parser.add_argument("file", metavar="FILE", nargs="?", help="workflow JSON file to open")
    parser.set_defaults(handler=run_gui)


def run_gui(args: argparse.Namespace) -> int:
    try:
        from flowdesk.gui.app import main as gui_main
    except ImportError as exc:
        raise CliError(f"the editor is not available: {exc}") from None
    return gui_main(args.file)
