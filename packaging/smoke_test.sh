#!/usr/bin/env bash
# Smoke-test a FlowDesk executable with no display: validate, run an example against the
# demo service, open the editor offscreen for a few seconds. Usage: smoke_test.sh PATH/TO/flowdesk
set -euo pipefail
BIN=$(realpath "$1")
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=offscreen
work=$(mktemp -d)
export FLOWDESK_DB="$work/runs.sqlite"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

"$BIN" --version
"$BIN" validate resources/examples/parallel_api_fetcher.json

"$BIN" demo-server --port 8911 2>"$work/demo.log" &
pids+=($!)
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/8911) 2>/dev/null && break; sleep 0.1; done
"$BIN" run resources/examples/fan_out_fan_in.json --json >"$work/run.json"
grep -q '"status": "COMPLETED"' "$work/run.json"
echo "run: COMPLETED"

"$BIN" gui resources/examples/fan_out_fan_in.json 2>"$work/gui.log" &
gui=$!
pids+=($gui)
sleep 5
if ! kill -0 "$gui" 2>/dev/null; then
    echo "the editor exited early:" >&2
    cat "$work/gui.log" >&2
    exit 1
fi
echo "editor: still open after 5 s"
echo "smoke test passed"
