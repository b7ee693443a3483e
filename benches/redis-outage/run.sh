#!/usr/bin/env bash
# Orders under load while Redis goes away and comes back, against a release build on PostgreSQL and a
# redis-server this script starts (and kills) itself.
#
# Timeline, one wrk slice per second of POST /api/orders (benches/http/order.lua, 32 connections):
#   BEFORE seconds with Redis up; kill -9 Redis; DURING seconds without it; restart Redis; AFTER seconds.
# Prints every slice (orders/s, p99, failed requests) and the targets: during the outage at least 50% of
# the normal rate with p99 under 1 s; full speed (90% of normal) within 5 s after Redis returns.
# Rate limits stay on (they count in process while Redis is down), set high enough not to cap one token.
#
# Usage: benches/redis-outage/run.sh   (PostgreSQL at 127.0.0.1:5432; needs wrk and redis-server)
set -euo pipefail
cd "$(dirname "$0")/../.."
before="${BEFORE:-10}" during="${DURING:-10}" after="${AFTER:-10}"
bin="${CARGO_TARGET_DIR:-target}/release/brigade"
cargo build --release -p brigade >/dev/null
work=$(mktemp -d)
port=18090
redis_port=16399
db="brigade_bench_outage_$$"
psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
export REDIS_URL="redis://127.0.0.1:$redis_port" BRIGADE_REDIS_PREFIX="outage-$$"
export BRIGADE_LOG_LEVEL=warn BRIGADE_PUBLIC_URL="http://127.0.0.1:$port" BRIGADE_DATABASE_MAX_CONNECTIONS=20
export BRIGADE_RATE_LIMIT__PER_IP_PER_MINUTE=1000000000 BRIGADE_RATE_LIMIT__PER_TOKEN_PER_MINUTE=1000000000

redis_pid=""
start_redis() {
  redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --daemonize no \
    >"$work/redis.log" 2>&1 &
  redis_pid=$!
  disown "$redis_pid"  # killed on purpose below: no job-control notice
  for _ in $(seq 1 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && return; sleep 0.05; done
  echo "redis-server did not start" >&2; exit 1
}
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  [ -n "$redis_pid" ] && kill -9 "$redis_pid" 2>/dev/null || true
  psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db" || true
  rm -rf "$work"
}
server=""
trap cleanup EXIT
start_redis
"$bin" --data-dir "$work/data" serve --demo --bind "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server=$!
for _ in $(seq 1 150); do curl -fs "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.2; done
json() { python3 -c "import sys,json; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
export TOKEN=$(curl -s -X POST "127.0.0.1:$port/api/auth/login" -H 'content-type: application/json' \
  -d '{"email":"customer@demo.brigade","password":"brigade-demo"}' | json 'd["data"]["tokens"]["access_token"]')
export VENUE=$(curl -s "127.0.0.1:$port/api/venues/qr/CHAI" | json 'd["data"]["venue"]["id"]')
export ITEM=$(curl -s "127.0.0.1:$port/api/venues/$VENUE/menu" | json 'd["data"]["categories"][0]["items"][0]["id"]')
# Warm up (connections, caches, prepared statements; the demo's first rollup and scoring jobs run meanwhile).
wrk -t2 -c32 -d${WARMUP:-15}s -s benches/http/order.lua "http://127.0.0.1:$port" >/dev/null

results="$work/slices.tsv"
slice() { # phase second
  local out rate p99 bad
  out=$(wrk -t2 -c32 -d1s --latency -s benches/http/order.lua "http://127.0.0.1:$port" 2>&1)
  rate=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  bad=$(awk '/non-2xx or socket errors/ {print $NF}' <<<"$out")
  printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$rate" "$p99" "${bad:-0}" | tee -a "$results"
}
printf 'phase\tsecond\torders/s\tp99\tfailed\n'
for s in $(seq 1 "$before"); do slice before "$s"; done
kill -9 "$redis_pid"; wait "$redis_pid" 2>/dev/null || true; redis_pid=""
for s in $(seq 1 "$during"); do slice during "$s"; done
ready_during=$(curl -s "127.0.0.1:$port/ready")
start_redis
for s in $(seq 1 "$after"); do slice after "$s"; done
ready_after=$(curl -s "127.0.0.1:$port/ready")
orders=$(curl -s "127.0.0.1:$port/api/orders?per_page=1" -H "authorization: Bearer $TOKEN" | json 'd["data"]["pagination"]["total"]')

python3 - "$results" "$ready_during" "$ready_after" "$orders" <<'EOF'
import json, sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().split("\n") if l]
def ms(v):
    v = v.strip()
    for unit, f in (("us", 1e-3), ("ms", 1.0), ("s", 1000.0)):
        if v.endswith(unit):
            return float(v[: -len(unit)]) * f
    return float("nan")
phase = lambda p: [(float(r[2]), ms(r[3]), int(r[4])) for r in rows if r[0] == p]
b, d, a = phase("before"), phase("during"), phase("after")
normal = sum(r for r, _, _ in b) / len(b)
during = sum(r for r, _, _ in d) / len(d)
back = next((i + 1 for i, (r, _, _) in enumerate(a) if r >= 0.9 * normal), None)
print()
print(f"before: {normal:,.0f} orders/s, p99 max {max(p for _, p, _ in b):.1f} ms, failed {sum(f for *_, f in b)}")
print(f"during: {during:,.0f} orders/s = {100 * during / normal:.0f}% of normal, p99 max {max(p for _, p, _ in d):.1f} ms, failed {sum(f for *_, f in d)}")
print(f"after:  {sum(r for r, _, _ in a) / len(a):,.0f} orders/s, first second at >= 90% of normal: {back}, failed {sum(f for *_, f in a)}")
print("/ready during:", json.loads(sys.argv[2])["status"], "| after:", json.loads(sys.argv[3])["status"])
print("orders stored:", sys.argv[4])
ok = during >= 0.5 * normal and max(p for _, p, _ in d) < 1000 and back is not None and back <= 5
print("targets (>= 50% during, p99 < 1 s, full speed within 5 s):", "met" if ok else "NOT met")
EOF
