//! Replenishment maths for one ingredient, from a usage forecast with its error: days until stock-out
//! with an interval, the reorder point (lead-time demand plus safety stock at a service level), the
//! order quantity (economic order quantity, bounded by shelf life and the supplier's minimum, in whole
//! packs) and the batches expected to expire before they are used. Units are the ingredient's own
//! (grams, millilitres, each) as `f64`; days are the venue's local days from today (day 0).
//!
//! The forecast's days are taken as independent, so the error of a sum of days is the root of the sum
//! of their variances; a daily error is read from the forecast's 95% interval as its half-width / 1.96.

use serde::{Deserialize, Serialize};

/// The standard normal quantile of `p` (the z of a service level).
pub fn z_of(p: f64) -> f64 {
    distrs::Normal::ppf(p.clamp(0.5, 0.9999), 0.0, 1.0)
}

/// A day's forecast error (standard deviation) from its 95% interval.
pub fn sd_from_95(lower: f64, upper: f64) -> f64 {
    ((upper - lower) / (2.0 * 1.959_964)).max(0.0)
}

/// What the policy knows about one ingredient.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Situation {
    /// Stock on hand now (may be below zero).
    pub on_hand: f64,
    /// Ordered and not yet received.
    pub on_order: f64,
    /// Expected usage for each coming day (day 0 is today).
    pub usage: Vec<f64>,
    /// The standard deviation of each day's usage.
    pub usage_sd: Vec<f64>,
    /// Days from ordering to delivery.
    pub lead_time_days: u32,
    /// Days between two chances to order (1: every day).
    pub review_days: u32,
    /// The share of order cycles that should not run out, e.g. 0.95.
    pub service_level: f64,
    /// Cost of one unit.
    pub unit_cost: f64,
    /// What placing one order costs (admin, delivery), in money.
    pub order_cost: f64,
    /// Yearly cost of holding stock as a share of its value, e.g. 0.25.
    pub holding_rate: f64,
    /// Days a delivery keeps.
    pub shelf_life_days: Option<u32>,
    /// The smallest quantity the supplier takes (its minimum order value over the unit cost).
    pub min_order_quantity: f64,
    /// Units per purchase unit (a case of 12: 12); orders are whole packs.
    pub pack: f64,
}

/// Days until the stock runs out, with the days it would if usage ran at the top (earliest) and
/// bottom (latest) of its 80% interval; `None` where it lasts beyond the forecast.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Cover {
    pub days: Option<f64>,
    pub earliest: Option<f64>,
    pub latest: Option<f64>,
}

/// The advice for one ingredient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Advice {
    /// Expected usage over the lead time and review period.
    pub lead_time_demand: f64,
    pub safety_stock: f64,
    /// Order when stock on hand plus on order falls to this.
    pub reorder_point: f64,
    /// Economic order quantity (before the bounds).
    pub eoq: f64,
    /// What to order now (0 when stock and orders cover the reorder point).
    pub order_quantity: f64,
    pub cover: Cover,
    /// The order quantity had to exceed what shelf life allows to meet the supplier's minimum.
    pub minimum_exceeds_shelf_life: bool,
}

/// The first (fractional) day at which the cumulative usage `path` exceeds `stock`.
fn run_out(stock: f64, path: impl Iterator<Item = f64>) -> Option<f64> {
    if stock <= 0.0 {
        return Some(0.0);
    }
    let mut used = 0.0;
    for (day, usage) in path.enumerate() {
        if usage > 0.0 && used + usage >= stock {
            return Some(day as f64 + (stock - used) / usage);
        }
        used += usage;
    }
    None
}

/// Days of cover of `stock` under the forecast.
pub fn cover(stock: f64, usage: &[f64], usage_sd: &[f64]) -> Cover {
    let z80 = z_of(0.9);
    let sd = |i: usize| usage_sd.get(i).copied().unwrap_or(0.0);
    Cover {
        days: run_out(stock, usage.iter().copied()),
        earliest: run_out(
            stock,
            usage.iter().enumerate().map(|(i, u)| u + z80 * sd(i)),
        ),
        latest: run_out(
            stock,
            usage
                .iter()
                .enumerate()
                .map(|(i, u)| (u - z80 * sd(i)).max(0.0)),
        ),
    }
}

/// Mean daily usage over the forecast (0 for none).
fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

/// The reorder point, order quantity and cover for one ingredient.
pub fn advise(s: &Situation) -> Advice {
    let horizon = (s.lead_time_days + s.review_days.max(1)) as usize;
    let daily = mean(&s.usage);
    let daily_sd =
        (s.usage_sd.iter().map(|v| v * v).sum::<f64>() / s.usage_sd.len().max(1) as f64).sqrt();
    // Days past the forecast's end are taken at its average.
    let at = |i: usize| s.usage.get(i).copied().unwrap_or(daily);
    let sd_at = |i: usize| s.usage_sd.get(i).copied().unwrap_or(daily_sd);
    let lead_time_demand: f64 = (0..horizon).map(at).sum();
    let lead_time_sd = (0..horizon).map(|i| sd_at(i).powi(2)).sum::<f64>().sqrt();
    let safety_stock = z_of(s.service_level) * lead_time_sd;
    let reorder_point = lead_time_demand + safety_stock;
    let yearly = daily * 365.0;
    let holding = s.unit_cost * s.holding_rate;
    let eoq = if yearly > 0.0 && holding > 0.0 && s.order_cost > 0.0 {
        (2.0 * yearly * s.order_cost / holding).sqrt()
    } else {
        // Ordering costs nothing: order up to the reorder point every review (a base-stock policy).
        0.0
    };
    let position = s.on_hand + s.on_order;
    let mut order_quantity = 0.0;
    let mut minimum_exceeds_shelf_life = false;
    if position < reorder_point && daily > 0.0 {
        // Enough to get back to the reorder point, at least the economic quantity ...
        let mut q = eoq.max(reorder_point - position);
        // ... but no more than is used before it expires (stock already here is used first) ...
        if let Some(shelf) = s.shelf_life_days {
            let usable = (daily * (shelf as f64) - s.on_hand.max(0.0)).max(0.0);
            q = q.min(usable.max(reorder_point - position));
        }
        // ... and at least the supplier's minimum, in whole packs.
        if q < s.min_order_quantity {
            minimum_exceeds_shelf_life = s
                .shelf_life_days
                .is_some_and(|shelf| s.min_order_quantity > daily * shelf as f64);
            q = s.min_order_quantity;
        }
        if s.pack > 0.0 {
            q = (q / s.pack - 1e-9).ceil().max(1.0) * s.pack;
        }
        order_quantity = q;
    }
    Advice {
        lead_time_demand,
        safety_stock,
        reorder_point,
        eoq,
        order_quantity,
        cover: cover(s.on_hand, &s.usage, &s.usage_sd),
        minimum_exceeds_shelf_life,
    }
}

/// A batch in stock: what is left and the day (from today) after which it may not be used.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Lot {
    pub remaining: f64,
    /// Day 0 is today; `None` keeps.
    pub expires_in_days: Option<u32>,
}

/// How much of each lot is expected to expire before it is used, when expected usage takes from the
/// lots in the order given (the order FIFO takes them: oldest first), skipping those past their day.
/// Days past the forecast are used at its average.
pub fn expiry_risk(lots: &[Lot], usage: &[f64]) -> Vec<f64> {
    let order: Vec<usize> = (0..lots.len()).collect();
    let mut left: Vec<f64> = lots.iter().map(|l| l.remaining.max(0.0)).collect();
    let mut wasted = vec![0.0; lots.len()];
    let daily = mean(usage);
    let last = lots
        .iter()
        .filter_map(|l| l.expires_in_days)
        .max()
        .unwrap_or(0);
    for day in 0..=last {
        let mut need = usage.get(day as usize).copied().unwrap_or(daily);
        for &i in &order {
            if need <= 0.0 {
                break;
            }
            if lots[i].expires_in_days.is_some_and(|e| e < day) {
                continue;
            }
            let take = left[i].min(need);
            left[i] -= take;
            need -= take;
        }
        for &i in &order {
            if lots[i].expires_in_days == Some(day) {
                wasted[i] += left[i];
                left[i] = 0.0;
            }
        }
    }
    wasted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn situation() -> Situation {
        Situation {
            on_hand: 1000.0,
            on_order: 0.0,
            usage: vec![100.0; 14],
            usage_sd: vec![20.0; 14],
            lead_time_days: 2,
            review_days: 1,
            service_level: 0.95,
            unit_cost: 0.01,
            order_cost: 10.0,
            holding_rate: 0.25,
            shelf_life_days: None,
            min_order_quantity: 0.0,
            pack: 0.0,
        }
    }

    #[test]
    fn z_matches_the_normal_table() {
        assert!((z_of(0.95) - 1.6449).abs() < 1e-3);
        assert!((z_of(0.99) - 2.3263).abs() < 1e-3);
        assert!(z_of(0.5).abs() < 1e-9);
    }

    #[test]
    fn reorder_point_is_lead_time_demand_plus_safety_stock() {
        let advice = advise(&situation());
        // Three days (lead time 2 + review 1) of 100, and 1.645 x sqrt(3 x 20^2).
        assert!((advice.lead_time_demand - 300.0).abs() < 1e-9);
        assert!((advice.safety_stock - 1.6449 * (3.0f64 * 400.0).sqrt()).abs() < 0.1);
        assert!((advice.reorder_point - 300.0 - advice.safety_stock).abs() < 1e-9);
        // 1000 on hand is above it: nothing to order.
        assert_eq!(advice.order_quantity, 0.0);
    }

    #[test]
    fn higher_service_levels_and_noisier_forecasts_carry_more_safety_stock() {
        let base = advise(&situation()).safety_stock;
        let strict = advise(&Situation {
            service_level: 0.99,
            ..situation()
        })
        .safety_stock;
        let noisy = advise(&Situation {
            usage_sd: vec![40.0; 14],
            ..situation()
        })
        .safety_stock;
        assert!(strict > base && noisy > base);
        let exact = advise(&Situation {
            usage_sd: vec![0.0; 14],
            ..situation()
        });
        assert_eq!(exact.safety_stock, 0.0);
    }

    #[test]
    fn below_the_reorder_point_it_orders_the_economic_quantity() {
        let advice = advise(&Situation {
            on_hand: 200.0,
            ..situation()
        });
        // EOQ = sqrt(2 x 36,500 x 10 / 0.0025) = 17,088.
        assert!((advice.eoq - (2.0f64 * 36_500.0 * 10.0 / 0.0025).sqrt()).abs() < 1e-6);
        assert!((advice.order_quantity - advice.eoq).abs() < 1e-6);
        // What is already on order counts.
        let covered = advise(&Situation {
            on_hand: 200.0,
            on_order: 1000.0,
            ..situation()
        });
        assert_eq!(covered.order_quantity, 0.0);
    }

    #[test]
    fn shelf_life_caps_the_order_and_the_minimum_and_packs_round_it_up() {
        let fresh = advise(&Situation {
            on_hand: 200.0,
            shelf_life_days: Some(5),
            ..situation()
        });
        // Five days of 100 less the 200 already here.
        assert!((fresh.order_quantity - 300.0).abs() < 1e-9);
        assert!(!fresh.minimum_exceeds_shelf_life);
        let minimum = advise(&Situation {
            on_hand: 200.0,
            shelf_life_days: Some(5),
            min_order_quantity: 800.0,
            pack: 250.0,
            ..situation()
        });
        // The minimum (800) in whole packs of 250: 1000, more than five days' use.
        assert!((minimum.order_quantity - 1000.0).abs() < 1e-9);
        assert!(minimum.minimum_exceeds_shelf_life);
    }

    #[test]
    fn cover_counts_days_with_an_interval() {
        let c = cover(250.0, &[100.0; 10], &[30.0; 10]);
        assert!((c.days.unwrap() - 2.5).abs() < 1e-9);
        assert!(c.earliest.unwrap() < 2.5 && c.latest.unwrap() > 2.5);
        assert_eq!(cover(5000.0, &[100.0; 10], &[0.0; 10]).days, None);
        assert_eq!(cover(-10.0, &[100.0; 10], &[0.0; 10]).days, Some(0.0));
    }

    #[test]
    fn expiry_risk_is_what_usage_cannot_reach_before_the_day() {
        // 300 expiring after day 1 with 100 used a day: 100 is used on day 0, 100 on day 1, 100 wasted.
        let lots = [
            Lot {
                remaining: 300.0,
                expires_in_days: Some(1),
            },
            Lot {
                remaining: 500.0,
                expires_in_days: None,
            },
        ];
        let wasted = expiry_risk(&lots, &[100.0; 10]);
        assert!((wasted[0] - 100.0).abs() < 1e-9);
        assert_eq!(wasted[1], 0.0);
        // Taken in the order given: the lot that keeps is used first, so all 300 expire.
        let swapped = expiry_risk(&[lots[1], lots[0]], &[100.0; 10]);
        assert!((swapped[1] - 300.0).abs() < 1e-9);
        assert_eq!(swapped[0], 0.0);
        assert!(expiry_risk(&lots, &[0.0; 10])[0] == 300.0);
    }
}
