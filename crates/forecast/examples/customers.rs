//! Customer model figures for BENCHMARKS.md: customers simulated from a known BG/NBD process (purchase
//! rates Gamma(2, 20) per day, dropout after each purchase Beta(1.5, 6), spend around a per-customer mean),
//! then the restaurant's model fitted as Brigade fits it (BG/NBD + Gamma-Gamma, churn = no order within
//! 60 days, the last 60 days held out), with its Brier score against the base rate and the time taken.
//!
//! Run: `cargo run --release -p brigade-forecast --example customers [CUSTOMERS]`

use std::time::Instant;

use brigade_forecast::customers::{Purchases, fit_customers};

/// A small deterministic generator (no dependency for an example).
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Gamma by Marsaglia and Tsang (shape >= 1), with the usual boost below 1.
    fn gamma(&mut self, shape: f64, rate: f64) -> f64 {
        if shape < 1.0 {
            let u = self.uniform();
            return self.gamma(shape + 1.0, rate) * u.powf(1.0 / shape);
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            // A standard normal by Box-Muller.
            let (u1, u2) = (self.uniform(), self.uniform());
            let x = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
            let v = (1.0 + c * x).powi(3);
            if v > 0.0 && self.uniform().ln() < 0.5 * x * x + d - d * v + d * v.ln() {
                return d * v / rate;
            }
        }
    }
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(5000);
    let days = 730.0;
    let mut rng = Rng(42);
    let customers: Vec<Purchases> = (0..n)
        .map(|_| {
            let lambda = rng.gamma(2.0, 20.0);
            let (x, y) = (rng.gamma(1.5, 1.0), rng.gamma(6.0, 1.0));
            let dropout = x / (x + y);
            let mean_spend = rng.gamma(4.0, 4.0 / 25.0);
            let mut t = rng.uniform() * days * 0.8;
            let mut purchases = vec![(t, mean_spend)];
            loop {
                t += -rng.uniform().ln() / lambda;
                if t > days {
                    break;
                }
                purchases.push((t, mean_spend * (0.7 + 0.6 * rng.uniform())));
                if rng.uniform() < dropout {
                    break;
                }
            }
            purchases
        })
        .collect();
    let orders: usize = customers.iter().map(Vec::len).sum();
    let started = Instant::now();
    let model = fit_customers(&customers, days, 60.0, 365.0).expect("fits");
    let fit_ms = started.elapsed().as_secs_f64() * 1000.0;
    let started = Instant::now();
    let scores = model.score(&customers, days);
    let score_ms = started.elapsed().as_secs_f64() * 1000.0;
    let holdout = model.holdout.as_ref().expect("a holdout");
    println!("{n} customers, {orders} orders over {days} days");
    println!(
        "BG/NBD r={:.2} alpha={:.1} a={:.2} b={:.2} (simulated from r=2, alpha=20, a=1.5, b=6)",
        model.bgnbd.r, model.bgnbd.alpha, model.bgnbd.a, model.bgnbd.b
    );
    println!(
        "holdout (last 60 days): {} customers, {:.1}% churned; Brier {:.4} vs base rate {:.4} ({:.1}% better)",
        holdout.customers,
        holdout.base_rate * 100.0,
        holdout.brier,
        holdout.base_rate_brier,
        (1.0 - holdout.brier / holdout.base_rate_brier) * 100.0
    );
    println!(
        "fit (BG/NBD, Gamma-Gamma and the holdout's own BG/NBD) {fit_ms:.1} ms; scoring every customer {score_ms:.1} ms ({} scored)",
        scores.iter().flatten().count()
    );
}
