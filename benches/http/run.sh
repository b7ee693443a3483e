#!/usr/bin/env bash
# Load test of the QR-ordering hot paths against a release build: cached menu reads and order creation.
# Usage: benches/http/run.sh [sqlite|postgres]   (PostgreSQL at 127.0.0.1:5432, Redis at 127.0.0.1:6379)
# Rate limits are switched off for the run (they would otherwise cap one token at 6,000 requests/min).
set -euo pipefail
cd "$(dirname "$0")/../.."
backend="${1:-sqlite}"
duration="${DURATION:-15s}"
bin="${CARGO_TARGET_DIR:-target}/release/brigade"
cargo build --release -p brigade >/dev/null
work=$(mktemp -d)
port=18080
export BRIGADE_RATE_LIMIT__ENABLED=false BRIGADE_LOG_LEVEL=warn BRIGADE_PUBLIC_URL="http://127.0.0.1:$port"
if [ "$backend" = postgres ]; then
  # PostgreSQL on the same machine over loopback: no TLS (sqlx would otherwise negotiate it, and both
  # ends would encrypt every round trip).
  db="brigade_bench_$$"
  psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db"
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable" REDIS_URL="redis://127.0.0.1:6379" BRIGADE_REDIS_PREFIX="bench-$$"
  export BRIGADE_DATABASE_MAX_CONNECTIONS=20
fi
"$bin" --data-dir "$work/data" serve --demo --bind "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  [ "$backend" = postgres ] && psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db" || true
  rm -rf "$work"
}
trap cleanup EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.2; done
json() { python3 -c "import sys,json; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
export TOKEN=$(curl -s -X POST "127.0.0.1:$port/api/auth/login" -H 'content-type: application/json' \
  -d '{"email":"customer@demo.brigade","password":"brigade-demo"}' | json 'd["data"]["tokens"]["access_token"]')
export VENUE=$(curl -s "127.0.0.1:$port/api/venues/qr/CHAI" | json 'd["data"]["venue"]["id"]')
export ITEM=$(curl -s "127.0.0.1:$port/api/venues/$VENUE/menu" | json 'd["data"]["categories"][0]["items"][0]["id"]')

echo "== $backend: cached menu reads (GET /api/venues/{id}/menu)"
wrk -t2 -c64 -d"$duration" --latency "http://127.0.0.1:$port/api/venues/$VENUE/menu" | grep -E "Requests/sec|50%|99%|Non-2xx|errors"
echo "== $backend: order creation (POST /api/orders)"
wrk -t2 -c32 -d"$duration" --latency -s benches/http/order.lua "http://127.0.0.1:$port" | grep -E "Requests/sec|50%|99%|Non-2xx|errors"
orders=$(curl -s "127.0.0.1:$port/api/orders?per_page=1" -H "authorization: Bearer $TOKEN" | json 'd["data"]["pagination"]["total"]')
echo "orders stored: $orders"
