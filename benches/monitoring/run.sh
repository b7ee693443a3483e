#!/usr/bin/env bash
# Store monitoring at full size against a release build: import the ~1.86 million polls of 13,974 stores,
# import them again (nothing new is stored), then compute the report from the database.
# Usage: benches/monitoring/run.sh [sqlite|postgres]   (PostgreSQL at 127.0.0.1:5432)
# The poll file is generated once by ../shared/data/store-monitoring/generate_status.py (numpy and pandas,
# in a virtualenv at $BRIGADE_BENCH_VENV, default ~/.cache/brigade/monitoring-venv, made on first use) into
# $BRIGADE_BENCH_DATA (default ~/.cache/brigade/monitoring-full), with the real business hours and time
# zones beside it.
# SCALE=10 copies every store of those three files ten times under new ids (`<id>x<copy>`; copy 0 keeps its
# id): 139,740 stores and 18.6 million polls, in $BRIGADE_BENCH_DATA-x10.
set -euo pipefail
cd "$(dirname "$0")/../.."
backend="${1:-sqlite}"
scale="${SCALE:-1}"
shared="$(cd ../shared/data/store-monitoring && pwd)"
full="${BRIGADE_BENCH_DATA:-$HOME/.cache/brigade/monitoring-full}"
bin="${CARGO_TARGET_DIR:-target}/release/brigade"
cargo build --release -p brigade >/dev/null
if [ ! -s "$full/store_status.csv" ]; then
  venv="${BRIGADE_BENCH_VENV:-$HOME/.cache/brigade/monitoring-venv}"
  if ! "$venv/bin/python" -c "import numpy, pandas" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q numpy pandas >&2
  fi
  mkdir -p "$full"
  "$venv/bin/python" "$shared/generate_status.py" "$shared" "$full/store_status.csv"
fi
cp -f "$shared/business_hours.csv" "$shared/timezones.csv" "$full/"
data="$full"
if [ "$scale" != 1 ]; then
  data="$full-x$scale"
  mkdir -p "$data"
  for f in store_status.csv business_hours.csv timezones.csv; do
    if [ ! -s "$data/$f" ] || [ "$full/$f" -nt "$data/$f" ]; then
      # Copy by copy, so that each copy's polls stay shuffled among themselves as in the original file.
      awk -F, -v OFS=, -v n="$scale" 'NR == 1 { print; next } { line[++rows] = $0 }
        END { for (c = 0; c < n; c++) for (i = 1; i <= rows; i++) {
          $0 = line[i]; if (c > 0) $1 = $1 "x" c; print } }' "$full/$f" >"$data/$f.tmp"
      mv "$data/$f.tmp" "$data/$f"
    fi
  done
fi
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
