//! Speed of choosing, fitting and using a model, on one core.
//! `cargo bench -p brigade-forecast` (figures in BENCHMARKS.md).

use brigade_forecast::backtest::DEFAULT_WINDOWS;
use brigade_forecast::{Granularity, Series, Step, train};
use criterion::{Criterion, criterion_group, criterion_main};

/// A restaurant's orders: a weekly pattern, yearly swing, trend, noise, closed on Mondays.
fn history(g: Granularity, steps: usize, seed: u64) -> (Vec<f64>, Vec<Step>) {
    let mut state = seed;
    let mut noise = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f64 / (1u64 << 31) as f64) - 0.5
    };
    let per_day = g.day();
    let calendar: Vec<Step> = (0..steps + g.max_horizon())
        .map(|i| {
            let day = i / per_day;
            let hour = (i % per_day) as u8;
            let open = !day.is_multiple_of(7) && (per_day == 1 || (11..23).contains(&hour));
            Step {
                open,
                weekday: (day % 7) as u8,
                hour,
                day_of_year: (day % 365 + 1) as u16,
                holiday: false,
            }
        })
        .collect();
    let values = (0..steps)
        .map(|i| {
            if !calendar[i].open {
                return 0.0;
            }
            let day = i / per_day;
            let week = [0.0, 30.0, 32.0, 35.0, 50.0, 80.0, 60.0][day % 7];
            let year = 1.0 + 0.2 * (day as f64 / 365.0 * std::f64::consts::TAU).sin();
            let hour = if per_day == 1 {
                1.0
            } else {
                [0.5, 1.5, 1.2, 0.6, 0.5, 0.6, 0.9, 1.4, 1.6, 1.2, 0.8, 0.5][(i % 24) - 11] / 10.0
            };
            (week * year * hour * (1.0 + day as f64 / 3000.0) + 8.0 * hour.sqrt() * noise())
                .round()
                .max(0.0)
        })
        .collect();
    (values, calendar)
}

fn bench(c: &mut Criterion) {
    let (values, steps) = history(Granularity::Daily, 3 * 365, 1);
    let series = Series::new(Granularity::Daily, &values, &steps).unwrap();
    c.bench_function("daily: choose and fit, 3 years, 4 windows", |b| {
        b.iter(|| train(&series, DEFAULT_WINDOWS).unwrap())
    });
    let (model, _) = train(&series, DEFAULT_WINDOWS).unwrap();
    c.bench_function(
        &format!(
            "daily: forecast 28 days with the chosen model ({})",
            model.method().name()
        ),
        |b| b.iter(|| model.forecast(&series, 28).unwrap()),
    );
    let (values, steps) = history(Granularity::Hourly, 12 * 168, 2);
    let series = Series::new(Granularity::Hourly, &values, &steps).unwrap();
    let mut group = c.benchmark_group("hourly");
    group.sample_size(10);
    group.bench_function("choose and fit, 12 weeks, 4 windows", |b| {
        b.iter(|| train(&series, DEFAULT_WINDOWS).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
