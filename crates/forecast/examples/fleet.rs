//! Choosing and fitting the daily model of 1,000 restaurants with three years of history each, on every
//! core: `cargo run --release -p brigade-forecast --example fleet [RESTAURANTS]` (figures in
//! BENCHMARKS.md). Each restaurant's series differs (its own weekly shape, level, trend and noise).

use std::time::Instant;

use brigade_forecast::backtest::DEFAULT_WINDOWS;
use brigade_forecast::{Granularity, Method, Series, Step, train};

fn restaurant(seed: u64) -> (Vec<f64>, Vec<Step>) {
    let mut state = seed.wrapping_mul(0x9E3779B97F4A7C15) | 1;
    let mut noise = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f64 / (1u64 << 31) as f64) - 0.5
    };
    let level = 20.0 + 80.0 * (noise() + 0.5);
    let closed_day = (seed % 8) as usize; // 7: open every day
    let shape: Vec<f64> = (0..7).map(|_| 0.6 + 0.8 * (noise() + 0.5)).collect();
    let days = 3 * 365;
    let steps: Vec<Step> = (0..days + 28)
        .map(|i| Step {
            open: i % 7 != closed_day,
            weekday: (i % 7) as u8,
            hour: 0,
            day_of_year: (i % 365 + 1) as u16,
            holiday: false,
        })
        .collect();
    let values = (0..days)
        .map(|i| {
            if !steps[i].open {
                return 0.0;
            }
            let year = 1.0 + 0.15 * (i as f64 / 365.0 * std::f64::consts::TAU).sin();
            (level * shape[i % 7] * year * (1.0 + i as f64 / 4000.0) + level.sqrt() * 2.0 * noise())
                .round()
                .max(0.0)
        })
        .collect();
    (values, steps)
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1000);
    let series: Vec<(Vec<f64>, Vec<Step>)> = (0..n as u64).map(restaurant).collect();
    let threads = std::thread::available_parallelism()
        .map(|p| p.get())
        .unwrap_or(1);
    let started = Instant::now();
    let chosen: Vec<Method> = std::thread::scope(|scope| {
        let chunks: Vec<_> = series
            .chunks(n.div_ceil(threads))
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|(values, steps)| {
                            let s = Series::new(Granularity::Daily, values, steps).unwrap();
                            train(&s, DEFAULT_WINDOWS).unwrap().1.chosen
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        chunks.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{n} restaurants, 3 years of days each: chosen and fitted in {elapsed:.1} s on {threads} thread(s) ({:.1} ms per restaurant per thread)",
        elapsed * 1000.0 * threads as f64 / n as f64
    );
    for method in Method::ALL {
        let count = chosen.iter().filter(|m| **m == method).count();
        println!("  {:<16} chosen for {count}", method.name());
    }
}
