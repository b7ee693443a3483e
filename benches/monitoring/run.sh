#!/usr/bin/env bash
# Store monitoring at full size against a release build: import the ~1.86 million polls of 13,974 stores,
# import them again (nothing new is stored), then compute the report from the database.
# Usage: benches/monitoring/run.sh [sqlite|postgres]   (PostgreSQL at 127.0.0.1:5432)
# The poll file is generated once by ../shared/data/store-monitoring/generate_status.py (needs numpy and
# pandas) into $BRIGADE_BENCH_DATA (default ~/.cache/brigade/monitoring-full), with the real business hours
# and time zones beside it.
set -euo pipefail
cd "$(dirname "$0")/../.."
backend="${1:-sqlite}"
shared="$(cd ../shared/data/store-monitoring && pwd)"
data="${BRIGADE_BENCH_DATA:-$HOME/.cache/brigade/monitoring-full}"
bin="${CARGO_TARGET_DIR:-target}/release/brigade"
cargo build --release -p brigade >/dev/null
if [ ! -s "$data/store_status.csv" ]; then
  mkdir -p "$data"
  python3 "$shared/generate_status.py" "$shared" "$data/store_status.csv"
fi
cp -f "$shared/business_hours.csv" "$shared/timezones.csv" "$data/"
work=$(mktemp -d)
export BRIGADE_LOG_LEVEL=warn
if [ "$backend" = postgres ]; then
  db="brigade_bench_monitoring_$$"
  psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db"
  export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db"
fi
cleanup() {
  [ "$backend" = postgres ] && psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db" || true
  rm -rf "$work"
}
trap cleanup EXIT
"$bin" --data-dir "$work/data" migrate >/dev/null
measure() {
  /usr/bin/time -f "  wall %e s, peak memory %M KiB" "$bin" --data-dir "$work/data" "$@" 2>&1 | grep -v "^rejected"
}
echo "== $backend: import ($(wc -l <"$data/store_status.csv") lines of polls)"
measure monitoring import --dir "$data"
echo "== $backend: import again"
measure monitoring import --dir "$data"
for run in 1 2 3; do
  echo "== $backend: report, run $run"
  measure monitoring report --out "$work/report.csv"
done
echo "rows: $(($(wc -l <"$work/report.csv") - 1))"
