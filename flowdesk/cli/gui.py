"""`flowdesk gui [FILE]` (and plain `flowdesk`): open the editor."""

from __future__ import annotations

import argparse
import ctypes.util
import os
import sys
from typing import Any

from flowdesk.cli import CliError


def register(commands: Any) -> None:
    parser = commands.add_parser("gui", help="open the editor (the default command)")
    parser.add_argument("file", metavar="FILE", nargs="?", help="workflow JSON file to open")
    parser.set_defaults(handler=run_gui)


def check_display() -> None:
    """Qt aborts the process when it cannot open a window; say why in one line instead."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        raise CliError(
            "no display to open the editor on (DISPLAY and WAYLAND_DISPLAY are unset); "
            "the command line works without one (flowdesk --help)"
        )
    if not os.environ.get("WAYLAND_DISPLAY") and ctypes.util.find_library("xcb-cursor") is None:
        raise CliError(
            "Qt needs the X11 library libxcb-cursor to open a window: "
            "install it (Debian/Ubuntu: apt install libxcb-cursor0)"
        )


def run_gui(args: argparse.Namespace) -> int:
    check_display()
    try:
        from flowdesk.gui.app import main as gui_main
    except ImportError as exc:
        raise CliError(f"the editor is not available: {exc}") from None
    return gui_main(args.file)
