//! What one run changes in the summary tables, worked out on compact rows: a run numbers its orders,
//! restaurants, statuses and currencies, so the hot loop sorts and hashes small integers.
//!
//! An order whose first events are in the run adds what all its events contribute, its creation and
//! its customer's order. An order with events from earlier runs takes away what those contributed and
//! adds what all its events contribute now (a late event changes the time of the interval it splits);
//! its creation and its customer were counted when it was first seen.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use chrono_tz::Tz;
use rustc_hash::FxHashMap as HashMap;
use uuid::Uuid;

use super::{HOUR_MS, StatusCell, Throughput, is_terminal, local_hour, local_midnight};
use crate::analytics::histogram::bin_of;

/// A status event as a run works on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Event {
    pub id: i64,
    /// Index into [`Names::orders`].
    pub order: u32,
    pub at_ms: i64,
    /// Index into [`Names::statuses`].
    pub status: u16,
    /// The channel's code, -1 for none.
    pub code: i32,
}

/// What counting a newly seen order needs of it.
#[derive(Debug, Clone)]
pub(super) struct Facts {
    pub created_ms: i64,
    pub customer: Option<Uuid>,
    pub total_minor: i64,
    /// Index into [`Names::currencies`].
    pub currency: u16,
    pub value_known: bool,
}

/// An order whose restaurant no read said (its row is gone).
const NO_RESTAURANT: u32 = u32::MAX;

/// The numbering of one run's orders, restaurants, statuses and currencies.
#[derive(Debug, Default)]
pub(super) struct Names {
    pub orders: Vec<Uuid>,
    /// The restaurant (index) of each order.
    pub order_restaurant: Vec<u32>,
    order_index: HashMap<Uuid, u32>,
    pub restaurants: Vec<Uuid>,
    restaurant_index: HashMap<Uuid, u32>,
    pub statuses: Vec<Arc<str>>,
    /// Whether each status ends an order.
    pub terminal: Vec<bool>,
    pub currencies: Vec<Arc<str>>,
}

impl Names {
    /// The index of an order, numbering it when first seen (its restaurant is not known yet).
    pub fn order(&mut self, id: Uuid) -> u32 {
        if let Some(i) = self.order_index.get(&id) {
            return *i;
        }
        let i = self.orders.len() as u32;
        self.orders.push(id);
        self.order_restaurant.push(NO_RESTAURANT);
        self.order_index.insert(id, i);
        i
    }

    /// Say which restaurant an order belongs to.
    pub fn place(&mut self, order: u32, restaurant: Uuid) {
        let r = self.restaurant(restaurant);
        if let Some(slot) = self.order_restaurant.get_mut(order as usize) {
            *slot = r;
        }
    }

    pub fn order_of(&self, id: &Uuid) -> Option<u32> {
        self.order_index.get(id).copied()
    }

    pub fn restaurant(&mut self, id: Uuid) -> u32 {
        if let Some(i) = self.restaurant_index.get(&id) {
            return *i;
        }
        let i = self.restaurants.len() as u32;
        self.restaurants.push(id);
        self.restaurant_index.insert(id, i);
        i
    }

    pub fn restaurant_of(&self, id: &Uuid) -> Option<u32> {
        self.restaurant_index.get(id).copied()
    }

    /// Statuses are a handful of names: a scan beats hashing them.
    pub fn status(&mut self, name: &str) -> u16 {
        if let Some(i) = self.statuses.iter().position(|s| &**s == name) {
            return i as u16;
        }
        self.statuses.push(Arc::from(name));
        self.terminal.push(is_terminal(name));
        (self.statuses.len() - 1) as u16
    }

    pub fn currency(&mut self, code: &str) -> u16 {
        if let Some(i) = self.currencies.iter().position(|c| &**c == code) {
            return i as u16;
        }
        self.currencies.push(Arc::from(code));
        (self.currencies.len() - 1) as u16
    }
}

/// Everything one run works on.
#[derive(Debug, Default)]
pub(super) struct Input {
    pub names: Names,
    /// The events after the watermark.
    pub events: Vec<Event>,
    /// The events up to the watermark of the same orders.
    pub old: Vec<Event>,
    /// By order index: what counting the order needs, for orders with no events before the watermark.
    pub facts: Vec<Option<Facts>>,
    /// By restaurant index.
    pub zones: Vec<Tz>,
}

/// A row of `order_status_rollups`, by run-local numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct CellKey {
    pub day: bool,
    pub restaurant: u32,
    pub bucket: i64,
    pub status: u16,
    pub code: i32,
}

/// A row of `order_throughput_rollups`, by run-local numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct SpanKey {
    pub day: bool,
    pub restaurant: u32,
    pub bucket: i64,
}

/// Orders of one customer (at one restaurant, or at all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Tally {
    pub orders: i64,
    pub valued_orders: i64,
    pub value_minor: i64,
    pub currency: Arc<str>,
    pub first_ms: i64,
    pub last_ms: i64,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.orders += other.orders;
        self.valued_orders += other.valued_orders;
        self.value_minor += other.value_minor;
        self.first_ms = self.first_ms.min(other.first_ms);
        self.last_ms = self.last_ms.max(other.last_ms);
    }
}

/// The newly seen orders of a range of events, by restaurant and customer: they only ever add to the
/// stored counts, so the changes of several runs can be gathered and written at once
/// (`customer_rollups` watermark). Each customer's change over all restaurants is the sum of these.
#[derive(Debug, Default)]
pub(super) struct Customers {
    /// By (restaurant, customer).
    pub per_restaurant: HashMap<(Uuid, Uuid), Tally>,
}

impl Customers {
    pub fn len(&self) -> usize {
        self.per_restaurant.len()
    }

    pub fn merge(&mut self, other: Customers) {
        for (key, tally) in other.per_restaurant {
            self.add(key, &tally);
        }
    }

    fn add(&mut self, key: (Uuid, Uuid), tally: &Tally) {
        self.per_restaurant
            .entry(key)
            .and_modify(|t| t.add(tally))
            .or_insert_with(|| tally.clone());
    }

    /// Each customer's change over all restaurants.
    pub fn totals(&self) -> HashMap<Uuid, Tally> {
        let mut totals: HashMap<Uuid, Tally> = HashMap::default();
        for ((_, customer), tally) in &self.per_restaurant {
            totals
                .entry(*customer)
                .and_modify(|t| t.add(tally))
                .or_insert_with(|| tally.clone());
        }
        totals
    }

    /// Count one newly seen order.
    fn count(&mut self, restaurant: Uuid, facts: &Facts, currency: &Arc<str>) {
        let Some(customer) = facts.customer else {
            return;
        };
        let (valued, value) = if facts.value_known {
            (1, facts.total_minor)
        } else {
            (0, 0)
        };
        let one = Tally {
            orders: 1,
            valued_orders: valued,
            value_minor: value,
            currency: Arc::clone(currency),
            first_ms: facts.created_ms,
            last_ms: facts.created_ms,
        };
        self.add((restaurant, customer), &one);
    }
}

/// What a run adds to the stored rows (negative counts take away).
#[derive(Debug, Default)]
pub(super) struct Delta {
    pub status: HashMap<CellKey, StatusCell>,
    pub throughput: HashMap<SpanKey, Throughput>,
    pub customers: Customers,
}

/// Local hour and local day starts, cached by restaurant and quarter hour (every zone's offset is a
/// whole number of quarters, so a quarter hour lies in one local hour and one local day).
struct Buckets<'a> {
    zones: &'a [Tz],
    cache: HashMap<(u32, i64), (i64, i64)>,
}

impl Buckets<'_> {
    fn starts(&mut self, restaurant: u32, ms: i64) -> (i64, i64) {
        const QUARTER: i64 = 900_000;
        let slot = ms.div_euclid(QUARTER);
        if let Some(starts) = self.cache.get(&(restaurant, slot)) {
            return *starts;
        }
        let tz = self
            .zones
            .get(restaurant as usize)
            .copied()
            .unwrap_or(Tz::UTC);
        let at = slot * QUARTER;
        let starts = match Utc.timestamp_millis_opt(at).single() {
            Some(instant) => (
                local_hour(tz, at),
                local_midnight(tz, instant.with_timezone(&tz).date_naive()),
            ),
            None => {
                let hour = ms.div_euclid(HOUR_MS) * HOUR_MS;
                (hour, hour)
            }
        };
        self.cache.insert((restaurant, slot), starts);
        starts
    }
}

/// The customers of the orders a read found first seen in its events (no status work).
pub(super) fn customers_of_new_orders(input: &Input) -> Customers {
    let mut out = Customers::default();
    for (order, facts) in input.facts.iter().enumerate() {
        if let Some(facts) = facts {
            let restaurant = input.names.order_restaurant[order] as usize;
            if restaurant == NO_RESTAURANT as usize {
                continue;
            }
            out.count(
                input.names.restaurants[restaurant],
                facts,
                &input.names.currencies[facts.currency as usize],
            );
        }
    }
    out
}

/// The changes one run makes.
pub(super) fn compute(input: &mut Input) -> Delta {
    let by_order = |e: &Event| (e.order, e.at_ms, e.id);
    input.events.sort_unstable_by_key(by_order);
    input.old.sort_unstable_by_key(by_order);
    let Input {
        names,
        events,
        old,
        facts,
        zones,
    } = input;
    let mut buckets = Buckets {
        zones,
        cache: HashMap::default(),
    };
    let mut delta = Delta::default();
    let mut merged: Vec<Event> = Vec::new();
    let mut earlier = &old[..];
    for group in events.chunk_by(|a, b| a.order == b.order) {
        let order = group[0].order;
        let restaurant = names.order_restaurant[order as usize];
        if restaurant == NO_RESTAURANT {
            continue;
        }
        while earlier.first().is_some_and(|e| e.order < order) {
            earlier = &earlier[1..];
        }
        let n = earlier.iter().take_while(|e| e.order == order).count();
        let (before, rest) = earlier.split_at(n);
        earlier = rest;
        if before.is_empty() {
            let Some(facts) = facts.get(order as usize).and_then(Option::as_ref) else {
                continue;
            };
            let (hour, day) = buckets.starts(restaurant, facts.created_ms);
            for (is_day, bucket) in [(false, hour), (true, day)] {
                delta
                    .throughput
                    .entry(SpanKey {
                        day: is_day,
                        restaurant,
                        bucket,
                    })
                    .or_default()
                    .created += 1;
            }
            contribute(
                &mut delta,
                &mut buckets,
                &names.terminal,
                restaurant,
                group,
                1,
            );
            delta.customers.count(
                names.restaurants[restaurant as usize],
                facts,
                &names.currencies[facts.currency as usize],
            );
        } else {
            contribute(
                &mut delta,
                &mut buckets,
                &names.terminal,
                restaurant,
                before,
                -1,
            );
            merged.clear();
            merged.extend_from_slice(before);
            merged.extend_from_slice(group);
            merged.sort_unstable_by_key(|e| (e.at_ms, e.id));
            contribute(
                &mut delta,
                &mut buckets,
                &names.terminal,
                restaurant,
                &merged,
                1,
            );
        }
    }
    delta.status.retain(|_, c| !c.is_empty());
    delta
        .throughput
        .retain(|_, t| t.created != 0 || t.finished != 0);
    delta
}

/// Add (sign 1) or take away (sign -1) what one order's events (in time order) contribute: each event
/// enters its status in the buckets of its instant, the time until the next event is that status's
/// time (the last state is still open), and the first terminal event finishes the order.
fn contribute(
    delta: &mut Delta,
    buckets: &mut Buckets,
    terminal: &[bool],
    restaurant: u32,
    events: &[Event],
    sign: i64,
) {
    let mut finished = false;
    for (i, ev) in events.iter().enumerate() {
        let next = events.get(i + 1).map(|n| n.at_ms - ev.at_ms);
        let bin = next.map(bin_of);
        let ends = terminal.get(ev.status as usize).copied().unwrap_or(false);
        let finishes = ends && !finished;
        finished |= ends;
        let (hour, day) = buckets.starts(restaurant, ev.at_ms);
        for (is_day, bucket) in [(false, hour), (true, day)] {
            let cell = delta
                .status
                .entry(CellKey {
                    day: is_day,
                    restaurant,
                    bucket,
                    status: ev.status,
                    code: ev.code,
                })
                .or_default();
            cell.entered += sign;
            if let (Some(ms), Some(bin)) = (next, bin) {
                cell.timed += sign;
                cell.duration_ms += sign * ms;
                cell.histogram.add_bin(bin, sign);
            }
            if finishes {
                delta
                    .throughput
                    .entry(SpanKey {
                        day: is_day,
                        restaurant,
                        bucket,
                    })
                    .or_default()
                    .finished += sign;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(id: i64, order: u32, minute: i64, status: u16) -> Event {
        Event {
            id,
            order,
            at_ms: minute * 60_000,
            status,
            code: -1,
        }
    }

    fn input(events: Vec<Event>, old: Vec<Event>, new_order_facts: bool) -> Input {
        let mut names = Names::default();
        let restaurant = Uuid::from_u128(1);
        let order = names.order(Uuid::from_u128(10));
        names.place(order, restaurant);
        for s in ["PENDING", "CONFIRMED", "COMPLETED"] {
            names.status(s);
        }
        let currency = names.currency("EUR");
        Input {
            names,
            events,
            old,
            facts: vec![new_order_facts.then_some(Facts {
                created_ms: 0,
                customer: Some(Uuid::from_u128(99)),
                total_minor: 1250,
                currency,
                value_known: true,
            })],
            zones: vec![Tz::UTC],
        }
    }

    fn hour_cell(delta: &Delta, status: u16) -> Option<&StatusCell> {
        delta.status.get(&CellKey {
            day: false,
            restaurant: 0,
            bucket: 0,
            status,
            code: -1,
        })
    }

    #[test]
    fn a_new_order_counts_its_states_creation_and_customer() {
        let mut run = input(
            vec![ev(3, 0, 10, 2), ev(1, 0, 0, 0), ev(2, 0, 4, 1)],
            vec![],
            true,
        );
        let delta = compute(&mut run);
        let pending = hour_cell(&delta, 0).unwrap();
        assert_eq!(
            (pending.entered, pending.timed, pending.duration_ms),
            (1, 1, 240_000)
        );
        let confirmed = hour_cell(&delta, 1).unwrap();
        assert_eq!(confirmed.duration_ms, 360_000);
        let completed = hour_cell(&delta, 2).unwrap();
        assert_eq!((completed.entered, completed.timed), (1, 0));
        let hour = SpanKey {
            day: false,
            restaurant: 0,
            bucket: 0,
        };
        assert_eq!(
            delta.throughput[&hour],
            Throughput {
                created: 1,
                finished: 1
            }
        );
        let tally = &delta.customers.totals()[&Uuid::from_u128(99)];
        assert_eq!((tally.orders, tally.value_minor), (1, 1250));
    }

    #[test]
    fn a_late_event_moves_only_the_interval_it_splits() {
        // Stored before: PENDING at 0, COMPLETED at 10. Arriving late: CONFIRMED at 4.
        let mut run = input(
            vec![ev(3, 0, 4, 1)],
            vec![ev(1, 0, 0, 0), ev(2, 0, 10, 2)],
            false,
        );
        let delta = compute(&mut run);
        let pending = hour_cell(&delta, 0).unwrap();
        assert_eq!((pending.entered, pending.timed), (0, 0));
        assert_eq!(pending.duration_ms, 240_000 - 600_000);
        let confirmed = hour_cell(&delta, 1).unwrap();
        assert_eq!((confirmed.entered, confirmed.duration_ms), (1, 360_000));
        assert!(hour_cell(&delta, 2).is_none(), "COMPLETED did not change");
        assert!(delta.throughput.is_empty(), "creation and finish unchanged");
        assert_eq!(delta.customers.len(), 0, "the customer was counted before");
    }
}
