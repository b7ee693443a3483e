//! The performance score (0–100) of a restaurant, its tier and its ordering patterns, from its completed
//! orders and its interactions. Pure functions here; `crm::jobs` stores the results.
//!
//! The score is the sum of six parts (rounded to a whole number):
//!
//! | part | points | from |
//! |---|---|---|
//! | orders, 30 days | 0–20 | completed orders in the last 30 days against the 30 days before |
//! | value, 30 days | 0–20 | their total value, same periods |
//! | orders, 90 days | 0–15 | completed orders in the last 90 days against the 90 days before |
//! | value, 90 days | 0–15 | their total value, same periods |
//! | regularity | 0–15 | days with at least one completed order among the last 28 (local days) |
//! | engagement | 0–15 | 3 points per interaction in the last 30 days, at most 15 |
//!
//! A trend part is `max × min(current / previous, 2) / 2`: holding steady earns half, doubling or more
//! earns all of it; nothing now earns 0; something now after nothing before earns all. Regularity is
//! `15 × active days / 28`. Tiers: Excellent above 60, Good above 40, Average above 20, else
//! Underperforming.

use std::collections::HashSet;

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Excellent,
    Good,
    Average,
    Underperforming,
}

impl Tier {
    pub const ALL: [Tier; 4] = [
        Tier::Excellent,
        Tier::Good,
        Tier::Average,
        Tier::Underperforming,
    ];

    pub fn of(score: i32) -> Tier {
        match score {
            61.. => Tier::Excellent,
            41..=60 => Tier::Good,
            21..=40 => Tier::Average,
            _ => Tier::Underperforming,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Excellent => "excellent",
            Tier::Good => "good",
            Tier::Average => "average",
            Tier::Underperforming => "underperforming",
        }
    }

    pub fn parse(s: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|t| t.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Tier::Excellent => "Excellent",
            Tier::Good => "Good",
            Tier::Average => "Average",
            Tier::Underperforming => "Underperforming",
        }
    }

    /// Days between calls when the restaurant has no frequency of its own: the weaker, the more often.
    pub fn default_call_days(tier: Option<Tier>) -> i32 {
        match tier {
            Some(Tier::Excellent) => 14,
            Some(Tier::Good) => 10,
            Some(Tier::Average) | None => 7,
            Some(Tier::Underperforming) => 3,
        }
    }
}

/// One completed order as the score reads it.
#[derive(Debug, Clone, Copy)]
pub struct OrderPoint {
    pub at: DateTime<Utc>,
    pub value_minor: i64,
}

/// The parts of a score, with the counts behind them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Breakdown {
    pub score: i32,
    pub tier: Tier,
    pub orders_30d: i64,
    pub orders_prev_30d: i64,
    pub value_30d_minor: i64,
    pub value_prev_30d_minor: i64,
    pub orders_90d: i64,
    pub orders_prev_90d: i64,
    pub value_90d_minor: i64,
    pub value_prev_90d_minor: i64,
    pub active_days_28: i64,
    pub interactions_30d: i64,
    /// Points per part, in the order of the table above.
    pub parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Part {
    pub name: String,
    pub points: f64,
    pub max: f64,
}

fn trend(current: i64, previous: i64, max: f64) -> f64 {
    if current <= 0 {
        0.0
    } else if previous <= 0 {
        max
    } else {
        max * (current as f64 / previous as f64).min(2.0) / 2.0
    }
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Score a restaurant at `now` from its completed orders (any order; older than 180 days are ignored)
/// and the number of its interactions in the last 30 days.
pub fn score(
    tz: Tz,
    orders: &[OrderPoint],
    interactions_30d: i64,
    now: DateTime<Utc>,
) -> Breakdown {
    let within = |from: i64, to: i64| {
        let (lo, hi) = (now - Duration::days(from), now - Duration::days(to));
        orders
            .iter()
            .filter(move |o| o.at >= lo && o.at < hi && o.at <= now)
    };
    let count = |from, to| within(from, to).count() as i64;
    let value = |from, to| within(from, to).map(|o| o.value_minor).sum::<i64>();
    let (o30, p30, v30, pv30) = (count(30, 0), count(60, 30), value(30, 0), value(60, 30));
    let (o90, p90, v90, pv90) = (count(90, 0), count(180, 90), value(90, 0), value(180, 90));
    let today = now.with_timezone(&tz).date_naive();
    let first_day = today - Duration::days(27);
    let active: HashSet<_> = orders
        .iter()
        .filter(|o| o.at <= now)
        .map(|o| o.at.with_timezone(&tz).date_naive())
        .filter(|d| *d >= first_day && *d <= today)
        .collect();
    let active_days = active.len() as i64;
    let parts = vec![
        ("orders_30d", trend(o30, p30, 20.0), 20.0),
        ("value_30d", trend(v30, pv30, 20.0), 20.0),
        ("orders_90d", trend(o90, p90, 15.0), 15.0),
        ("value_90d", trend(v90, pv90, 15.0), 15.0),
        ("regularity", 15.0 * active_days as f64 / 28.0, 15.0),
        (
            "engagement",
            (3.0 * interactions_30d as f64).min(15.0),
            15.0,
        ),
    ];
    let total: f64 = parts.iter().map(|p| p.1).sum();
    let score = (total.round() as i32).clamp(0, 100);
    Breakdown {
        score,
        tier: Tier::of(score),
        orders_30d: o30,
        orders_prev_30d: p30,
        value_30d_minor: v30,
        value_prev_30d_minor: pv30,
        orders_90d: o90,
        orders_prev_90d: p90,
        value_90d_minor: v90,
        value_prev_90d_minor: pv90,
        active_days_28: active_days,
        interactions_30d,
        parts: parts
            .into_iter()
            .map(|(name, points, max)| Part {
                name: name.to_string(),
                points: round1(points),
                max,
            })
            .collect(),
    }
}

/// When and how often a restaurant takes orders, from its completed orders of the last 90 days, in its
/// own zone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Patterns {
    pub orders_90d: i64,
    /// Weekdays (0 = Monday) with at least the average number of orders per weekday, in week order.
    pub usual_days: Vec<u8>,
    /// Up to three local hours with the most orders, in hour order.
    pub usual_hours: Vec<u8>,
    /// Mean time between consecutive orders, in hours (needs two orders).
    pub average_gap_hours: Option<f64>,
    pub last_order_at: Option<DateTime<Utc>>,
    /// More time has passed since the last order than twice the average gap, and at least a day.
    pub overdue_to_order: bool,
}

pub fn patterns(tz: Tz, orders: &[OrderPoint], now: DateTime<Utc>) -> Patterns {
    let since = now - Duration::days(90);
    let mut times: Vec<DateTime<Utc>> = orders
        .iter()
        .map(|o| o.at)
        .filter(|at| *at >= since && *at <= now)
        .collect();
    times.sort();
    let mut by_day = [0i64; 7];
    let mut by_hour = [0i64; 24];
    for at in &times {
        let local = at.with_timezone(&tz);
        by_day[local.weekday().num_days_from_monday() as usize] += 1;
        by_hour[local.hour() as usize] += 1;
    }
    let n = times.len() as i64;
    let usual_days = if n == 0 {
        Vec::new()
    } else {
        (0..7u8).filter(|d| by_day[*d as usize] * 7 >= n).collect()
    };
    let mut hours: Vec<u8> = (0..24u8).filter(|h| by_hour[*h as usize] > 0).collect();
    hours.sort_by_key(|h| (std::cmp::Reverse(by_hour[*h as usize]), *h));
    hours.truncate(3);
    hours.sort();
    let average_gap_hours = (n >= 2).then(|| {
        let span = (times[times.len() - 1] - times[0]).num_seconds() as f64;
        round1(span / 3600.0 / (n - 1) as f64)
    });
    let last_order_at = times.last().copied();
    let overdue_to_order = match (average_gap_hours, last_order_at) {
        (Some(gap), Some(last)) => {
            let since_last = (now - last).num_seconds() as f64 / 3600.0;
            since_last > (2.0 * gap).max(24.0)
        }
        _ => false,
    };
    Patterns {
        orders_90d: n,
        usual_days,
        usual_hours: hours,
        average_gap_hours,
        last_order_at,
        overdue_to_order,
    }
}

/// A score part's name as a person reads it ("orders_30d" is "Orders in the last 30 days, against the 30
/// before").
pub fn part_label(name: &str) -> &str {
    match name {
        "orders_30d" => "Orders in the last 30 days, against the 30 before",
        "value_30d" => "Order value in the last 30 days, against the 30 before",
        "orders_90d" => "Orders in the last 90 days, against the 90 before",
        "value_90d" => "Order value in the last 90 days, against the 90 before",
        "regularity" => "Days with orders, of the last 28",
        "engagement" => "Interactions with the restaurant in the last 30 days",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    #[test]
    fn a_hand_computed_score() {
        let now = at(2026, 6, 30, 12);
        let tz = chrono_tz::UTC;
        let mut orders = Vec::new();
        // Last 30 days: 6 orders of 20.00 on six different days (1–6 days ago).
        for d in 1..=6 {
            orders.push(OrderPoint {
                at: now - Duration::days(d),
                value_minor: 2000,
            });
        }
        // The 30 days before: 4 orders of 50.00 (40 days ago).
        for _ in 0..4 {
            orders.push(OrderPoint {
                at: now - Duration::days(40),
                value_minor: 5000,
            });
        }
        // 90 days: 6 + 4 = 10 now; the 90 before: 5 orders (100 days ago) of 10.00.
        for _ in 0..5 {
            orders.push(OrderPoint {
                at: now - Duration::days(100),
                value_minor: 1000,
            });
        }
        // Too old to count: 200 days ago.
        orders.push(OrderPoint {
            at: now - Duration::days(200),
            value_minor: 99_999,
        });
        let b = score(tz, &orders, 2, now);
        // orders_30d: 6 vs 4 → 20 × min(1.5, 2) / 2 = 15
        // value_30d: 120.00 vs 200.00 → 20 × 0.6 / 2 = 6
        // orders_90d: 10 vs 5 → ratio 2 → 15
        // value_90d: 320.00 vs 50.00 → ratio 6.4, capped at 2 → 15
        // regularity: 6 active days of 28 → 15 × 6 / 28 = 3.214…
        // engagement: 2 interactions → 6
        // total 60.214… → 60 → Good (Excellent needs more than 60)
        let points: Vec<f64> = b.parts.iter().map(|p| p.points).collect();
        assert_eq!(points, [15.0, 6.0, 15.0, 15.0, 3.2, 6.0]);
        assert_eq!((b.orders_30d, b.orders_prev_30d), (6, 4));
        assert_eq!((b.value_90d_minor, b.value_prev_90d_minor), (32_000, 5_000));
        assert_eq!(b.active_days_28, 6);
        assert_eq!(b.score, 60);
        assert_eq!(b.tier, Tier::Good);
        // One more interaction: 63.2 → 63, Excellent.
        let b = score(tz, &orders, 3, now);
        assert_eq!((b.score, b.tier), (63, Tier::Excellent));
    }

    #[test]
    fn nothing_scores_zero_and_tiers_have_strict_bounds() {
        let b = score(chrono_tz::UTC, &[], 0, at(2026, 1, 1, 0));
        assert_eq!((b.score, b.tier), (0, Tier::Underperforming));
        assert_eq!(Tier::of(20), Tier::Underperforming);
        assert_eq!(Tier::of(21), Tier::Average);
        assert_eq!(Tier::of(40), Tier::Average);
        assert_eq!(Tier::of(41), Tier::Good);
        assert_eq!(Tier::of(60), Tier::Good);
        assert_eq!(Tier::of(61), Tier::Excellent);
        // Engagement alone is capped at 15.
        let b = score(chrono_tz::UTC, &[], 9, at(2026, 1, 1, 0));
        assert_eq!(b.score, 15);
    }

    #[test]
    fn regularity_counts_local_days() {
        // 20:00 and 23:00 UTC on 20 June are 01:30 and 04:30 on 21 June in Kolkata: one local day.
        // 17:00 and 20:00 UTC are 22:30 on the 20th and 01:30 on the 21st: two local days (one UTC day).
        let now = at(2026, 6, 30, 0);
        let tz = chrono_tz::Asia::Kolkata;
        let two = |h1, h2| {
            [
                OrderPoint {
                    at: at(2026, 6, 20, h1),
                    value_minor: 1,
                },
                OrderPoint {
                    at: at(2026, 6, 20, h2),
                    value_minor: 1,
                },
            ]
        };
        assert_eq!(score(tz, &two(20, 23), 0, now).active_days_28, 1);
        assert_eq!(score(tz, &two(17, 20), 0, now).active_days_28, 2);
        assert_eq!(
            score(chrono_tz::UTC, &two(17, 20), 0, now).active_days_28,
            1
        );
    }

    #[test]
    fn patterns_in_the_restaurants_zone() {
        let tz = chrono_tz::America::New_York;
        // Every Friday and Saturday at 19:00 New York time (23:00 UTC in summer) for eight weeks, plus
        // one Tuesday lunch.
        let mut orders = Vec::new();
        let first_friday = at(2026, 5, 1, 23); // Fri 1 May 2026 19:00 EDT
        for week in 0..8 {
            for extra in [0, 1] {
                orders.push(OrderPoint {
                    at: first_friday + Duration::days(7 * week + extra),
                    value_minor: 100,
                });
            }
        }
        orders.push(OrderPoint {
            at: at(2026, 5, 5, 16), // Tue 12:00 EDT
            value_minor: 100,
        });
        let last = first_friday + Duration::days(7 * 7 + 1); // Sat 20 June
        let now = last + Duration::days(2);
        let p = patterns(tz, &orders, now);
        assert_eq!(p.orders_90d, 17);
        assert_eq!(p.usual_days, [4, 5]);
        assert_eq!(p.usual_hours, [12, 19]);
        assert_eq!(p.last_order_at, Some(last));
        // 16 gaps over 50 days → 75 hours; 48 hours since the last order is not overdue.
        assert_eq!(p.average_gap_hours, Some(75.0));
        assert!(!p.overdue_to_order);
        // Seven days later it is (168 hours > 150).
        assert!(patterns(tz, &orders, now + Duration::days(5)).overdue_to_order);
    }
}
