#!/usr/bin/env python3
"""Order-count series for the forecast anchors (benches/forecast/anchors.py), built from the public order
logs in shared/data/orders until Brigade exports its own series.

Usage:
  series_from_dataset.py DATASET --out-dir DIR [--granularity daily|hourly|both] [--data-dir D]
                         [--since YYYY-MM-DD] [--zero-days auto|closed|open] [--hour-share 0.05]
DATASET is london-takeaway, edinburgh-bakery (the "Bread Basket") or pizza-sales. Writes
DIR/DATASET-daily.csv and/or DIR/DATASET-hourly.csv with the header `start,value,open`. Needs only the
standard library.

The rules (one per question; each prints what it found on stderr):
- An order is one distinct order id: OrderNumber (london-takeaway), Transaction (edinburgh-bakery, all
  of them, "NONE"-only ones too), order_id (pizza-sales). It counts at the local date and hour of its
  (earliest) timestamp, taken as written: the logs are local times with no zone.
- The span runs from the first local day with an order to the last (or from --since), every day in it,
  and every hour of those days for hourly series (24 steps a day).
- Closed days (--zero-days auto, the default): a weekday is a *regular closed day* when it had no
  orders on at least half of its occurrences in the span. If the business has one, every day with no
  orders is closed (open=0); if it has none, days with no orders are open with value 0 (demand was
  zero, or the closure was a one-off the data cannot tell from demand). `closed` and `open` force
  either reading.
- Opening hours (hourly only): an hour of the day is within opening hours when orders fell in it on
  at least --hour-share (5%) of the days that had orders. An hour step is open when its day is open
  and its hour is within opening hours. Orders outside those hours still count in the value of
  their (closed) step: they happened.
"""

import argparse
import csv
import datetime as dt
import os
import sys
from collections import Counter

DATASETS = ("london-takeaway", "edinburgh-bakery", "pizza-sales")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def read_orders(dataset, data_dir):
    """The local timestamp of each distinct order (its earliest row)."""
    first = {}

    def see(order_id, ts):
        if order_id not in first or ts < first[order_id]:
            first[order_id] = ts

    folder = os.path.join(data_dir, dataset)
    if dataset == "london-takeaway":
        with open(os.path.join(folder, "restaurant-1-orders.csv"), newline="", encoding="utf-8-sig") as f:
            for row in csv.DictReader(f):
                see(row["OrderNumber"], dt.datetime.strptime(row["OrderDate"], "%d/%m/%Y %H:%M"))
    elif dataset == "edinburgh-bakery":
        with open(os.path.join(folder, "BreadBasket_DMS.csv"), newline="", encoding="utf-8-sig") as f:
            for row in csv.DictReader(f):
                see(row["Transaction"], dt.datetime.fromisoformat(f"{row['Date']}T{row['Time']}"))
    elif dataset == "pizza-sales":
        with open(os.path.join(folder, "orders.csv"), newline="", encoding="cp1252") as f:
            for row in csv.DictReader(f):
                see(row["order_id"], dt.datetime.fromisoformat(f"{row['date']}T{row['time']}"))
    else:
        raise SystemExit(f"unknown dataset {dataset!r}: one of {', '.join(DATASETS)}")
    return list(first.values())


def build(orders, since, zero_days, hour_share):
    """(days, daily counts, open days, hourly counts, opening hours) over the span."""
    if since is not None:
        orders = [t for t in orders if t.date() >= since]
    if not orders:
        raise SystemExit("no orders in the span")
    per_day = Counter(t.date() for t in orders)
    per_hour = Counter((t.date(), t.hour) for t in orders)
    start = since if since is not None else min(per_day)
    end = max(per_day)
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]

    zero_by_weekday = Counter(d.weekday() for d in days if per_day[d] == 0)
    all_by_weekday = Counter(d.weekday() for d in days)
    regular = [w for w in range(7) if zero_by_weekday[w] * 2 >= all_by_weekday[w] > 0]
    zero = sum(zero_by_weekday.values())
    if zero_days == "auto":
        closing = bool(regular)
        why = (
            f"regular closed weekdays {', '.join(WEEKDAYS[w] for w in regular)}"
            if regular
            else "no regular closed weekday"
        )
    else:
        closing = zero_days == "closed"
        why = f"--zero-days {zero_days}"
    open_day = {d: per_day[d] > 0 or not closing for d in days}
    print(
        f"  {len(orders)} orders, {len(days)} days {start}..{end}, {zero} with no orders "
        f"({dict((WEEKDAYS[w], c) for w, c in sorted(zero_by_weekday.items()))}); {why}: "
        f"{'closed' if closing else 'open with 0'}",
        file=sys.stderr,
    )

    days_with_orders = sum(1 for d in days if per_day[d] > 0)
    hours_seen = Counter(h for (_, h) in per_hour)
    opening = sorted(h for h in range(24) if hours_seen[h] >= hour_share * days_with_orders)
    outside = sum(c for (_, h), c in per_hour.items() if h not in opening)
    print(
        f"  opening hours (orders on >= {hour_share:.0%} of days with orders): "
        f"{', '.join(f'{h:02d}' for h in opening)}; {outside} orders fall outside them",
        file=sys.stderr,
    )
    return days, per_day, open_day, per_hour, set(opening)


def write_daily(path, days, per_day, open_day):
    with open(path, "w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["start", "value", "open"])
        for d in days:
            out.writerow([d.isoformat(), per_day[d], int(open_day[d])])


def write_hourly(path, days, per_hour, open_day, opening):
    with open(path, "w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["start", "value", "open"])
        for d in days:
            for h in range(24):
                out.writerow(
                    [f"{d.isoformat()}T{h:02d}:00", per_hour[(d, h)], int(open_day[d] and h in opening)]
                )


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("dataset", choices=DATASETS)
    p.add_argument("--out-dir", required=True)
    p.add_argument("--granularity", choices=("daily", "hourly", "both"), default="both")
    p.add_argument(
        "--data-dir",
        default=os.path.normpath(os.path.join(here, "..", "..", "..", "shared", "data", "orders")),
        help="folder holding the datasets (default: shared/data/orders beside the repository)",
    )
    p.add_argument("--since", type=dt.date.fromisoformat, help="first day of the span")
    p.add_argument("--zero-days", choices=("auto", "closed", "open"), default="auto")
    p.add_argument("--hour-share", type=float, default=0.05)
    a = p.parse_args()

    print(f"{a.dataset}:", file=sys.stderr)
    orders = read_orders(a.dataset, a.data_dir)
    days, per_day, open_day, per_hour, opening = build(orders, a.since, a.zero_days, a.hour_share)
    os.makedirs(a.out_dir, exist_ok=True)
    if a.granularity in ("daily", "both"):
        path = os.path.join(a.out_dir, f"{a.dataset}-daily.csv")
        write_daily(path, days, per_day, open_day)
        print(f"  wrote {path} ({len(days)} rows)", file=sys.stderr)
    if a.granularity in ("hourly", "both"):
        path = os.path.join(a.out_dir, f"{a.dataset}-hourly.csv")
        write_hourly(path, days, per_hour, open_day, opening)
        print(f"  wrote {path} ({24 * len(days)} rows)", file=sys.stderr)


if __name__ == "__main__":
    main()
