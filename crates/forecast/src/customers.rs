//! Customer predictions from purchase histories: RFM segments, the BG/NBD model (Fader, Hardie and Lee,
//! 2005) for how often a customer buys and whether they are still a customer, the Gamma-Gamma model
//! for how much they spend, and Brier scores to say whether churn probabilities beat the base rate.
//!
//! Times are in days. For each customer: `frequency` = repeat purchases (purchases after the first),
//! `recency` = days from the first purchase to the last, `age` = days from the first purchase to the
//! end of the observation, `monetary` = mean value of the repeat purchases.

use argmin::core::{CostFunction, Executor};
use argmin::solver::neldermead::NelderMead;
use libm::lgamma;
use serde::{Deserialize, Serialize};

use crate::{ForecastError, Result};

/// One customer's summary at the end of an observation period.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub frequency: f64,
    pub recency: f64,
    pub age: f64,
    /// Mean value of the repeat purchases (0 when there are none).
    pub monetary: f64,
}

/// Builds a summary from purchase instants (days, any origin) and values (NaN: not known), observed
/// until `end`.
pub fn summarise(purchases: &[(f64, f64)], end: f64) -> Option<Summary> {
    let mut sorted: Vec<(f64, f64)> = purchases
        .iter()
        .copied()
        .filter(|(t, _)| *t <= end)
        .collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (first, _) = *sorted.first()?;
    let repeat = &sorted[1..];
    let last = sorted.last().map(|p| p.0).unwrap_or(first);
    // A purchase whose value is not known (NaN) counts as a purchase, not towards the spend.
    let valued: Vec<f64> = repeat
        .iter()
        .map(|p| p.1)
        .filter(|v| v.is_finite())
        .collect();
    Some(Summary {
        frequency: repeat.len() as f64,
        recency: last - first,
        age: end - first,
        monetary: if valued.is_empty() {
            0.0
        } else {
            valued.iter().sum::<f64>() / valued.len() as f64
        },
    })
}

/// BG/NBD parameters: purchase rates are Gamma(r, alpha) across customers; after each purchase a
/// customer leaves with a probability drawn from Beta(a, b).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct BgNbd {
    pub r: f64,
    pub alpha: f64,
    pub a: f64,
    pub b: f64,
}

fn log_beta(a: f64, b: f64) -> f64 {
    lgamma(a) + lgamma(b) - lgamma(a + b)
}

fn log_sum_exp(x: f64, y: f64) -> f64 {
    let m = x.max(y);
    if m == f64::NEG_INFINITY {
        m
    } else {
        m + ((x - m).exp() + (y - m).exp()).ln()
    }
}

impl BgNbd {
    /// The log-likelihood of one customer's summary.
    pub fn log_likelihood(&self, c: &Summary) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        let x = c.frequency;
        let a1 = lgamma(r + x) - lgamma(r) + r * alpha.ln();
        let a2 = log_beta(a, b + x) - log_beta(a, b);
        let a3 = -(r + x) * (alpha + c.age).ln();
        let a4 = if x > 0.0 {
            a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + c.recency).ln()
        } else {
            f64::NEG_INFINITY
        };
        a1 + a2 + log_sum_exp(a3, a4)
    }

    /// Fits the parameters by maximum likelihood (Nelder-Mead on their logarithms).
    pub fn fit(customers: &[Summary]) -> Result<BgNbd> {
        if customers.len() < 10 {
            return Err(ForecastError::NotEnoughHistory {
                needed: 10,
                have: customers.len(),
            });
        }
        let best = minimise(
            |p| {
                let m = BgNbd {
                    r: p[0].exp(),
                    alpha: p[1].exp(),
                    a: p[2].exp(),
                    b: p[3].exp(),
                };
                -customers.iter().map(|c| m.log_likelihood(c)).sum::<f64>()
            },
            vec![0.0, 1.0, 0.0, 0.0],
        )?;
        Ok(BgNbd {
            r: best[0].exp(),
            alpha: best[1].exp(),
            a: best[2].exp(),
            b: best[3].exp(),
        })
    }

    /// The probability the customer is still a customer at the end of the observation.
    pub fn p_alive(&self, c: &Summary) -> f64 {
        if c.frequency == 0.0 {
            return 1.0;
        }
        let BgNbd { r, alpha, a, b } = *self;
        let x = c.frequency;
        let ratio = ((r + x) * ((alpha + c.age) / (alpha + c.recency)).ln()).exp();
        1.0 / (1.0 + a / (b + x - 1.0) * ratio)
    }

    /// The probability of no purchase in the next `horizon` days: gone already, or still a customer
    /// whose next purchase falls after the horizon (in BG/NBD customers leave only just after a
    /// purchase, so "no purchase" is exactly "no purchase event").
    pub fn p_no_purchase(&self, c: &Summary, horizon: f64) -> f64 {
        let alive = self.p_alive(c);
        let later = ((self.r + c.frequency)
            * ((self.alpha + c.age) / (self.alpha + c.age + horizon)).ln())
        .exp();
        ((1.0 - alive) + alive * later).clamp(0.0, 1.0)
    }

    /// Expected purchases in the next `horizon` days.
    pub fn expected_purchases(&self, c: &Summary, horizon: f64) -> f64 {
        let BgNbd { r, alpha, a, b } = *self;
        let x = c.frequency;
        let t = horizon;
        if a <= 1.0 {
            // The closed form needs a > 1; with a heavy dropout tail, use the rate of a customer who
            // stays times the chance they are still here.
            return self.p_alive(c) * (r + x) / (alpha + c.age) * t;
        }
        let z = t / (alpha + c.age + t);
        let hyp = hyp2f1(r + x, b + x, a + b + x - 1.0, z);
        let head = (a + b + x - 1.0) / (a - 1.0);
        let body = 1.0 - ((r + x) * ((alpha + c.age) / (alpha + c.age + t)).ln()).exp() * hyp;
        let tail = if x > 0.0 {
            1.0 + a / (b + x - 1.0) * ((r + x) * ((alpha + c.age) / (alpha + c.recency)).ln()).exp()
        } else {
            1.0
        };
        (head * body / tail).max(0.0)
    }
}

/// Gauss's hypergeometric function 2F1(a, b; c; z) for 0 <= z < 1, by its series.
fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    let mut term = 1.0;
    let mut sum = 1.0;
    for n in 0..100_000 {
        let n = n as f64;
        term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
        sum += term;
        if term.abs() < 1e-12 * sum.abs() {
            break;
        }
    }
    sum
}

/// Gamma-Gamma parameters: a customer's spend per purchase varies around their own mean, which varies
/// across customers.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct GammaGamma {
    pub p: f64,
    pub q: f64,
    pub v: f64,
}

impl GammaGamma {
    fn log_likelihood(&self, c: &Summary) -> f64 {
        let GammaGamma { p, q, v } = *self;
        let x = c.frequency;
        let m = c.monetary;
        lgamma(p * x + q) - lgamma(p * x) - lgamma(q)
            + q * v.ln()
            + (p * x - 1.0) * m.ln()
            + p * x * x.ln()
            - (p * x + q) * (v + m * x).ln()
    }

    /// Fits on the customers with repeat purchases of positive value.
    pub fn fit(customers: &[Summary]) -> Result<GammaGamma> {
        let repeaters: Vec<&Summary> = customers
            .iter()
            .filter(|c| c.frequency > 0.0 && c.monetary > 0.0)
            .collect();
        if repeaters.len() < 10 {
            return Err(ForecastError::NotEnoughHistory {
                needed: 10,
                have: repeaters.len(),
            });
        }
        let mean = repeaters.iter().map(|c| c.monetary).sum::<f64>() / repeaters.len() as f64;
        let best = minimise(
            |p| {
                let m = GammaGamma {
                    p: p[0].exp(),
                    q: p[1].exp(),
                    v: p[2].exp(),
                };
                -repeaters.iter().map(|c| m.log_likelihood(c)).sum::<f64>()
            },
            vec![1.0, 1.0, mean.max(1e-3).ln()],
        )?;
        Ok(GammaGamma {
            p: best[0].exp(),
            q: best[1].exp(),
            v: best[2].exp(),
        })
    }

    /// The expected value of this customer's future purchases.
    pub fn expected_value(&self, c: &Summary) -> f64 {
        let GammaGamma { p, q, v } = *self;
        let population = p * v / (q - 1.0);
        if c.frequency == 0.0 || c.monetary <= 0.0 || q <= 1.0 {
            return if q > 1.0 { population } else { c.monetary };
        }
        let x = c.frequency;
        (p * (v + x * c.monetary)) / (p * x + q - 1.0)
    }
}

struct Objective<F>(F);

impl<F: Fn(&[f64]) -> f64> CostFunction for Objective<F> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, p: &Self::Param) -> Result<f64, argmin::core::Error> {
        let v = (self.0)(p);
        Ok(if v.is_finite() { v } else { f64::MAX / 4.0 })
    }
}

/// Nelder-Mead from `start`, with a simplex of unit steps in each log-parameter.
pub(crate) fn minimise(f: impl Fn(&[f64]) -> f64, start: Vec<f64>) -> Result<Vec<f64>> {
    minimise_within(f, start, 1e-9, 3000)
}

/// [`minimise`], stopping when the simplex's costs differ by less than `tolerance` (standard deviation)
/// or after `max_iters` iterations.
pub(crate) fn minimise_within(
    f: impl Fn(&[f64]) -> f64,
    start: Vec<f64>,
    tolerance: f64,
    max_iters: u64,
) -> Result<Vec<f64>> {
    let mut simplex = vec![start.clone()];
    for i in 0..start.len() {
        let mut p = start.clone();
        p[i] += 1.0;
        simplex.push(p);
    }
    let solver = NelderMead::new(simplex)
        .with_sd_tolerance(tolerance)
        .map_err(|e| ForecastError::Model(e.to_string()))?;
    let result = Executor::new(Objective(f), solver)
        .configure(|state| state.max_iters(max_iters))
        .run()
        .map_err(|e| ForecastError::Model(e.to_string()))?;
    result
        .state
        .best_param
        .ok_or_else(|| ForecastError::Model("the optimiser found nothing".into()))
}

/// The mean squared difference between probabilities and what happened (1 = the event happened).
pub fn brier(probabilities: &[f64], outcomes: &[bool]) -> f64 {
    let n = probabilities.len().min(outcomes.len());
    if n == 0 {
        return f64::NAN;
    }
    probabilities
        .iter()
        .zip(outcomes)
        .map(|(p, o)| (p - if *o { 1.0 } else { 0.0 }).powi(2))
        .sum::<f64>()
        / n as f64
}

/// The Brier score of always predicting the base rate of `outcomes`: the bar a model must beat.
pub fn base_rate_brier(outcomes: &[bool]) -> f64 {
    let rate = outcomes.iter().filter(|o| **o).count() as f64 / outcomes.len().max(1) as f64;
    brier(&vec![rate; outcomes.len()], outcomes)
}

/// RFM scores 1-5 (5 best) by quintile among the customers given, and the segment they name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rfm {
    pub recency: u8,
    pub frequency: u8,
    pub monetary: u8,
}

/// Segments named as marketing teams name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    Champions,
    Loyal,
    New,
    Promising,
    AtRisk,
    Hibernating,
}

impl Segment {
    pub fn name(self) -> &'static str {
        match self {
            Segment::Champions => "champions",
            Segment::Loyal => "loyal",
            Segment::New => "new",
            Segment::Promising => "promising",
            Segment::AtRisk => "at_risk",
            Segment::Hibernating => "hibernating",
        }
    }
}

impl Rfm {
    pub fn segment(&self) -> Segment {
        match (self.recency, self.frequency) {
            (4..=5, 4..=5) => Segment::Champions,
            (3, 4..=5) => Segment::Loyal,
            (4..=5, 1) => Segment::New,
            (1..=2, 3..=5) => Segment::AtRisk,
            (1..=2, _) => Segment::Hibernating,
            _ => Segment::Promising,
        }
    }
}

/// Scores customers given (days since last order, orders, total spend) each.
pub fn rfm(customers: &[(f64, f64, f64)]) -> Vec<Rfm> {
    let score = |values: Vec<f64>, lower_is_better: bool| -> Vec<u8> {
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        values
            .iter()
            .map(|v| {
                // The share of customers strictly below, and at or below: ties share one score.
                let below = sorted.partition_point(|x| x < v);
                let at_or_below = sorted.partition_point(|x| x <= v);
                let rank = (below + at_or_below) as f64 / 2.0 / sorted.len() as f64;
                let q = ((rank * 5.0).floor() as u8).min(4) + 1;
                if lower_is_better { 6 - q } else { q }
            })
            .collect()
    };
    let r = score(customers.iter().map(|c| c.0).collect(), true);
    let f = score(customers.iter().map(|c| c.1).collect(), false);
    let m = score(customers.iter().map(|c| c.2).collect(), false);
    (0..customers.len())
        .map(|i| Rfm {
            recency: r[i],
            frequency: f[i],
            monetary: m[i],
        })
        .collect()
}

/// One customer's purchases: (day, value), in any order; a value that is not known is NaN.
pub type Purchases = Vec<(f64, f64)>;

/// Customers in a holdout needed before its Brier score means anything.
pub const MIN_HOLDOUT_CUSTOMERS: usize = 20;

/// How churn probabilities did on the last `horizon` days: the model fitted on the history before
/// them, each customer known by then scored, and compared with whether they ordered in those days.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Holdout {
    /// Customers who had ordered before the cut.
    pub customers: usize,
    /// Of them, those who did not order within the horizon after it.
    pub churned: usize,
    /// Brier score of the model's churn probabilities (lower is better).
    pub brier: f64,
    /// The share that churned, and the Brier score of predicting it for everyone: the bar to beat.
    pub base_rate: f64,
    pub base_rate_brier: f64,
}

/// A restaurant's fitted customer model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomerModel {
    pub bgnbd: BgNbd,
    /// None when too few customers came back with known spend to fit it.
    pub gamma_gamma: Option<GammaGamma>,
    /// Days without an order that count as churn.
    pub churn_horizon: f64,
    /// Days ahead the expected orders and value are for.
    pub value_horizon: f64,
    pub holdout: Option<Holdout>,
    /// Customers fitted on, and those among them with repeat purchases.
    pub customers: usize,
    pub repeaters: usize,
}

/// What a model (or the base rate) says about one customer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustomerScore {
    pub orders: usize,
    pub first_day: f64,
    pub last_day: f64,
    pub days_since_last: f64,
    /// The total of the purchases whose value is known.
    pub spend: f64,
    pub rfm: Rfm,
    pub segment: Segment,
    /// The probability the customer is still a customer (None without a model).
    pub p_alive: Option<f64>,
    /// The probability of no order within the churn horizon.
    pub churn_probability: f64,
    /// Expected orders within the value horizon.
    pub expected_orders: Option<f64>,
    /// Expected value of one future order.
    pub expected_order_value: Option<f64>,
    /// Expected orders times expected value: the value expected within the horizon.
    pub expected_value: Option<f64>,
}

fn summaries(customers: &[Purchases], end: f64) -> Vec<Option<Summary>> {
    customers.iter().map(|p| summarise(p, end)).collect()
}

/// Fits BG/NBD on the history before `end - horizon` and scores the churn probabilities of the
/// customers known by then against what they did in the horizon.
pub fn holdout(customers: &[Purchases], end: f64, horizon: f64) -> Result<Holdout> {
    let cut = end - horizon;
    let known: Vec<(Summary, bool)> = customers
        .iter()
        .filter_map(|p| {
            let s = summarise(p, cut)?;
            let returned = p.iter().any(|(t, _)| *t > cut && *t <= end);
            Some((s, !returned))
        })
        .collect();
    if known.len() < MIN_HOLDOUT_CUSTOMERS {
        return Err(ForecastError::NotEnoughHistory {
            needed: MIN_HOLDOUT_CUSTOMERS,
            have: known.len(),
        });
    }
    let fitted: Vec<Summary> = known.iter().map(|k| k.0).collect();
    let model = BgNbd::fit(&fitted)?;
    let probabilities: Vec<f64> = fitted
        .iter()
        .map(|s| model.p_no_purchase(s, horizon))
        .collect();
    let outcomes: Vec<bool> = known.iter().map(|k| k.1).collect();
    let churned = outcomes.iter().filter(|o| **o).count();
    Ok(Holdout {
        customers: known.len(),
        churned,
        brier: brier(&probabilities, &outcomes),
        base_rate: churned as f64 / known.len() as f64,
        base_rate_brier: base_rate_brier(&outcomes),
    })
}

/// Fits a restaurant's customer model on the purchases up to `end`, with its holdout when there is
/// enough history for one.
pub fn fit_customers(
    customers: &[Purchases],
    end: f64,
    churn_horizon: f64,
    value_horizon: f64,
) -> Result<CustomerModel> {
    if !(churn_horizon > 0.0 && value_horizon > 0.0) {
        return Err(ForecastError::Shape("horizons must be positive".into()));
    }
    let fitted: Vec<Summary> = summaries(customers, end).into_iter().flatten().collect();
    let bgnbd = BgNbd::fit(&fitted)?;
    Ok(CustomerModel {
        bgnbd,
        gamma_gamma: GammaGamma::fit(&fitted).ok(),
        churn_horizon,
        value_horizon,
        holdout: holdout(customers, end, churn_horizon).ok(),
        customers: fitted.len(),
        repeaters: fitted.iter().filter(|s| s.frequency > 0.0).count(),
    })
}

/// What is known of one customer at the end of an observation.
struct Facts {
    summary: Summary,
    orders: usize,
    first: f64,
    last: f64,
    spend: f64,
    rfm: Rfm,
}

/// The facts of each customer at `end` (None for one with no purchase by then), with RFM scores.
fn facts(customers: &[Purchases], end: f64) -> Vec<Option<Facts>> {
    let mut rows: Vec<Option<Facts>> = customers
        .iter()
        .map(|p| {
            let summary = summarise(p, end)?;
            let seen: Vec<&(f64, f64)> = p.iter().filter(|(t, _)| *t <= end).collect();
            Some(Facts {
                summary,
                orders: seen.len(),
                first: seen.iter().map(|x| x.0).fold(f64::INFINITY, f64::min),
                last: seen.iter().map(|x| x.0).fold(f64::NEG_INFINITY, f64::max),
                spend: seen.iter().map(|x| x.1).filter(|v| v.is_finite()).sum(),
                rfm: Rfm {
                    recency: 0,
                    frequency: 0,
                    monetary: 0,
                },
            })
        })
        .collect();
    let present: Vec<(f64, f64, f64)> = rows
        .iter()
        .flatten()
        .map(|f| (end - f.last, f.orders as f64, f.spend))
        .collect();
    for (row, score) in rows.iter_mut().flatten().zip(rfm(&present)) {
        row.rfm = score;
    }
    rows
}

/// The mean known value of a customer's purchases.
fn own_mean_value(p: &Purchases, end: f64) -> Option<f64> {
    let values: Vec<f64> = p
        .iter()
        .filter(|(t, v)| *t <= end && v.is_finite())
        .map(|x| x.1)
        .collect();
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

impl CustomerModel {
    /// Scores each customer at `end` (None for one who had not ordered by then).
    pub fn score(&self, customers: &[Purchases], end: f64) -> Vec<Option<CustomerScore>> {
        facts(customers, end)
            .into_iter()
            .zip(customers)
            .map(|(row, p)| {
                let Facts {
                    summary: s,
                    orders,
                    first,
                    last,
                    spend,
                    rfm,
                } = row?;
                let expected_orders = self.bgnbd.expected_purchases(&s, self.value_horizon);
                let expected_order_value = match &self.gamma_gamma {
                    Some(gg) if s.frequency > 0.0 && s.monetary > 0.0 => {
                        Some(gg.expected_value(&s))
                    }
                    Some(gg) if gg.q > 1.0 => Some(gg.expected_value(&s)),
                    _ => own_mean_value(p, end),
                };
                Some(CustomerScore {
                    orders,
                    first_day: first,
                    last_day: last,
                    days_since_last: end - last,
                    spend,
                    rfm,
                    segment: rfm.segment(),
                    p_alive: Some(self.bgnbd.p_alive(&s)),
                    churn_probability: self.bgnbd.p_no_purchase(&s, self.churn_horizon),
                    expected_orders: Some(expected_orders),
                    expected_order_value,
                    expected_value: expected_order_value.map(|v| v * expected_orders),
                })
            })
            .collect()
    }
}

/// Scores without a model: every customer's churn probability is the share of customers who did not
/// come back within `horizon` days the last time that could be seen (the fallback when no model is
/// trained). Returns that base rate (None with no customers before the cut) and the scores.
pub fn base_rate_scores(
    customers: &[Purchases],
    end: f64,
    horizon: f64,
) -> (Option<f64>, Vec<Option<CustomerScore>>) {
    let cut = end - horizon;
    let outcomes: Vec<bool> = customers
        .iter()
        .filter(|p| p.iter().any(|(t, _)| *t <= cut))
        .map(|p| !p.iter().any(|(t, _)| *t > cut && *t <= end))
        .collect();
    let rate = (!outcomes.is_empty())
        .then(|| outcomes.iter().filter(|o| **o).count() as f64 / outcomes.len() as f64);
    let scores = facts(customers, end)
        .into_iter()
        .zip(customers)
        .map(|(row, p)| {
            let Facts {
                orders,
                first,
                last,
                spend,
                rfm,
                ..
            } = row?;
            Some(CustomerScore {
                orders,
                first_day: first,
                last_day: last,
                days_since_last: end - last,
                spend,
                rfm,
                segment: rfm.segment(),
                p_alive: None,
                churn_probability: rate.unwrap_or(0.5),
                expected_orders: None,
                expected_order_value: own_mean_value(p, end),
                expected_value: None,
            })
        })
        .collect();
    (rate, scores)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Customers simulated from a known BG/NBD process, with a small deterministic generator.
    fn simulate(n: usize, days: f64, seed: u64) -> (Vec<Vec<(f64, f64)>>, BgNbd) {
        let truth = BgNbd {
            r: 2.0,
            alpha: 20.0,
            a: 1.5,
            b: 6.0,
        };
        let mut state = seed;
        let mut uniform = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        };
        let gamma = |shape: f64, rate: f64, u: &mut dyn FnMut() -> f64| {
            // Sum of exponentials for the integer part, plus a crude power for the rest: fine for tests.
            let k = shape.floor() as usize;
            let mut g: f64 = (0..k).map(|_| -u().ln()).sum();
            let frac = shape - k as f64;
            if frac > 0.0 {
                g += -u().ln() * u().powf(1.0 / frac);
            }
            g / rate
        };
        let mut customers = Vec::new();
        for _ in 0..n {
            let lambda = gamma(truth.r, truth.alpha, &mut uniform);
            let x = gamma(truth.a, 1.0, &mut uniform);
            let y = gamma(truth.b, 1.0, &mut uniform);
            let p = x / (x + y);
            let start = uniform() * days * 0.5;
            let spend = 10.0 + 30.0 * uniform();
            let mut t = start;
            let mut purchases = vec![(t, spend)];
            loop {
                t += -uniform().ln() / lambda;
                if t > days {
                    break;
                }
                purchases.push((t, spend * (0.8 + 0.4 * uniform())));
                if uniform() < p {
                    break;
                }
            }
            customers.push(purchases);
        }
        (customers, truth)
    }

    #[test]
    fn bg_nbd_churn_probabilities_beat_the_base_rate_on_held_out_days() {
        let (histories, _) = simulate(3000, 400.0, 11);
        let cutoff = 340.0;
        let summaries: Vec<Summary> = histories
            .iter()
            .filter_map(|h| summarise(h, cutoff))
            .collect();
        let model = BgNbd::fit(&summaries).unwrap();
        let mut probabilities = Vec::new();
        let mut churned = Vec::new();
        for h in &histories {
            let Some(s) = summarise(h, cutoff) else {
                continue;
            };
            probabilities.push(model.p_no_purchase(&s, 60.0));
            churned.push(!h.iter().any(|(t, _)| *t > cutoff && *t <= cutoff + 60.0));
        }
        let ours = brier(&probabilities, &churned);
        let base = base_rate_brier(&churned);
        assert!(ours < base * 0.9, "Brier {ours} vs base rate {base}");
        // Expected purchases in the held-out days match what happened, in total.
        let expected: f64 = histories
            .iter()
            .filter_map(|h| summarise(h, cutoff))
            .map(|s| model.expected_purchases(&s, 60.0))
            .sum();
        let actual = histories
            .iter()
            .flatten()
            .filter(|(t, _)| *t > cutoff)
            .count() as f64;
        assert!(
            (expected / actual - 1.0).abs() < 0.2,
            "expected {expected}, actual {actual}"
        );
    }

    #[test]
    fn p_alive_falls_the_longer_a_frequent_customer_stays_away() {
        let model = BgNbd {
            r: 2.0,
            alpha: 20.0,
            a: 1.5,
            b: 6.0,
        };
        let recent = Summary {
            frequency: 10.0,
            recency: 95.0,
            age: 100.0,
            monetary: 20.0,
        };
        let gone = Summary {
            frequency: 10.0,
            recency: 20.0,
            age: 100.0,
            monetary: 20.0,
        };
        assert!(model.p_alive(&recent) > 0.8, "{}", model.p_alive(&recent));
        assert!(model.p_alive(&gone) < 0.1);
        assert!(model.p_no_purchase(&gone, 30.0) > model.p_no_purchase(&recent, 30.0));
        assert_eq!(
            model.p_alive(&Summary {
                frequency: 0.0,
                recency: 0.0,
                age: 50.0,
                monetary: 0.0
            }),
            1.0
        );
    }

    #[test]
    fn gamma_gamma_shrinks_a_customer_towards_the_population_mean() {
        let customers: Vec<Summary> = (0..200)
            .map(|i| Summary {
                frequency: 1.0 + (i % 5) as f64,
                recency: 50.0,
                age: 100.0,
                monetary: 15.0 + (i % 13) as f64 * 2.0,
            })
            .collect();
        let model = GammaGamma::fit(&customers).unwrap();
        let big_once = Summary {
            frequency: 1.0,
            recency: 10.0,
            age: 100.0,
            monetary: 200.0,
        };
        let big_often = Summary {
            frequency: 30.0,
            ..big_once
        };
        let once = model.expected_value(&big_once);
        let often = model.expected_value(&big_often);
        assert!(once < 200.0 && once > 27.0, "{once}");
        assert!(
            often > once,
            "more evidence, less shrinkage: {often} vs {once}"
        );
    }

    #[test]
    fn rfm_scores_rank_and_name_segments() {
        let customers: Vec<(f64, f64, f64)> = (0..10)
            .map(|i| (i as f64 * 10.0, 10.0 - i as f64, 100.0 - i as f64))
            .collect();
        let scores = rfm(&customers);
        assert_eq!(
            scores[0],
            Rfm {
                recency: 5,
                frequency: 5,
                monetary: 5
            }
        );
        assert_eq!(
            scores[9],
            Rfm {
                recency: 1,
                frequency: 1,
                monetary: 1
            }
        );
        assert_eq!(scores[0].segment(), Segment::Champions);
        assert_eq!(scores[9].segment(), Segment::Hibernating);
        assert_eq!(
            Rfm {
                recency: 1,
                frequency: 5,
                monetary: 3
            }
            .segment(),
            Segment::AtRisk
        );
        // Ties share a score.
        let tied = rfm(&[(5.0, 1.0, 1.0), (5.0, 1.0, 1.0), (5.0, 1.0, 1.0)]);
        assert!(tied.windows(2).all(|w| w[0] == w[1]));
    }

    #[test]
    fn a_fitted_customer_model_scores_everyone_and_its_holdout_beats_the_base_rate() {
        let (histories, _) = simulate(1500, 400.0, 7);
        let model = fit_customers(&histories, 400.0, 60.0, 365.0).unwrap();
        let holdout = model
            .holdout
            .clone()
            .expect("enough customers for a holdout");
        assert!(holdout.customers > 1000, "{holdout:?}");
        assert!(holdout.brier < holdout.base_rate_brier, "{holdout:?}");
        assert!(model.gamma_gamma.is_some());
        let scores = model.score(&histories, 400.0);
        assert_eq!(scores.len(), histories.len());
        let scored: Vec<&CustomerScore> = scores.iter().flatten().collect();
        assert_eq!(scored.len(), histories.len());
        for s in &scored {
            assert!((0.0..=1.0).contains(&s.churn_probability));
            assert!(s.expected_orders.unwrap() >= 0.0);
            assert!(s.expected_value.unwrap() >= 0.0);
            assert_eq!(s.segment, s.rfm.segment());
        }
        // A customer who has not been seen for a long time is likelier to have churned than one who
        // ordered yesterday with the same number of orders.
        let regular: Purchases = (0..10).map(|k| (300.0 + k as f64 * 10.0, 20.0)).collect();
        let gone: Purchases = (0..10).map(|k| (10.0 + k as f64 * 10.0, 20.0)).collect();
        let both = model.score(&[regular, gone], 400.0);
        let (regular, gone) = (both[0].as_ref().unwrap(), both[1].as_ref().unwrap());
        assert!(gone.churn_probability > regular.churn_probability + 0.3);
        assert!(gone.expected_value.unwrap() < regular.expected_value.unwrap());
        // Purchases after `end` do not exist yet.
        assert!(model.score(&[vec![(450.0, 10.0)]], 400.0)[0].is_none());
    }

    #[test]
    fn unknown_values_count_as_orders_not_as_spend() {
        let s = summarise(&[(0.0, 10.0), (5.0, f64::NAN), (9.0, 30.0)], 20.0).unwrap();
        assert_eq!(s.frequency, 2.0);
        assert_eq!(s.monetary, 30.0);
        let (_, scores) = base_rate_scores(&[vec![(0.0, 10.0), (5.0, f64::NAN)]], 20.0, 10.0);
        assert_eq!(scores[0].as_ref().unwrap().spend, 10.0);
        assert_eq!(scores[0].as_ref().unwrap().orders, 2);
    }

    #[test]
    fn without_a_model_churn_is_the_base_rate_of_the_last_horizon() {
        // Four customers before the cut at day 50; one comes back after it.
        let customers: Vec<Purchases> = vec![
            vec![(1.0, 10.0), (60.0, 10.0)],
            vec![(2.0, 10.0)],
            vec![(3.0, 10.0)],
            vec![(4.0, 10.0)],
            vec![(70.0, 10.0)],
        ];
        let (rate, scores) = base_rate_scores(&customers, 100.0, 50.0);
        assert_eq!(rate, Some(0.75));
        assert!(scores.iter().flatten().all(|s| s.churn_probability == 0.75));
        assert!(
            holdout(&customers, 100.0, 50.0).is_err(),
            "too few for a holdout"
        );
        assert!(fit_customers(&customers, 100.0, 50.0, 365.0).is_err());
    }

    #[test]
    fn brier_scores() {
        assert_eq!(brier(&[1.0, 0.0], &[true, false]), 0.0);
        assert_eq!(brier(&[0.0, 1.0], &[true, false]), 1.0);
        assert!((base_rate_brier(&[true, false, false, false]) - 0.1875).abs() < 1e-12);
    }
}
