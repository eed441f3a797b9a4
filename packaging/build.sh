#!/usr/bin/env bash
# Build a standalone one-folder FlowDesk bundle (PyInstaller) into build/dist/flowdesk,
# then smoke-test it headless. Usage: bash packaging/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
make .venv/.installed
.venv/bin/python -m pip install --quiet "pyinstaller>=6.10"
.venv/bin/python packaging/render_icon.py >/dev/null
.venv/bin/pyinstaller --noconfirm --clean --log-level WARN \
    --distpath build/dist --workpath build/pyinstaller packaging/flowdesk.spec
install -m 644 packaging/flowdesk.desktop build/dist/flowdesk/flowdesk.desktop
install -m 644 resources/app/flowdesk.png build/dist/flowdesk/flowdesk.png
echo "bundle: build/dist/flowdesk ($(du -sh build/dist/flowdesk | cut -f1))"
bash packaging/smoke_test.sh build/dist/flowdesk/flowdesk
