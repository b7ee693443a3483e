//! Backtests every candidate on series CSVs, with no database: the quick loop for work on the methods.
//! `cargo run --release -p brigade-forecast --example backtest_csv -- SERIES.csv... [--windows N]`
//!
//! Each CSV has the header `start,value,open` (what `brigade forecast export` and
//! `benches/forecast/series_from_dataset.py` write): `start` is a local date (`2016-01-01`) for a daily
//! series or a local hour (`2016-01-01T13:00`) for an hourly one. The last 28 days (or 168 hours) of
//! calendar past the history are taken as open on the weekdays (and hours) that were open in the last
//! four weeks, as a backtest only reads the calendar of its windows, which lie inside the history.

use std::process::ExitCode;

use brigade_forecast::backtest::{DEFAULT_WINDOWS, backtest};
use brigade_forecast::{Granularity, Method, Series, Step};

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn parse_step(start: &str, open: bool) -> Result<(Granularity, Step), String> {
    let (date, hour) = match start.split_once('T') {
        Some((date, time)) => (date, Some(time)),
        None => (start, None),
    };
    let parts: Vec<i64> = date
        .split('-')
        .map(|p| p.parse::<i64>().map_err(|_| format!("bad date {start:?}")))
        .collect::<Result<_, _>>()?;
    let [y, m, d] = parts[..] else {
        return Err(format!("bad date {start:?}"));
    };
    let days = days_from_civil(y, m, d);
    let hour = match hour {
        Some(time) => time
            .get(..2)
            .and_then(|h| h.parse::<u8>().ok())
            .filter(|h| *h < 24)
            .ok_or_else(|| format!("bad hour {start:?}"))?,
        None => 0,
    };
    let granularity = if start.contains('T') {
        Granularity::Hourly
    } else {
        Granularity::Daily
    };
    Ok((
        granularity,
        Step {
            open,
            // 1970-01-01 was a Thursday (3, counting Monday as 0).
            weekday: (days + 3).rem_euclid(7) as u8,
            hour,
            day_of_year: (days - days_from_civil(y, 1, 1) + 1) as u16,
            holiday: false,
        },
    ))
}

fn read(path: &str) -> Result<(Granularity, Vec<f64>, Vec<Step>), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut values = Vec::new();
    let mut steps = Vec::new();
    let mut granularity = Granularity::Daily;
    for (i, line) in text.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.trim().split(',').collect();
        let [start, value, open] = fields[..] else {
            return Err(format!("{path}:{}: expected start,value,open", i + 1));
        };
        let value: f64 = value
            .parse()
            .map_err(|_| format!("{path}:{}: bad value {value:?}", i + 1))?;
        let (g, step) =
            parse_step(start, open == "1").map_err(|e| format!("{path}:{}: {e}", i + 1))?;
        granularity = g;
        values.push(value);
        steps.push(step);
    }
    if steps.is_empty() {
        return Err(format!("{path}: no rows"));
    }
    // The calendar after the history: the same step a week earlier.
    let s = granularity.season();
    for _ in 0..granularity.max_horizon() + granularity.day() {
        let mut next = steps[steps.len() - s];
        next.day_of_year = next.day_of_year % 365 + 1;
        steps.push(next);
    }
    Ok((granularity, values, steps))
}

fn main() -> ExitCode {
    let mut windows = DEFAULT_WINDOWS;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--windows" {
            match args.next().and_then(|w| w.parse().ok()) {
                Some(w) => windows = w,
                None => {
                    eprintln!("--windows takes a number");
                    return ExitCode::from(2);
                }
            }
        } else {
            paths.push(arg);
        }
    }
    if paths.is_empty() {
        eprintln!("usage: backtest_csv SERIES.csv... [--windows N]");
        return ExitCode::from(2);
    }
    let mut failed = false;
    for path in &paths {
        let (granularity, values, steps) = match read(path) {
            Ok(read) => read,
            Err(e) => {
                eprintln!("{e}");
                failed = true;
                continue;
            }
        };
        let series = match Series::new(granularity, &values, &steps) {
            Ok(series) => series,
            Err(e) => {
                eprintln!("{path}: {e}");
                failed = true;
                continue;
            }
        };
        match backtest(&series, &Method::ALL, windows) {
            Ok((result, _)) => {
                println!(
                    "=== {path}: {} steps, {} windows",
                    values.len(),
                    result.windows
                );
                println!(
                    "{:<16} {:>7} {:>8} {:>7} {:>7} {:>9}",
                    "method", "MASE", "sMAPE", "cov80", "cov95", "fit ms"
                );
                for c in &result.candidates {
                    println!(
                        "{:<16} {:>7.4} {:>8.2} {:>6.1}% {:>6.1}% {:>9.2}{}",
                        c.method.name(),
                        c.mase,
                        c.smape,
                        c.coverage_80 * 100.0,
                        c.coverage_95 * 100.0,
                        c.fit_ms,
                        if c.method == result.chosen {
                            "  chosen"
                        } else {
                            ""
                        }
                    );
                }
            }
            Err(e) => {
                eprintln!("{path}: {e}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
