#!/usr/bin/env bash
# Order analytics at size, release builds, this machine:
#  1. ingest through POST /api/channel-orders (batches of 1,000 orders from 2 clients) on `brigade serve`;
#  2. `cargo bench --bench analytics`: ORDERS orders (default 2,000,000, about ten million status events)
#     through the same ingest code in process, the rollup of all their events, then p50/p95 of the queries.
# Usage: benches/analytics/run.sh [sqlite|postgres]   (PostgreSQL at 127.0.0.1:5432)
set -euo pipefail
cd "$(dirname "$0")/../.."
backend="${1:-sqlite}"
bin="${CARGO_TARGET_DIR:-target}/release/brigade"
cargo build -q --release -p brigade
work=$(mktemp -d)
port=18081
export BRIGADE_RATE_LIMIT__ENABLED=false BRIGADE_LOG_LEVEL=warn BRIGADE_BODY_LIMIT_BYTES=8388608
dbs=()
# Sets $url; run in this shell (not in $(...)) so that cleanup sees the database in $dbs.
newdb() { local db="brigade_bench_$$_$1"; psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db"; dbs+=("$db"); url="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"; }
if [ "$backend" = postgres ]; then
  newdb http
  export DATABASE_URL=$url BRIGADE_DATABASE_MAX_CONNECTIONS=10
fi
cleanup() {
  [ -n "${server:-}" ] && kill "$server" 2>/dev/null || true
  for db in "${dbs[@]}"; do psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db" || true; done
  rm -rf "$work"
}
trap cleanup EXIT
BRIGADE_ADMIN_PASSWORD=bench-password-1 "$bin" --data-dir "$work/data" users create-admin --email bench@example.com >/dev/null
"$bin" --data-dir "$work/data" serve --no-worker --bind "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.2; done
token=$(curl -s -X POST "127.0.0.1:$port/api/auth/login" -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"bench-password-1"}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["data"]["tokens"]["access_token"])')
echo "== $backend"
python3 benches/analytics/ingest.py --url "http://127.0.0.1:$port" --token "$token" --orders "${HTTP_ORDERS:-100000}"
kill "$server"; wait "$server" 2>/dev/null || true; server=
unset DATABASE_URL
if [ "$backend" = postgres ]; then newdb size; export BENCH_DATABASE_URL=$url; fi
/usr/bin/time -f "peak memory %M KB" cargo bench -q -p brigade-app --bench analytics 2>&1 | grep -v "^  [0-9]* orders"
