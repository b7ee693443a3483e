//! Stock arithmetic with no database: which batches a use of an ingredient takes from (first in, first
//! out, unexpired batches before expired ones), what the stock on hand is worth, and what a dish costs
//! from its recipe, sub-recipes included. Exact integers throughout: quantities in thousandths of the
//! ingredient's unit, unit costs in millionths of the currency unit, values in billionths.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

/// Quantities are thousandths of the ingredient's unit (1 g is 1,000; 0.5 each is 500).
pub const MILLI: i64 = 1_000;
/// Unit costs are millionths of the currency unit per unit of the ingredient.
pub const MICRO: i64 = 1_000_000;

/// A batch as FIFO sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lot {
    pub id: Uuid,
    /// Thousandths of a unit still in the batch.
    pub remaining: i64,
    /// Millionths of the currency unit per unit.
    pub unit_cost_micros: i64,
    pub received_at: DateTime<Utc>,
    /// The last day it may be used; `None` keeps.
    pub expires_on: Option<NaiveDate>,
}

/// What a use takes from one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Take {
    pub lot: Uuid,
    pub quantity: i64,
    pub unit_cost_micros: i64,
}

/// How a use is met: from batches, and what no batch had (the kitchen used it anyway).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    pub takes: Vec<Take>,
    pub shortfall: i64,
}

/// The order a use drains batches in on `today`: unexpired batches oldest first, then expired ones
/// oldest first (they are still on the shelf), ties by id.
pub fn fifo_order(lots: &[Lot], today: NaiveDate) -> Vec<&Lot> {
    let mut ordered: Vec<&Lot> = lots.iter().filter(|l| l.remaining > 0).collect();
    ordered.sort_by_key(|l| {
        (
            l.expires_on.is_some_and(|last| last < today),
            l.received_at,
            l.id,
        )
    });
    ordered
}

/// Take `quantity` (thousandths, not negative) from `lots` on `today`.
pub fn plan_use(lots: &[Lot], quantity: i64, today: NaiveDate) -> Plan {
    let mut left = quantity.max(0);
    let mut takes = Vec::new();
    for lot in fifo_order(lots, today) {
        if left == 0 {
            break;
        }
        let taken = left.min(lot.remaining);
        takes.push(Take {
            lot: lot.id,
            quantity: taken,
            unit_cost_micros: lot.unit_cost_micros,
        });
        left -= taken;
    }
    Plan {
        takes,
        shortfall: left,
    }
}

/// `lots` after `plan` was taken from them.
pub fn apply(lots: &[Lot], plan: &Plan) -> Vec<Lot> {
    let taken: HashMap<Uuid, i64> = plan.takes.iter().map(|t| (t.lot, t.quantity)).collect();
    lots.iter()
        .map(|l| Lot {
            remaining: l.remaining - taken.get(&l.id).copied().unwrap_or(0),
            ..l.clone()
        })
        .collect()
}

/// Value of a quantity at a unit cost, in billionths of the currency unit (exact).
pub fn value_nanos(quantity: i64, unit_cost_micros: i64) -> i128 {
    i128::from(quantity) * i128::from(unit_cost_micros)
}

/// A value in billionths as a currency amount.
pub fn money(nanos: i128) -> Decimal {
    Decimal::from_i128_with_scale(nanos, 9).normalize()
}

/// What the stock in `lots` is worth, each batch at its own cost (FIFO valuation), in billionths.
pub fn stock_value_nanos(lots: &[Lot]) -> i128 {
    lots.iter()
        .map(|l| value_nanos(l.remaining.max(0), l.unit_cost_micros))
        .sum()
}

/// The cost of what a plan took, in billionths.
pub fn plan_cost_nanos(plan: &Plan) -> i128 {
    plan.takes
        .iter()
        .map(|t| value_nanos(t.quantity, t.unit_cost_micros))
        .sum()
}

/// One line of a recipe: thousandths of an ingredient's unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipeLine {
    pub ingredient: Uuid,
    pub quantity: i64,
}

/// A sub-recipe: an ingredient made in the kitchen (a sauce, a dough) from other ingredients; one batch
/// of `lines` yields `yield_quantity` thousandths of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubRecipe {
    pub yield_quantity: i64,
    pub lines: Vec<RecipeLine>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CostError {
    /// A sub-recipe uses itself, directly or through others.
    Cycle(Uuid),
    /// An ingredient with no cost and no sub-recipe.
    NoCost(Uuid),
    /// A sub-recipe that yields nothing.
    NoYield(Uuid),
}

/// What `lines` cost, given each bought ingredient's unit cost (millionths per unit) and the
/// sub-recipes of made ones (their cost is their components' per unit of yield).
pub fn recipe_cost(
    lines: &[RecipeLine],
    unit_costs: &HashMap<Uuid, i64>,
    subs: &HashMap<Uuid, SubRecipe>,
) -> Result<Decimal, CostError> {
    let mut memo = HashMap::new();
    let mut path = Vec::new();
    let mut total = Decimal::ZERO;
    for line in lines {
        let unit = unit_cost(line.ingredient, unit_costs, subs, &mut memo, &mut path)?;
        total += unit * Decimal::new(line.quantity, 3);
    }
    Ok(total)
}

/// Cost of one unit of an ingredient, in the currency.
fn unit_cost(
    ingredient: Uuid,
    unit_costs: &HashMap<Uuid, i64>,
    subs: &HashMap<Uuid, SubRecipe>,
    memo: &mut HashMap<Uuid, Decimal>,
    path: &mut Vec<Uuid>,
) -> Result<Decimal, CostError> {
    if let Some(known) = memo.get(&ingredient) {
        return Ok(*known);
    }
    let cost = match subs.get(&ingredient) {
        Some(sub) => {
            if path.contains(&ingredient) {
                return Err(CostError::Cycle(ingredient));
            }
            if sub.yield_quantity <= 0 {
                return Err(CostError::NoYield(ingredient));
            }
            path.push(ingredient);
            let mut batch = Decimal::ZERO;
            for line in &sub.lines {
                let unit = unit_cost(line.ingredient, unit_costs, subs, memo, path)?;
                batch += unit * Decimal::new(line.quantity, 3);
            }
            path.pop();
            batch / Decimal::new(sub.yield_quantity, 3)
        }
        None => match unit_costs.get(&ingredient) {
            Some(micros) => Decimal::new(*micros, 6),
            None => return Err(CostError::NoCost(ingredient)),
        },
    };
    memo.insert(ingredient, cost);
    Ok(cost)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, d).unwrap()
    }

    fn lot(n: u128, remaining: i64, cost: i64, received: u32, expires: Option<u32>) -> Lot {
        Lot {
            id: Uuid::from_u128(n),
            remaining,
            unit_cost_micros: cost,
            received_at: Utc.with_ymd_and_hms(2026, 6, received, 9, 0, 0).unwrap(),
            expires_on: expires.map(day),
        }
    }

    #[test]
    fn oldest_unexpired_first_then_expired_then_short() {
        let lots = vec![
            lot(1, 2_000, 10, 3, Some(9)),  // expired on the 10th
            lot(2, 5_000, 20, 5, None),     // keeps
            lot(3, 1_000, 30, 4, Some(20)), // oldest unexpired
        ];
        let plan = plan_use(&lots, 9_000, day(10));
        assert_eq!(
            plan.takes,
            vec![
                Take {
                    lot: Uuid::from_u128(3),
                    quantity: 1_000,
                    unit_cost_micros: 30
                },
                Take {
                    lot: Uuid::from_u128(2),
                    quantity: 5_000,
                    unit_cost_micros: 20
                },
                Take {
                    lot: Uuid::from_u128(1),
                    quantity: 2_000,
                    unit_cost_micros: 10
                },
            ]
        );
        assert_eq!(plan.shortfall, 1_000);
        // 1 g at 30 micro + 5 g at 20 + 2 g at 10, in billionths.
        assert_eq!(plan_cost_nanos(&plan), 1_000 * 30 + 5_000 * 20 + 2_000 * 10);
    }

    #[test]
    fn a_sauce_costs_what_its_components_cost_per_unit_of_yield() {
        let (tomato, oil, sauce, pizza_dough) = (
            Uuid::from_u128(1),
            Uuid::from_u128(2),
            Uuid::from_u128(3),
            Uuid::from_u128(4),
        );
        // Tomatoes 0.004/g, oil 0.01/ml; 1 kg of sauce from 900 g tomatoes and 100 ml oil.
        let costs = HashMap::from([(tomato, 4_000), (oil, 10_000), (pizza_dough, 1_500)]);
        let subs = HashMap::from([(
            sauce,
            SubRecipe {
                yield_quantity: 1_000_000,
                lines: vec![
                    RecipeLine {
                        ingredient: tomato,
                        quantity: 900_000,
                    },
                    RecipeLine {
                        ingredient: oil,
                        quantity: 100_000,
                    },
                ],
            },
        )]);
        // 80 g of sauce and 250 g of dough.
        let pizza = [
            RecipeLine {
                ingredient: sauce,
                quantity: 80_000,
            },
            RecipeLine {
                ingredient: pizza_dough,
                quantity: 250_000,
            },
        ];
        let cost = recipe_cost(&pizza, &costs, &subs).unwrap();
        // Sauce: (3.60 + 1.00) / 1000 g = 0.0046/g, so 0.368; dough 0.375.
        assert_eq!(cost, Decimal::new(743, 3));
        // A sauce made from itself is refused, not looped.
        let looped = HashMap::from([(
            sauce,
            SubRecipe {
                yield_quantity: 1_000,
                lines: vec![RecipeLine {
                    ingredient: sauce,
                    quantity: 10,
                }],
            },
        )]);
        assert_eq!(
            recipe_cost(&pizza, &costs, &looped),
            Err(CostError::Cycle(sauce))
        );
        assert_eq!(
            recipe_cost(
                &[RecipeLine {
                    ingredient: Uuid::from_u128(9),
                    quantity: 1
                }],
                &costs,
                &subs
            ),
            Err(CostError::NoCost(Uuid::from_u128(9)))
        );
    }

    fn lots_strategy() -> impl Strategy<Value = Vec<Lot>> {
        prop::collection::vec(
            (
                0i64..50_000,
                0i64..5_000_000,
                1u32..28,
                prop::option::of(1u32..28),
            ),
            0..8,
        )
        .prop_map(|raw| {
            raw.into_iter()
                .enumerate()
                .map(|(k, (remaining, cost, received, expires))| {
                    lot(k as u128 + 1, remaining, cost, received, expires)
                })
                .collect()
        })
    }

    proptest! {
        /// A use is met exactly (batches plus shortfall), never takes more than a batch has, only falls
        /// short when every batch is empty, and drains batches in FIFO order.
        #[test]
        fn fifo_takes_exactly_and_in_order(lots in lots_strategy(), quantity in 0i64..200_000, today in 1u32..28) {
            let today = day(today);
            let plan = plan_use(&lots, quantity, today);
            let taken: i64 = plan.takes.iter().map(|t| t.quantity).sum();
            prop_assert_eq!(taken + plan.shortfall, quantity);
            let after = apply(&lots, &plan);
            prop_assert!(after.iter().all(|l| l.remaining >= 0));
            if plan.shortfall > 0 {
                prop_assert!(after.iter().all(|l| l.remaining == 0));
            }
            // Every batch before the last one taken from is empty now.
            let order: Vec<Uuid> = fifo_order(&lots, today).iter().map(|l| l.id).collect();
            if let Some(last) = plan.takes.last() {
                let stop = order.iter().position(|id| *id == last.lot).unwrap();
                for id in &order[..stop] {
                    prop_assert_eq!(after.iter().find(|l| l.id == *id).unwrap().remaining, 0);
                }
            }
        }

        /// FIFO valuation: the stock's value falls by exactly the cost of what was taken.
        #[test]
        fn value_falls_by_the_cost_taken(lots in lots_strategy(), quantity in 0i64..200_000) {
            let plan = plan_use(&lots, quantity, day(15));
            let after = apply(&lots, &plan);
            prop_assert_eq!(stock_value_nanos(&lots) - plan_cost_nanos(&plan), stock_value_nanos(&after));
        }

        /// Recipe costing is additive over lines and scales with quantities.
        #[test]
        fn recipe_cost_adds_and_scales(
            costs in prop::collection::vec(0i64..10_000_000, 1..6),
            a in prop::collection::vec((0usize..6, 0i64..1_000_000), 0..6),
            b in prop::collection::vec((0usize..6, 0i64..1_000_000), 0..6),
        ) {
            let ids: Vec<Uuid> = (0..costs.len()).map(|k| Uuid::from_u128(k as u128 + 1)).collect();
            let unit_costs: HashMap<Uuid, i64> = ids.iter().copied().zip(costs.iter().copied()).collect();
            let lines = |raw: &[(usize, i64)]| -> Vec<RecipeLine> {
                raw.iter().map(|(k, q)| RecipeLine { ingredient: ids[k % ids.len()], quantity: *q }).collect()
            };
            let none = HashMap::new();
            let (la, lb) = (lines(&a), lines(&b));
            let both: Vec<RecipeLine> = la.iter().chain(lb.iter()).cloned().collect();
            let ca = recipe_cost(&la, &unit_costs, &none).unwrap();
            let cb = recipe_cost(&lb, &unit_costs, &none).unwrap();
            prop_assert_eq!(recipe_cost(&both, &unit_costs, &none).unwrap(), ca + cb);
            let doubled: Vec<RecipeLine> = la.iter().map(|l| RecipeLine { quantity: l.quantity * 2, ..l.clone() }).collect();
            prop_assert_eq!(recipe_cost(&doubled, &unit_costs, &none).unwrap(), ca * Decimal::TWO);
        }
    }
}
