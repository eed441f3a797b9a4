"""The bundle's spec, entry script and desktop file agree with the package (CI does not build)."""

from __future__ import annotations

import configparser
import re
import tomllib

from conftest import REPO

PACKAGING = REPO / "packaging"


def test_spec_points_at_files_that_exist() -> None:
    spec = (PACKAGING / "flowdesk.spec").read_text()
    assert 'ROOT / "packaging" / "entry.py"' in spec
    assert (PACKAGING / "entry.py").exists()
    assert 'ROOT / "resources" / "app" / "flowdesk.png"' in spec
    assert (REPO / "resources" / "app" / "flowdesk.png").exists()
    assert '(str(ROOT / "resources"), "resources")' in spec
    assert 'name="flowdesk"' in spec


def test_entry_script_runs_the_console_script_target() -> None:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    module, function = scripts["flowdesk"].split(":")
    entry = (PACKAGING / "entry.py").read_text()
    assert f"from {module} import {function}" in entry
    assert f"sys.exit({function}())" in entry


def test_desktop_file_matches_the_command_and_icon() -> None:
    desktop = configparser.ConfigParser(interpolation=None)
    desktop.optionxform = str  # keys are case-sensitive
    desktop.read(PACKAGING / "flowdesk.desktop")
    entry = desktop["Desktop Entry"]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert entry["Exec"].split()[0] in scripts
    assert entry["Exec"].split()[1] == "gui"
    assert (REPO / "resources" / "app" / f"{entry['Icon']}.png").exists()
    assert (REPO / "resources" / "app" / f"{entry['Icon']}.svg").exists()
    assert entry["Type"] == "Application" and entry["Terminal"] == "false"


def test_build_script_uses_the_spec_and_smoke_test() -> None:
    build = (PACKAGING / "build.sh").read_text()
    assert "packaging/flowdesk.spec" in build
    assert "packaging/smoke_test.sh build/dist/flowdesk/flowdesk" in build
    smoke = (PACKAGING / "smoke_test.sh").read_text()
    for step in ("validate", "demo-server", " run ", " gui "):
        assert re.search(re.escape(step), smoke), step
