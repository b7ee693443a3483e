#!/usr/bin/env bash
# Brigade's backtest beside the Python anchors on exactly the same series: imports the three public
# order logs into a scratch data directory (release build), exports each restaurant's daily and hourly
# series as of the end of its log (`brigade forecast export`), backtests Brigade's candidates on it
# (`brigade forecast backtest`) and the anchors (anchors.sh) on the exported CSV.
# Usage: benches/forecast/compare.sh [DATA_ROOT]   (default ../shared/data/orders)
set -euo pipefail
cd "$(dirname "$0")/../.."
root="${1:-../shared/data/orders}"
cargo build --release -p brigade >&2
bin="${CARGO_TARGET_DIR:-target}/release/brigade"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export BRIGADE_LOG_LEVEL=warn
"$bin" --data-dir "$work/data" orders import --format pizza-sales "$root/pizza-sales" >/dev/null
"$bin" --data-dir "$work/data" orders import --format london-takeaway "$root/london-takeaway" >/dev/null
"$bin" --data-dir "$work/data" orders import --format bread-basket "$root/edinburgh-bakery" >/dev/null
# (restaurant, the instant its log ends)
for pair in pizza-sales,2016-01-01T00:00:00Z london-takeaway-1,2019-08-04T00:00:00Z the-bread-basket,2017-04-10T00:00:00Z; do
  restaurant=${pair%,*}
  as_of=${pair#*,}
  for granularity in daily hourly; do
    echo "=== $restaurant, $granularity, as of $as_of"
    csv="$work/$restaurant-$granularity.csv"
    "$bin" --data-dir "$work/data" forecast export --restaurant "$restaurant" --granularity "$granularity" --as-of "$as_of" --out "$csv" 2>/dev/null
    echo "--- Brigade"
    "$bin" --data-dir "$work/data" forecast backtest --restaurant "$restaurant" --granularity "$granularity" --as-of "$as_of" | tail -n +2
    echo "--- anchors"
    benches/forecast/anchors.sh "$csv" --granularity "$granularity"
  done
done
