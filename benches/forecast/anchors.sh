#!/usr/bin/env bash
# Reference forecasters ("anchors": statsforecast AutoETS, AutoTheta and MSTL+ETS, LightGBM, seasonal
# naive) backtested on series CSVs exactly as crates/forecast backtests its own methods, so their MASE
# compares one to one with the crate's (see anchors.py for the definitions).
# Usage: benches/forecast/anchors.sh SERIES.csv... [--granularity daily|hourly] [--windows 4] [--json OUT]
#        [--anchors seasonal_naive,auto_ets,auto_theta,mstl_ets,lightgbm] [--ets-season N]
# Series from the public order logs: benches/forecast/series_from_dataset.py DATASET --out-dir DIR
# The pinned packages go into a virtualenv at $BRIGADE_BENCH_VENV (default ~/.cache/brigade/forecast-venv),
# made on first use and updated when the pins below change.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${BRIGADE_BENCH_VENV:-$HOME/.cache/brigade/forecast-venv}"
pins=(statsforecast==2.1.1 lightgbm==4.7.0 pandas==2.3.3 numpy==2.4.6)
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if [ "$(cat "$venv/.brigade-pins" 2>/dev/null)" != "${pins[*]}" ]; then
  "$venv/bin/pip" install -q "${pins[@]}" >&2
  echo "${pins[*]}" >"$venv/.brigade-pins"
fi
exec "$venv/bin/python" "$here/anchors.py" "$@"
