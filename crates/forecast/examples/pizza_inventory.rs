//! The reorder backtest on the pizza-sales data set (`../shared/data/orders/pizza-sales`): each pizza's
//! ingredients (`pizza_types.csv`) become recipes with a quantity per size, the year's orders are
//! replayed as daily ingredient usage, and every ingredient is run under the forecast reorder policy
//! and under a fixed par level holding the same average stock (`brigade_forecast::replenishment`).
//!
//! The forecast is made as Brigade makes it: the restaurant's daily orders forecast by the model
//! `brigade_forecast::train` chooses (refitted every week on the days before only, like the weekly
//! training job), split top-down by what each weekday's orders used of the ingredient over the 8 weeks
//! before (`forecasting::breakdown` times the recipes), its error read from the model's 95% interval.
//!
//! Recipes (stated in BENCHMARKS.md): per medium pizza, each listed cheese 60 g, sauce or pesto 70 g,
//! meat or fish 50 g, garlic 8 g, olives 25 g, anything else 35 g; small 0.75x, large 1.3x, XL 1.6x,
//! XXL 2x. Shelf life: cheese 14 days, sauces 10, meat and fish 7, garlic and olives 21, the rest
//! (vegetables, herbs) 5. Every ingredient is delivered 2 days after it is ordered.
//!
//! cargo run --release -p brigade-forecast --example pizza_inventory -- ../shared/data/orders/pizza-sales

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use brigade_forecast::inventory::sd_from_95;
use brigade_forecast::replenishment::{
    Forecaster, Outcome, Outlook, Policy, RuleForecaster, Terms, matched_par, replay,
};
use brigade_forecast::{Forecast, Granularity, Series, Step, train};
use chrono::{Datelike, NaiveDate};

const WARMUP_DAYS: usize = 56;
const LEAD_TIME_DAYS: u32 = 2;

fn kind(ingredient: &str) -> (f64, u32) {
    let lower = ingredient.to_lowercase();
    let any = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    if any(&[
        "cheese",
        "mozzarella",
        "parmigiano",
        "feta",
        "gorgonzola",
        "brie",
        "fontina",
        "gouda",
        "asiago",
        "romano",
        "provolone",
        "ricotta",
    ]) {
        (60.0, 14)
    } else if any(&["sauce", "pesto"]) {
        (70.0, 10)
    } else if any(&[
        "chicken",
        "pepperoni",
        "bacon",
        "salami",
        "sausage",
        "capocollo",
        "prosciutto",
        "ham",
        "beef",
        "pancetta",
        "soppressata",
        "nduja",
        "chorizo",
        "anchovies",
        "calabrese",
    ]) {
        (50.0, 7)
    } else if lower.contains("garlic") {
        (8.0, 21)
    } else if lower.contains("olives") {
        (25.0, 21)
    } else {
        (35.0, 5)
    }
}

fn size_factor(size: &str) -> f64 {
    match size {
        "S" => 0.75,
        "L" => 1.3,
        "XL" => 1.6,
        "XXL" => 2.0,
        _ => 1.0,
    }
}

fn read(path: &PathBuf) -> csv::Reader<std::io::Cursor<String>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    // pizza_types.csv is cp1252 (one 0x91 quote); every other byte is ASCII.
    let text: String = bytes
        .iter()
        .map(|&b| if b < 0x80 { b as char } else { '\'' })
        .collect();
    csv::Reader::from_reader(std::io::Cursor::new(text))
}

/// The restaurant's forecast made at the end of each day, split by weekday shares into one ingredient.
/// Its error is the larger of the model's interval and the ingredient's own one-day-ahead errors over
/// the last 8 weeks (relative to the forecast): the mix of pizzas varies from day to day, which the
/// restaurant's interval does not see.
struct ModelForecaster<'a> {
    restaurant: &'a [Option<Forecast>],
    orders: &'a [f64],
    weekday: &'a [usize],
    /// What was forecast for each day the evening before.
    said: Vec<Option<f64>>,
}

impl Forecaster for ModelForecaster<'_> {
    fn outlook(&mut self, usage: &[f64], day: usize, horizon: usize) -> Outlook {
        let Some(f) = &self.restaurant[day] else {
            return RuleForecaster.outlook(usage, day, horizon);
        };
        // What an order used of the ingredient, per weekday, over the 8 weeks before.
        let mut used = [0.0; 7];
        let mut placed = [0.0; 7];
        for d in day.saturating_sub(55)..=day {
            used[self.weekday[d]] += usage[d];
            placed[self.weekday[d]] += self.orders[d];
        }
        if self.said.len() < usage.len() {
            self.said.resize(usage.len(), None);
        }
        let relative: Vec<f64> = (day.saturating_sub(55)..=day)
            .filter_map(|d| {
                self.said[d]
                    .filter(|p| *p > 0.0)
                    .map(|p| (usage[d] - p) / p)
            })
            .collect();
        let relative_sd = if relative.len() >= 14 {
            (relative.iter().map(|r| r * r).sum::<f64>() / relative.len() as f64).sqrt()
        } else {
            0.0
        };
        let mut out = Outlook::default();
        for k in 0..horizon.min(f.mean.len()) {
            let w = (self.weekday[day] + 1 + k) % 7;
            let per_order = if placed[w] > 0.0 {
                used[w] / placed[w]
            } else {
                0.0
            };
            let mean = f.mean[k] * per_order;
            out.mean.push(mean);
            out.sd.push(
                (sd_from_95(f.lower_95[k], f.upper_95[k]) * per_order).max(relative_sd * mean),
            );
        }
        if day + 1 < self.said.len() {
            self.said[day + 1] = out.mean.first().copied();
        }
        out
    }
}

/// The restaurant's daily orders forecast at the end of every day from `warmup` on, from a model
/// trained every 7 days on the days before.
fn restaurant_forecasts(orders: &[f64], first: NaiveDate, warmup: usize) -> Vec<Option<Forecast>> {
    let days = orders.len();
    let steps: Vec<Step> = (0..days + 28)
        .map(|d| {
            let date = first + chrono::Days::new(d as u64);
            Step {
                // Closed days are the days without orders; the future is open.
                open: d >= days || orders[d] > 0.0,
                weekday: date.weekday().num_days_from_monday() as u8,
                hour: 0,
                day_of_year: date.ordinal() as u16,
                holiday: false,
            }
        })
        .collect();
    let mut model = None;
    let mut out = vec![None; days];
    let mut chosen = std::collections::BTreeMap::<String, usize>::new();
    for day in warmup.saturating_sub(1)..days {
        let series = Series::new(Granularity::Daily, &orders[..=day], &steps).expect("a series");
        if (day + 1 - warmup.saturating_sub(1)) % 7 == 1 || model.is_none() {
            model = train(&series, brigade_forecast::backtest::DEFAULT_WINDOWS)
                .ok()
                .map(|(m, _)| m);
            if let Some(m) = &model {
                *chosen.entry(m.method().name().to_string()).or_default() += 1;
            }
        }
        out[day] = model.as_ref().and_then(|m| {
            // Tomorrow on: the forecast from the step after `day`.
            m.forecast(&series, 28).ok()
        });
    }
    eprintln!("methods chosen at the weekly refits: {chosen:?}");
    out
}

fn main() {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "../shared/data/orders/pizza-sales".into()),
    );
    // pizza type -> its ingredients; pizza id -> (type, size).
    let mut types: HashMap<String, Vec<String>> = HashMap::new();
    for row in read(&dir.join("pizza_types.csv")).records() {
        let row = row.expect("pizza_types.csv row");
        types.insert(
            row[0].to_string(),
            row[3].split(',').map(|s| s.trim().to_string()).collect(),
        );
    }
    let mut pizzas: HashMap<String, (String, String)> = HashMap::new();
    for row in read(&dir.join("pizzas.csv")).records() {
        let row = row.expect("pizzas.csv row");
        pizzas.insert(row[0].to_string(), (row[1].to_string(), row[2].to_string()));
    }
    let first = NaiveDate::from_ymd_opt(2015, 1, 1).expect("a date");
    let mut order_day: HashMap<String, usize> = HashMap::new();
    let mut days = 0;
    for row in read(&dir.join("orders.csv")).records() {
        let row = row.expect("orders.csv row");
        let date = NaiveDate::parse_from_str(&row[1], "%Y-%m-%d").expect("an ISO date");
        let day = (date - first).num_days() as usize;
        days = days.max(day + 1);
        order_day.insert(row[0].to_string(), day);
    }
    let mut usage: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut pizzas_sold = 0u64;
    for row in read(&dir.join("order_details.csv")).records() {
        let row = row.expect("order_details.csv row");
        let day = order_day[&row[1]];
        let (kind_id, size) = &pizzas[&row[2]];
        let quantity: f64 = row[3].parse().expect("a quantity");
        pizzas_sold += quantity as u64;
        for ingredient in &types[kind_id] {
            let grams = kind(ingredient).0 * size_factor(size) * quantity;
            usage
                .entry(ingredient.clone())
                .or_insert_with(|| vec![0.0; days])[day] += grams;
        }
    }
    let mut orders = vec![0.0; days];
    for day in order_day.values() {
        orders[*day] += 1.0;
    }
    let weekday: Vec<usize> = (0..days)
        .map(|d| {
            (first + chrono::Days::new(d as u64))
                .weekday()
                .num_days_from_monday() as usize
        })
        .collect();
    let started = std::time::Instant::now();
    let restaurant = restaurant_forecasts(&orders, first, WARMUP_DAYS);
    eprintln!(
        "{} daily forecasts in {:.1} s",
        restaurant.iter().flatten().count(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "{} days, {pizzas_sold} pizzas, {} ingredients; the first {WARMUP_DAYS} days build history and are not counted\n",
        days,
        usage.len()
    );
    let mut totals: BTreeMap<&str, (Outcome, f64)> = BTreeMap::new();
    let mut used_total = 0.0;
    let mut rows = Vec::new();
    for (ingredient, daily) in &usage {
        let terms = Terms {
            lead_time_days: LEAD_TIME_DAYS,
            shelf_life_days: kind(ingredient).1,
        };
        used_total += daily[WARMUP_DAYS..].iter().sum::<f64>();
        for (label, service_level) in [("forecast 95%", 0.95), ("forecast 99%", 0.99)] {
            let mut forecaster = ModelForecaster {
                restaurant: &restaurant,
                orders: &orders,
                weekday: &weekday,
                said: Vec::new(),
            };
            let forecast = replay(
                daily,
                terms,
                Policy::Forecast { service_level },
                WARMUP_DAYS,
                &mut forecaster,
            );
            let (par, fixed) = matched_par(daily, terms, WARMUP_DAYS, forecast.average_stock);
            let par_label = if service_level == 0.95 {
                "par, same stock as 95%"
            } else {
                "par, same stock as 99%"
            };
            for (name, outcome) in [(label, forecast), (par_label, fixed)] {
                let entry = totals.entry(name).or_default();
                entry.0.stockout_days += outcome.stockout_days;
                entry.0.short += outcome.short;
                entry.0.expired += outcome.expired;
                entry.0.average_stock += outcome.average_stock;
                entry.0.orders += outcome.orders;
                entry.1 += 1.0;
            }
            if service_level == 0.95 {
                rows.push((ingredient.clone(), forecast, fixed, par));
            }
        }
    }
    println!(
        "| policy | ingredient-days out of stock | short (kg) | short (% of use) | expired (kg) | average stock (kg, all ingredients) |"
    );
    println!("|---|---|---|---|---|---|");
    for name in [
        "forecast 95%",
        "par, same stock as 95%",
        "forecast 99%",
        "par, same stock as 99%",
    ] {
        let (o, _) = totals[name];
        println!(
            "| {name} | {} | {:.1} | {:.2}% | {:.1} | {:.1} |",
            o.stockout_days,
            o.short / 1000.0,
            100.0 * o.short / used_total,
            o.expired / 1000.0,
            o.average_stock / 1000.0
        );
    }
    rows.sort_by(|a, b| b.2.short.total_cmp(&a.2.short));
    println!(
        "\nThe eight ingredients a fixed par level (same stock as the 95% policy) leaves shortest:\n"
    );
    println!(
        "| ingredient | shelf life | par (g) | days out: forecast / par | short g: forecast / par | expired g: forecast / par |"
    );
    println!("|---|---|---|---|---|---|");
    for (ingredient, forecast, fixed, par) in rows.iter().take(8) {
        println!(
            "| {ingredient} | {} d | {par:.0} | {} / {} | {:.0} / {:.0} | {:.0} / {:.0} |",
            kind(ingredient).1,
            forecast.stockout_days,
            fixed.stockout_days,
            forecast.short,
            fixed.short,
            forecast.expired,
            fixed.expired
        );
    }
}
