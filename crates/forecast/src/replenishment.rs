//! Replays a year of one ingredient's daily usage under a reorder policy, day by day: deliveries
//! arrive after the lead time as batches that keep for the shelf life, usage takes from the batch that
//! expires first, what passes its day is thrown away, what cannot be served is short. Two policies:
//!
//! - [`Policy::Forecast`]: every day, order up to the forecast's usage until the next delivery plus
//!   safety stock from the forecast's error at a service level ([`crate::inventory::advise`]); the
//!   forecast comes from the caller, made each day from the days before only ([`RuleForecaster`]: the
//!   mean of the last four same weekdays, the rule every Brigade forecast falls back to, with the
//!   spread of its own one-day-ahead errors);
//! - [`Policy::FixedPar`]: every day, order up to a fixed par level (what most stock systems do).
//!
//! [`matched_par`] finds the par level that holds the same average stock as another run, so the two
//! policies are compared at equal stock: which one runs out less and throws away less.

use serde::{Deserialize, Serialize};

use crate::inventory::{Situation, advise};

/// How one ingredient is bought and kept.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Terms {
    pub lead_time_days: u32,
    pub shelf_life_days: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Policy {
    Forecast { service_level: f64 },
    FixedPar { par: f64 },
}

/// What a replay gave, over the days after the warm-up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// Days on which some usage could not be served.
    pub stockout_days: u32,
    /// Usage that could not be served.
    pub short: f64,
    /// Stock thrown away past its day.
    pub expired: f64,
    /// Stock on hand at the end of each day, averaged.
    pub average_stock: f64,
    /// Usage served.
    pub served: f64,
    pub orders: u32,
}

struct Batch {
    left: f64,
    /// The last day it may be used.
    last_day: usize,
}

/// The rule forecast for `day` from the usage before it: the mean of up to four same weekdays.
fn rule(history: &[f64], day: usize) -> f64 {
    let same: Vec<f64> = (1..=4)
        .filter_map(|k| day.checked_sub(7 * k).map(|d| history[d]))
        .collect();
    if !same.is_empty() {
        return same.iter().sum::<f64>() / same.len() as f64;
    }
    if day == 0 {
        0.0
    } else {
        history[..day].iter().sum::<f64>() / day as f64
    }
}

/// What a forecaster says at the end of a day about the days after it: expected usage and its
/// standard deviation, from tomorrow on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outlook {
    pub mean: Vec<f64>,
    pub sd: Vec<f64>,
}

/// Makes the outlook at the end of `day` from usage up to it.
pub trait Forecaster {
    fn outlook(&mut self, usage: &[f64], day: usize, horizon: usize) -> Outlook;
}

/// The mean of the last four same weekdays, its error the spread of its one-day-ahead errors over the
/// last eight weeks.
pub struct RuleForecaster;

impl Forecaster for RuleForecaster {
    fn outlook(&mut self, usage: &[f64], day: usize, horizon: usize) -> Outlook {
        let mut extended = usage[..=day].to_vec();
        for d in day + 1..=day + horizon {
            let f = rule(&extended, d);
            extended.push(f);
        }
        let errors: Vec<f64> = (day.saturating_sub(56)..=day)
            .filter(|&d| d >= 7)
            .map(|d| usage[d] - rule(usage, d))
            .collect();
        let sd = if errors.len() > 1 {
            let m = errors.iter().sum::<f64>() / errors.len() as f64;
            (errors.iter().map(|e| (e - m).powi(2)).sum::<f64>() / (errors.len() - 1) as f64).sqrt()
        } else {
            0.0
        };
        Outlook {
            mean: extended[day + 1..].to_vec(),
            sd: vec![sd; horizon],
        }
    }
}

/// Replay `usage` (one value per day) under `policy`; the first `warmup` days build history and
/// stock and are not counted. The forecast policy asks `forecaster` each evening.
pub fn replay(
    usage: &[f64],
    terms: Terms,
    policy: Policy,
    warmup: usize,
    forecaster: &mut dyn Forecaster,
) -> Outcome {
    let lead = terms.lead_time_days.max(1) as usize;
    let mut batches: Vec<Batch> = Vec::new();
    let mut arriving: Vec<f64> = vec![0.0; usage.len() + lead + 1];
    let mut out = Outcome::default();
    let mut stock_days = 0.0;
    let mut counted = 0usize;
    for day in 0..usage.len() {
        let measured = day >= warmup;
        // Morning: the delivery due today.
        if arriving[day] > 0.0 {
            batches.push(Batch {
                left: arriving[day],
                last_day: day + terms.shelf_life_days.max(1) as usize - 1,
            });
        }
        // Usage, from the oldest batch first (FIFO; batches arrive in order and keep alike).
        let mut need = usage[day];
        for b in batches.iter_mut() {
            let take = b.left.min(need);
            b.left -= take;
            need -= take;
            if need <= 0.0 {
                break;
            }
        }
        if measured {
            out.served += usage[day] - need;
            if need > 1e-9 {
                out.stockout_days += 1;
                out.short += need;
            }
        }
        // Evening: what may not be used tomorrow goes.
        for b in &batches {
            if b.last_day <= day && measured {
                out.expired += b.left;
            }
        }
        batches.retain(|b| b.last_day > day && b.left > 1e-9);
        let on_hand: f64 = batches.iter().map(|b| b.left).sum();
        if measured {
            stock_days += on_hand;
            counted += 1;
        }
        // Review: an order now arrives on the morning `lead` days on, and the next one a day later,
        // so stock and this order must last the `lead` days from tomorrow.
        let arrive = day + lead;
        let on_order: f64 = arriving[day + 1..=arrive].iter().sum();
        let quantity = match policy {
            Policy::FixedPar { par } => (par - on_hand - on_order).max(0.0),
            Policy::Forecast { service_level } => {
                let horizon = lead + terms.shelf_life_days as usize;
                let outlook = forecaster.outlook(usage, day, horizon);
                advise(&Situation {
                    on_hand,
                    on_order,
                    usage: outlook.mean,
                    usage_sd: outlook.sd,
                    // advise() protects lead time + review days from day 0 (here tomorrow).
                    lead_time_days: lead as u32 - 1,
                    review_days: 1,
                    service_level,
                    unit_cost: 0.0,
                    order_cost: 0.0,
                    holding_rate: 0.0,
                    shelf_life_days: Some(terms.shelf_life_days),
                    min_order_quantity: 0.0,
                    pack: 0.0,
                })
                .order_quantity
            }
        };
        if quantity > 1e-9 {
            arriving[arrive] += quantity;
            if measured {
                out.orders += 1;
            }
        }
    }
    out.average_stock = if counted == 0 {
        0.0
    } else {
        stock_days / counted as f64
    };
    out
}

/// The fixed par level whose replay holds `average_stock` on average (bisection; average stock grows
/// with the par level).
pub fn matched_par(
    usage: &[f64],
    terms: Terms,
    warmup: usize,
    average_stock: f64,
) -> (f64, Outcome) {
    let peak = usage.iter().copied().fold(0.0, f64::max);
    let (mut low, mut high) = (0.0, peak * (terms.lead_time_days as f64 + 2.0) * 4.0 + 1.0);
    let mut best = (
        high,
        replay(
            usage,
            terms,
            Policy::FixedPar { par: high },
            warmup,
            &mut RuleForecaster,
        ),
    );
    for _ in 0..60 {
        let mid = (low + high) / 2.0;
        let outcome = replay(
            usage,
            terms,
            Policy::FixedPar { par: mid },
            warmup,
            &mut RuleForecaster,
        );
        if (outcome.average_stock - average_stock).abs()
            < (best.1.average_stock - average_stock).abs()
        {
            best = (mid, outcome);
        }
        if outcome.average_stock < average_stock {
            low = mid;
        } else {
            high = mid;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A weekly pattern (quiet Monday to busy Saturday) with some noise.
    fn weekly(days: usize) -> Vec<f64> {
        let shape = [20.0, 25.0, 30.0, 40.0, 140.0, 220.0, 60.0];
        let mut seed = 7u64;
        (0..days)
            .map(|d| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let noise = ((seed >> 33) as f64 / (1u64 << 31) as f64 - 0.5) * 20.0;
                (shape[d % 7] + noise).max(0.0)
            })
            .collect()
    }

    #[test]
    fn usage_is_served_short_or_nothing_and_stock_is_conserved() {
        let usage = weekly(200);
        let terms = Terms {
            lead_time_days: 2,
            shelf_life_days: 5,
        };
        for policy in [
            Policy::Forecast {
                service_level: 0.95,
            },
            Policy::FixedPar { par: 300.0 },
        ] {
            let out = replay(&usage, terms, policy, 0, &mut RuleForecaster);
            let total: f64 = usage.iter().sum();
            assert!((out.served + out.short - total).abs() < 1e-6, "{policy:?}");
            assert!(out.expired >= 0.0 && out.average_stock > 0.0);
        }
    }

    #[test]
    fn with_no_stock_ordered_everything_is_short() {
        let usage = weekly(60);
        let out = replay(
            &usage,
            Terms {
                lead_time_days: 2,
                shelf_life_days: 5,
            },
            Policy::FixedPar { par: 0.0 },
            0,
            &mut RuleForecaster,
        );
        assert_eq!(out.stockout_days, 60);
        assert_eq!(out.orders, 0);
    }

    #[test]
    fn the_forecast_policy_runs_out_less_than_a_par_level_with_the_same_stock() {
        let usage = weekly(364);
        let terms = Terms {
            lead_time_days: 2,
            shelf_life_days: 6,
        };
        let forecast = replay(
            &usage,
            terms,
            Policy::Forecast { service_level: 0.9 },
            56,
            &mut RuleForecaster,
        );
        let (par, fixed) = matched_par(&usage, terms, 56, forecast.average_stock);
        assert!(par > 0.0);
        assert!(
            (fixed.average_stock - forecast.average_stock).abs() / forecast.average_stock < 0.02
        );
        assert!(
            forecast.short < fixed.short,
            "forecast {forecast:?} against par {fixed:?}"
        );
    }

    #[test]
    fn a_higher_par_holds_more_stock() {
        let usage = weekly(120);
        let terms = Terms {
            lead_time_days: 1,
            shelf_life_days: 7,
        };
        let low = replay(
            &usage,
            terms,
            Policy::FixedPar { par: 150.0 },
            14,
            &mut RuleForecaster,
        );
        let high = replay(
            &usage,
            terms,
            Policy::FixedPar { par: 400.0 },
            14,
            &mut RuleForecaster,
        );
        assert!(high.average_stock > low.average_stock);
        assert!(high.short <= low.short);
    }
}
