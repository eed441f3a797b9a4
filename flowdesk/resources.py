"""Where FlowDesk's bundled files are: examples, icons. One module, so nothing else guesses paths.

Qt-free (the CLI lists examples too). In a PyInstaller bundle the files sit
under the bundle's data folder; in a checkout, beside the package.
"""

from __future__ import annotations

import sys
from pathlib import Path


def resources_dir() -> Path:
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def app_icon(kind: str = "png") -> Path:
    return resources_dir() / "app" / f"flowdesk.{kind}"


def handler_icon(handler: str) -> Path:
    """The handler's own icon, or the generic plugin icon."""
    own = resources_dir() / "icons" / "handlers" / f"{handler}.svg"
    return own if own.exists() else resources_dir() / "icons" / "handlers" / "plugin.svg"


def examples() -> list[Path]:
    """The bundled example workflows, by file name."""
    return sorted((resources_dir() / "examples").glob("*.json"))


def referenced() -> list[Path]:
    """Every file the code refers to by name (a test checks that each exists)."""
    from flowdesk.engine.handlers import BUILTIN_HANDLERS

    paths = [app_icon("png"), app_icon("svg"), handler_icon("plugin")]
    paths += [resources_dir() / "icons" / "handlers" / f"{h.name}.svg" for h in BUILTIN_HANDLERS]
    return paths
