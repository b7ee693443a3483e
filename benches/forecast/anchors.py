#!/usr/bin/env python3
"""Reference forecasters ("anchors") for Brigade's forecasting crate, backtested exactly as
crates/forecast/src/backtest.rs backtests its own methods, so the MASE numbers compare one to one.

Usage (benches/forecast/anchors.sh sets up the pinned environment and passes its arguments here):
  anchors.py SERIES.csv [SERIES.csv ...] [--granularity daily|hourly] [--windows 4] [--json OUT]
             [--anchors seasonal_naive,auto_ets,auto_theta,mstl_ets,lightgbm] [--ets-season N]

Each SERIES.csv has the header `start,value,open`, one row per step with no gaps: `start` is a local date
(2016-01-01) for daily series or a local hour (2016-01-01T13:00) for hourly ones; `value` is the orders
in the step; `open` is 1 or 0. --granularity is read from `start` when not given.
(benches/forecast/series_from_dataset.py makes such files from the public order logs.)

The backtest, as in the Rust crate (season s = 7 or 168 steps, window H = 28 or 168 steps, training
length T = 371 or 1344 steps, for daily or hourly series):
- n rows; windows = min(--windows, (n - s) // H); origins o_i = n - (windows - i) * H.
- At each origin every anchor sees values[:o] only. Closed steps of that history are filled first: the
  mean of the same step 1, 2, ... seasons earlier among those that were open (at most 4), else 0.
  The models fit on the last T filled values; the LightGBM lag features may read further back.
- Forecasts of the H steps after o are clamped at 0 and set to 0 on closed steps.
- MASE of a window = mean |y - f| over its H steps (open or not) / scale, where scale = mean of
  |y_t - y_{t-s}| over t in [max(s, o - T), o) on the raw values (1 when that is 0). sMAPE =
  mean of 200 |y - f| / (|y| + |f|) (0 when both are 0). Both are averaged over the windows; an
  anchor that fails in any window is reported as failed, as the crate drops such candidates.
- Seconds per fit: wall time of one fit and forecast, averaged over the windows (one thread).

The anchors:
- seasonal_naive: the last season of filled history repeated (the crate's SeasonalNaive).
- auto_ets: statsforecast AutoETS(season_length=s) (or --ets-season), chosen by AICc.
- auto_theta: statsforecast AutoTheta(season_length=s).
- mstl_ets: statsforecast MSTL(season_length=[7] daily, [24, 168] hourly) with an AutoETS("AZN")
  trend: the same construction as the crate's Ets method (augurs MSTL + AutoETS "AZN").
- lightgbm: one LightGBM regressor (L2, library defaults, 1 thread) per origin, direct strategy: every
  feature of step t reads values at least H steps before t, so one model forecasts all H steps from
  the origin. Features (the crate's Boosted features less the holiday flag, which the CSV lacks): the
  same step 1..4 seasons before the horizon (lags ceil(H/s)*s + k*s), the mean of the season ending H
  steps back, weekday, hour, day of year, the value 364 days back (daily) or H + 24 hours back
  (hourly), and the first lag divided by that mean. It trains on the open steps of the last T steps
  (from step H + s on) and needs 2 s of them.
"""

import os

# One thread everywhere, as the crate fits (before numpy and the model libraries load).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import csv  # noqa: E402
import datetime as dt  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import lightgbm as lgb  # noqa: E402
import numpy as np  # noqa: E402
from statsforecast.models import MSTL, AutoETS, AutoTheta  # noqa: E402

GRANULARITY = {
    # season, window length (= longest horizon), training length, steps in a day
    "daily": dict(season=7, horizon=28, max_training=371, day=1),
    "hourly": dict(season=168, horizon=168, max_training=8 * 168, day=24),
}
ANCHORS = ("seasonal_naive", "auto_ets", "auto_theta", "mstl_ets", "lightgbm")
# LightGBM's defaults (100 rounds of 31 leaves, learning rate 0.1) on one thread, seeded.
LGBM_ROUNDS = 100
LGBM_PARAMS = dict(objective="regression", num_threads=1, seed=7, deterministic=True, verbose=-1)


@dataclass
class Series:
    path: str
    granularity: str
    starts: list  # datetimes
    labels: list  # the `start` column as written
    values: np.ndarray  # float, raw
    open: np.ndarray  # bool
    weekday: np.ndarray  # 0 = Monday
    hour: np.ndarray
    day_of_year: np.ndarray  # 1..366


def read_series(path, granularity):
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    if not rows or [c.strip() for c in rows[0]] != ["start", "value", "open"]:
        raise SystemExit(f"{path}: the header must be start,value,open")
    rows = [r for r in rows[1:] if r]
    if not rows:
        raise SystemExit(f"{path}: no rows")
    hourly = "T" in rows[0][0] or " " in rows[0][0].strip()
    found = "hourly" if hourly else "daily"
    if granularity is not None and granularity != found:
        raise SystemExit(f"{path}: --granularity {granularity}, but its starts look {found}")
    step = dt.timedelta(hours=1) if hourly else dt.timedelta(days=1)
    starts, labels, values, opens = [], [], [], []
    for i, (start, value, is_open) in enumerate(rows, start=2):
        t = dt.datetime.fromisoformat(start.strip())
        if starts and t - starts[-1] != step:
            raise SystemExit(f"{path}:{i}: {start.strip()} does not follow {labels[-1]} by one step")
        v = float(value)
        if not math.isfinite(v) or v < 0:
            raise SystemExit(f"{path}:{i}: the value must be finite and not negative")
        if is_open.strip() not in ("0", "1"):
            raise SystemExit(f"{path}:{i}: open must be 0 or 1")
        starts.append(t)
        labels.append(start.strip())
        values.append(v)
        opens.append(is_open.strip() == "1")
    return Series(
        path=path,
        granularity=found,
        starts=starts,
        labels=labels,
        values=np.array(values, dtype=float),
        open=np.array(opens, dtype=bool),
        weekday=np.array([t.weekday() for t in starts]),
        hour=np.array([t.hour for t in starts]),
        day_of_year=np.array([t.timetuple().tm_yday for t in starts]),
    )


def filled(values, open_, season):
    """Closed steps get the mean of the same step 1..4 seasons earlier among the open ones, else 0
    (the crate's Series::filled)."""
    out = values.astype(float).copy()
    for i in np.flatnonzero(~open_):
        total, seen, j = 0.0, 0, i
        while j >= season and seen < 4:
            j -= season
            if open_[j]:
                total += out[j]
                seen += 1
        out[i] = total / seen if seen else 0.0
    return out


def mase_scale(raw, season, max_training):
    o = len(raw)
    start = max(season, o - max_training)
    if start >= o:
        return 1.0
    mean = float(np.mean(np.abs(raw[start:o] - raw[start - season : o - season])))
    return mean if mean > 0 else 1.0


@dataclass
class Origin:
    """What an anchor may know at an origin."""

    series: Series
    o: int
    h: int
    season: int
    max_training: int
    day: int
    history: np.ndarray  # filled values[:o]

    @property
    def train(self):
        return self.history[max(0, self.o - self.max_training) :]


# ---- the anchors: each returns H raw forecasts -------------------------------------------------------


def seasonal_naive(x: Origin, opts):
    s = x.season
    return np.array([x.history[x.o - s + k % s] for k in range(x.h)])


def _statsforecast(model, x: Origin):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(model.forecast(y=x.train, h=x.h)["mean"], dtype=float)


def auto_ets(x: Origin, opts):
    return _statsforecast(AutoETS(season_length=opts.ets_season or x.season), x)


def auto_theta(x: Origin, opts):
    return _statsforecast(AutoTheta(season_length=x.season), x)


def mstl_ets(x: Origin, opts):
    periods = [7] if x.series.granularity == "daily" else [24, 168]
    return _statsforecast(MSTL(season_length=periods, trend_forecaster=AutoETS(model="AZN")), x)


FEATURE_NAMES = (
    "lag_1_season_before_h",
    "lag_2_seasons_before_h",
    "lag_3_seasons_before_h",
    "lag_4_seasons_before_h",
    "mean_of_season_ending_h_back",
    "weekday",
    "hour",
    "day_of_year",
    "lag_364d_or_h_plus_24h",
    "lag_1_over_mean",
)


def lgbm_features(x: Origin, t):
    """Features of steps t (all < o + H), reading filled history only (at least H steps back)."""
    s, w, hist = x.season, x.h, x.history
    t = np.asarray(t)

    def lag(back):
        out = np.full(len(t), np.nan)
        ok = t >= back
        out[ok] = hist[t[ok] - back]  # t - back < o always, as back >= H
        return out

    first = -(-w // s) * s
    lags = [lag(first + k * s) for k in range(4)]
    cs = np.concatenate([[0.0], np.cumsum(hist)])
    level = np.full(len(t), np.nan)
    ok = t >= w + s
    level[ok] = (cs[t[ok] - w] - cs[t[ok] - w - s]) / s
    cal = x.series
    year = lag(364) if cal.granularity == "daily" else lag(w + x.day)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(np.isfinite(level) & (level > 0), lags[0] / level, np.nan)
    return np.column_stack(
        lags + [level, cal.weekday[t], cal.hour[t], cal.day_of_year[t], year, ratio]
    ).astype(float)


def lightgbm(x: Origin, opts):
    first = max(x.o - x.max_training, x.h + x.season)
    rows = np.array([t for t in range(first, x.o) if x.series.open[t]], dtype=int)
    if len(rows) < 2 * x.season:
        raise ValueError(f"not enough history: {len(rows)} open training steps, {2 * x.season} needed")
    data = lgb.Dataset(lgbm_features(x, rows), label=x.series.values[rows], params=dict(verbose=-1))
    model = lgb.train(LGBM_PARAMS, data, num_boost_round=LGBM_ROUNDS)
    return model.predict(lgbm_features(x, np.arange(x.o, x.o + x.h)))


FORECASTERS = {
    "seasonal_naive": seasonal_naive,
    "auto_ets": auto_ets,
    "auto_theta": auto_theta,
    "mstl_ets": mstl_ets,
    "lightgbm": lightgbm,
}


# ---- the backtest -------------------------------------------------------------------------------------


def clean(raw, open_future):
    raw = np.asarray(raw, dtype=float)
    return np.where(open_future & np.isfinite(raw), np.maximum(raw, 0.0), 0.0)


def smape(y, f):
    denom = np.abs(y) + np.abs(f)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(y + f == 0, 0.0, 200.0 * np.abs(y - f) / denom)
    return float(np.mean(terms))


def backtest(series: Series, windows_wanted, anchors, opts):
    g = GRANULARITY[series.granularity]
    s, h, mt = g["season"], g["horizon"], g["max_training"]
    n = len(series.values)
    windows = min(windows_wanted, max(0, n - s) // h)
    result = dict(
        path=series.path,
        granularity=series.granularity,
        steps=n,
        first=series.labels[0],
        last=series.labels[-1],
        season=s,
        horizon=h,
        max_training=mt,
        windows=windows,
        origins=[],
        anchors=[],
    )
    if windows == 0:
        result["error"] = f"not enough history: {s + h} steps needed, {n} available"
        return result
    origins = [n - (windows - i) * h for i in range(windows)]
    result["origins"] = [dict(index=o, start=series.labels[o]) for o in origins]
    contexts = [
        Origin(series, o, h, s, mt, g["day"], filled(series.values[:o], series.open[:o], s))
        for o in origins
    ]
    scales = [mase_scale(series.values[:o], s, mt) for o in origins]
    for name in anchors:
        fit = FORECASTERS[name]
        entry = dict(anchor=name, mase=None, smape=None, seconds_per_fit=None)
        if name == "auto_ets":
            entry["season_length"] = opts.ets_season or s
        elif name == "auto_theta":
            entry["season_length"] = s
        elif name == "mstl_ets":
            entry["season_length"] = [7] if series.granularity == "daily" else [24, 168]
        mases, smapes, seconds = [], [], []
        try:
            for x, scale in zip(contexts, scales):
                started = time.perf_counter()
                raw = fit(x, opts)
                seconds.append(time.perf_counter() - started)
                if len(raw) != h:
                    raise ValueError(f"{len(raw)} forecasts for {h} steps")
                f = clean(raw, series.open[x.o : x.o + h])
                y = series.values[x.o : x.o + h]
                mases.append(float(np.mean(np.abs(y - f))) / scale)
                smapes.append(smape(y, f))
        except Exception as e:  # the anchor could not forecast every window
            entry["error"] = f"{type(e).__name__}: {e}"
        else:
            entry.update(
                mase=float(np.mean(mases)),
                smape=float(np.mean(smapes)),
                seconds_per_fit=float(np.mean(seconds)),
                mase_per_window=mases,
                smape_per_window=smapes,
                seconds_per_window=seconds,
            )
        result["anchors"].append(entry)
        status = entry.get("error") or "MASE %.3f, %.3f s per fit" % (entry["mase"], entry["seconds_per_fit"])
        print(f"  {name}: {status}", file=sys.stderr)
    result["mase_scales"] = scales
    return result


def markdown(result):
    name = os.path.basename(result["path"])
    lines = [f"### {name}", ""]
    if result.get("error"):
        return "\n".join(lines + [result["error"], ""])
    o = result["origins"]
    lines += [
        f"{result['granularity']}, {result['steps']} steps {result['first']}..{result['last']}; "
        f"{result['windows']} window{'s' if result['windows'] > 1 else ''} of {result['horizon']} steps "
        f"from {o[0]['start']} "
        f"(season {result['season']}, training {result['max_training']} steps)",
        "",
        "| anchor | mean MASE | sMAPE | seconds per fit |",
        "|---|---:|---:|---:|",
    ]
    for a in result["anchors"]:
        label = a["anchor"]
        if "season_length" in a:
            label += f" (season {a['season_length']})"
        if a["mase"] is None:
            lines.append(f"| {label} | failed: {a['error']} | | |")
        else:
            lines.append(
                f"| {label} | {a['mase']:.3f} | {a['smape']:.1f} | {a['seconds_per_fit']:.4f} |"
            )
    return "\n".join(lines + [""])


def versions():
    out = dict(python=platform.python_version())
    for mod in ("numpy", "pandas", "statsforecast", "lightgbm"):
        try:
            out[mod] = __import__(mod).__version__
        except Exception:
            out[mod] = None
    return out


def main():
    p = argparse.ArgumentParser(
        description="Backtest reference forecasters on series CSVs as Brigade's forecast crate does."
    )
    p.add_argument("files", nargs="+", metavar="SERIES.csv")
    p.add_argument("--granularity", choices=tuple(GRANULARITY), help="default: read from `start`")
    p.add_argument("--windows", type=int, default=4)
    p.add_argument("--json", metavar="OUT", help="write the results here")
    p.add_argument("--anchors", default=",".join(ANCHORS), help="comma-separated subset")
    p.add_argument("--ets-season", type=int, help="AutoETS season length (default: the series' season)")
    opts = p.parse_args()
    anchors = [a.strip() for a in opts.anchors.split(",") if a.strip()]
    unknown = [a for a in anchors if a not in FORECASTERS]
    if unknown or opts.windows < 1:
        p.error(f"unknown anchors {unknown}: one of {', '.join(ANCHORS)}" if unknown else "--windows >= 1")

    started = time.perf_counter()
    results = []
    for path in opts.files:
        series = read_series(path, opts.granularity)
        print(f"{path}:", file=sys.stderr)
        result = backtest(series, opts.windows, anchors, opts)
        results.append(result)
        print(markdown(result), flush=True)
    report = dict(
        windows_requested=opts.windows,
        anchors=anchors,
        lightgbm_params=dict(LGBM_PARAMS, num_boost_round=LGBM_ROUNDS),
        lightgbm_features=list(FEATURE_NAMES),
        versions=versions(),
        seconds_total=time.perf_counter() - started,
        files=results,
    )
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump(report, f, indent=2)
            f.write("\n")
        print(f"wrote {opts.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
