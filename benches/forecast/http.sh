#!/usr/bin/env bash
# Predictions over HTTP against a release build with the demo data (its restaurants' models trained by
# the server's own worker first): cached answers under wrk (32 connections), then uncached answers one
# at a time, each a distinct restaurant, granularity and horizon (benches/forecast/uncached.py).
# Usage: benches/forecast/http.sh [sqlite|postgres]   (PostgreSQL at 127.0.0.1:5432, Redis at 127.0.0.1:6379)
set -euo pipefail
cd "$(dirname "$0")/../.."
backend="${1:-sqlite}"
duration="${DURATION:-15s}"
bin="${CARGO_TARGET_DIR:-target}/release/brigade"
cargo build --release -p brigade >/dev/null
work=$(mktemp -d)
port=18081
export BRIGADE_RATE_LIMIT__ENABLED=false BRIGADE_LOG_LEVEL=warn BRIGADE_PUBLIC_URL="http://127.0.0.1:$port"
if [ "$backend" = postgres ]; then
  db="brigade_bench_$$"
  psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db"
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable" REDIS_URL="redis://127.0.0.1:6379" BRIGADE_REDIS_PREFIX="bench-$$"
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
  -d '{"email":"admin@demo.brigade","password":"brigade-demo"}' | json 'd["data"]["tokens"]["access_token"]')
# Wait for the worker to train the demo's daily and hourly models.
for _ in $(seq 1 120); do
  latest=$(curl -s "127.0.0.1:$port/api/models?per_page=100" -H "authorization: Bearer $TOKEN" \
    | json 'sum(1 for m in d["data"]["items"] if m["status"] == "latest" and m["kind"] == "demand")')
  [ "$latest" -ge 32 ] && break
  sleep 1
done
echo "latest versions: $latest"
restaurants=$(curl -s "127.0.0.1:$port/api/models?kind=demand&per_page=100" -H "authorization: Bearer $TOKEN" \
  | json '" ".join(sorted({m["restaurant_id"] for m in d["data"]["items"]}))')
export RESTAURANT=${restaurants%% *}
echo "== $backend: uncached predictions with trained models"
# shellcheck disable=SC2086
python3 benches/forecast/uncached.py "http://127.0.0.1:$port" "$TOKEN" $restaurants
echo "== $backend: cached predictions (POST /api/predictions/demand, same body)"
wrk -t2 -c32 -d"$duration" --latency -s benches/forecast/predict.lua "http://127.0.0.1:$port" | grep -E "Requests/sec|50%|99%|Non-2xx|errors"
