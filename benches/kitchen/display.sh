#!/usr/bin/env bash
# Builds Brigade (release), serves the demo on a free port with a scratch data directory, and runs
# display.py against it: a kitchen display of 200 open tickets, bumped 50 times.
# Usage: benches/kitchen/display.sh [TICKETS] [BUMPS]
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -p brigade >&2
bin="${CARGO_TARGET_DIR:-target}/release/brigade"
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
BRIGADE_RATE_LIMIT__ENABLED=false BRIGADE_LOG_LEVEL=warn "$bin" --data-dir "$work/data" serve --demo --bind "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.5; done
python3 benches/kitchen/display.py "http://127.0.0.1:$port" "${1:-200}" "${2:-50}"
