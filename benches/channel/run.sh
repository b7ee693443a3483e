#!/usr/bin/env bash
# Issue 22's rows against a release build of `brigade serve`, with wrk (-t2 -c32): the 100,000-order data
# set (benches/channel/load.py) loaded and rolled up, then
#   - one channel order per request (POST /api/channel-orders) and status updates (POST .../{id}/status);
#   - every analytics read over a 30-day window (2026-01-15 to 2026-02-14), in tz=utc and local zones;
#   - the server's resident memory after each row and at its peak, and the size of SQLite's log.
# Usage: benches/channel/run.sh [sqlite|postgres]   (PostgreSQL at 127.0.0.1:5432 and Redis at :6379)
# Environment: DURATION (wrk, default 15s), ORDERS (default 100000), ONLY=writes (skip the reads).
set -euo pipefail
cd "$(dirname "$0")/../.."
backend="${1:-sqlite}"
duration="${DURATION:-15s}"
bin="${CARGO_TARGET_DIR:-target}/release/brigade"
cargo build -q --release -p brigade
work=$(mktemp -d)
port=18082
export BRIGADE_RATE_LIMIT__ENABLED=false BRIGADE_LOG_LEVEL=warn BRIGADE_BODY_LIMIT_BYTES=8388608
if [ "$backend" = postgres ]; then
  db="brigade_bench_$$"
  psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db"
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable" REDIS_URL="redis://127.0.0.1:6379" BRIGADE_REDIS_PREFIX="bench-$$"
fi
cleanup() {
  [ -n "${server:-}" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  [ "$backend" = postgres ] && psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db" || true
  rm -rf "$work"
}
trap cleanup EXIT
BRIGADE_ADMIN_PASSWORD=bench-password-1 "$bin" --data-dir "$work/data" users create-admin --email bench@example.com >/dev/null
"$bin" --data-dir "$work/data" serve --no-worker --bind "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.2; done
export TOKEN=$(curl -s -X POST "127.0.0.1:$port/api/auth/login" -H 'content-type: application/json' \
  -d '{"email":"bench@example.com","password":"bench-password-1"}' | python3 -c 'import sys,json; print(json.load(sys.stdin)["data"]["tokens"]["access_token"])')
export OPEN_FILE="$work/open.txt"
memory() { awk '/VmRSS|VmHWM/ {printf "%s %d MiB  ", $1, $2/1024} END {print ""}' "/proc/$server/status"; }
# SQLite's write-ahead log: emptied by the checkpoints once it passes 64 MiB.
wal() { [ "$backend" = sqlite ] && stat -c '%s' "$work/data/brigade.db-wal" | awk '{printf "write-ahead log: %d MiB\n", $1/1048576}' || true; }
echo "== $backend"
python3 benches/channel/load.py --url "http://127.0.0.1:$port" --token "$TOKEN" --orders "${ORDERS:-100000}" --open-file "$OPEN_FILE"
echo -n "after the load: "; memory
curl -s -X POST "127.0.0.1:$port/api/analytics/rollups" -H "authorization: Bearer $TOKEN" \
  | python3 -c 'import sys,json; d=json.load(sys.stdin)["data"]; print("rollup:", d)'
memory
wal
row() {
  local name=$1; shift
  echo "-- $name"
  wrk -t2 -c32 -d"$duration" --latency "$@" | grep -E "Requests/sec|  50%|  99%|errors" | tr -s ' ' | paste -sd' ' -
  memory
}
window="from=2026-01-15&to=2026-02-14"
# Each read twice: the same window every request (a dashboard; after the first request the answer
# comes from the cache until the next rollup run), and a window moved by a minute every request
# (cold.lua: never the same question, so every request reads the summary tables).
reads=(
  "time in status, tz=utc|/api/analytics/time-in-status?tz=utc"
  "time in status, tz=local|/api/analytics/time-in-status?tz=local"
  "throughput per hour, tz=utc|/api/analytics/throughput?tz=utc&interval=hour"
  "throughput per hour, tz=local|/api/analytics/throughput?tz=local&interval=hour"
  "throughput per day, tz=utc|/api/analytics/throughput?tz=utc&interval=day"
  "throughput per day, tz=local|/api/analytics/throughput?tz=local&interval=day"
  "customers, first order in the window|/api/analytics/customers?top=20"
)
[ "${ONLY:-}" = writes ] && reads=()
for read in "${reads[@]}"; do
  name=${read%%|*}; endpoint=${read#*|}
  row "$name, 30 days, same window" -s benches/channel/get.lua "http://127.0.0.1:$port$endpoint&$window"
  ENDPOINT=$endpoint row "$name, 30 days, a new window every request" -s benches/channel/cold.lua "http://127.0.0.1:$port"
done
row "POST /api/channel-orders, one order per request" -s benches/channel/single.lua "http://127.0.0.1:$port"
row "POST /api/channel-orders/{id}/status" -s benches/channel/status.lua "http://127.0.0.1:$port"
wal
grep -ciE "warn|error" "$work/serve.log" | xargs echo "warning or error lines in the server's log:"
grep -iE "warn|error" "$work/serve.log" | cut -c1-200 | sort | uniq -c | sort -rn | head -5
