//! History imports: real order logs loaded as completed orders of one restaurant (`source = 'import'`),
//! each with its items and one COMPLETED status event at the order's time, so analytics and (later)
//! forecasting read them like any other order.
//!
//! Formats (see the READMEs beside the data):
//! - `pizza-sales`: a directory with `orders.csv`, `order_details.csv`, `pizzas.csv` and `pizza_types.csv`
//!   (the last in cp1252); prices in USD from `pizzas.csv`.
//! - `london-takeaway`: `restaurant-1-orders.csv` (or its directory): one row per line, dd/mm/yyyy HH:MM,
//!   historical prices in GBP; duplicate rows are real lines and kept.
//! - `bread-basket`: `BreadBasket_DMS.csv` (or its directory): one row per unit, no prices; "NONE" rows
//!   are not items, but a transaction of only "NONE" is still an order.
//!
//! Times are local to the restaurant. Importing again stores nothing new (orders are known by
//! `<format>:<order number>`). Every line is accounted for (`csv_lines`): a line of an order that is
//! stored counts as stored, of an order that was there already as a duplicate, the rest as rejected;
//! the lookup files of `pizza-sales` (the menu) count their lines as stored once they are used.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use indicatif::ProgressBar;
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect, Set};
use uuid::Uuid;

/// A line an import could not take (the same report as the monitoring import's).
pub use crate::csv_lines::Rejected;
use crate::csv_lines::{CsvFile, LinesError, RejectOptions, Rejects, Tally};

use crate::entities::{order_items, order_status_events, orders, restaurants};
use crate::money::Currency;
use crate::restaurants::hours::local_to_utc;
use crate::state::AppState;

pub const SOURCE_IMPORT: &str = "import";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    PizzaSales,
    LondonTakeaway,
    BreadBasket,
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pizza-sales" => Ok(Format::PizzaSales),
            "london-takeaway" => Ok(Format::LondonTakeaway),
            "bread-basket" => Ok(Format::BreadBasket),
            other => Err(format!(
                "unknown format {other:?}: use pizza-sales, london-takeaway or bread-basket"
            )),
        }
    }
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::PizzaSales => "pizza-sales",
            Format::LondonTakeaway => "london-takeaway",
            Format::BreadBasket => "bread-basket",
        }
    }

    /// The restaurant it becomes unless told otherwise: external id, name, zone, currency.
    fn restaurant(self) -> (&'static str, &'static str, Tz, &'static str) {
        match self {
            Format::PizzaSales => (
                "pizza-sales",
                "Plato's Pizza",
                chrono_tz::America::New_York,
                "USD",
            ),
            Format::LondonTakeaway => (
                "london-takeaway-1",
                "London Indian Takeaway",
                chrono_tz::Europe::London,
                "GBP",
            ),
            Format::BreadBasket => (
                "the-bread-basket",
                "The Bread Basket",
                chrono_tz::Europe::London,
                "GBP",
            ),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    Lines(#[from] LinesError),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] sea_orm::DbErr),
}

/// One order as a log holds it.
#[derive(Debug, Clone)]
pub struct HistoricOrder {
    pub number: String,
    pub at: NaiveDateTime,
    /// (name, quantity, unit price in minor units when known)
    pub items: Vec<(String, i32, Option<i64>)>,
    /// The lines it was read from, by file (index into [`Log::files`]).
    pub lines: Vec<(usize, u64)>,
}

impl HistoricOrder {
    fn new(number: &str, at: NaiveDateTime) -> HistoricOrder {
        HistoricOrder {
            number: number.into(),
            at,
            items: Vec::new(),
            lines: Vec::new(),
        }
    }

    fn count_line(&mut self, file: usize) {
        match self.lines.iter_mut().find(|(f, _)| *f == file) {
            Some((_, n)) => *n += 1,
            None => self.lines.push((file, 1)),
        }
    }
}

/// A log as read: its orders, and each file's lines (stored and duplicates are filled in when the
/// orders are stored; lookup files' lines count as stored as soon as they are used).
#[derive(Debug, Default)]
pub struct Log {
    pub orders: Vec<HistoricOrder>,
    pub files: Vec<Tally>,
}

#[derive(Debug, Default)]
pub struct ImportSummary {
    pub orders_read: usize,
    pub stored: usize,
    pub already_there: usize,
    pub items: usize,
    pub restaurant_id: Uuid,
    pub restaurant_created: bool,
    pub rejected: Vec<Rejected>,
    /// Each file's lines: stored, already there, rejected.
    pub files: Vec<Tally>,
    pub first: Option<DateTime<Utc>>,
    pub last: Option<DateTime<Utc>>,
    /// Orders stored whose items matched menu items with recipes: each took its recipes from stock
    /// (FIFO, at the order's time), as a completed order does.
    pub consumed: usize,
}

/// Lines of one file of a log, read with [`CsvFile`]: `row` gets each record (and may reject it with a
/// reason); the file's tally is added to `files`. Returns the file's index there.
fn each_row(
    path: &Path,
    files: &mut Vec<Tally>,
    rejects: &mut Rejects,
    mut row: impl FnMut(usize, &crate::csv_lines::Record<'_>) -> Result<(), String>,
) -> Result<usize, ImportError> {
    let mut file = CsvFile::open(path, |file, _| Box::new(file))?;
    let index = files.len();
    files.push(Tally {
        file: file.name.clone(),
        ..Tally::default()
    });
    loop {
        let reason = match file.next_record()? {
            None => break,
            Some(Ok(record)) => match row(index, &record) {
                Ok(()) => continue,
                Err(reason) => reason,
            },
            Some(Err(reason)) => reason,
        };
        rejects.reject(&file, reason)?;
    }
    files[index].lines = file.data_lines;
    files[index].rejected = rejects.of(&file.name);
    Ok(index)
}

fn col<'r>(record: &crate::csv_lines::Record<'r>, i: usize, name: &str) -> Result<&'r str, String> {
    record
        .get(i)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("{name} is missing"))
}

fn minor(price: &str, currency: Currency) -> Result<i64, String> {
    let value = Decimal::from_str(price).map_err(|_| format!("price {price:?} is not a number"))?;
    if value.is_sign_negative() {
        return Err(format!("price {price} is negative"));
    }
    currency
        .to_minor(value)
        .map_err(|problem| format!("price {price}: {problem}"))
}

fn in_dir(path: &Path, file: &str) -> PathBuf {
    if path.is_dir() {
        path.join(file)
    } else {
        path.to_path_buf()
    }
}

/// Read a log into orders (bad lines are rejected, the rest kept).
pub fn read(format: Format, path: &Path, rejects: &mut Rejects) -> Result<Log, ImportError> {
    let currency = Currency::parse(format.restaurant().3).map_err(ImportError::Invalid)?;
    let mut orders: BTreeMap<String, HistoricOrder> = BTreeMap::new();
    let mut files: Vec<Tally> = Vec::new();
    if !path.exists() {
        return Err(ImportError::Invalid(format!(
            "{} does not exist",
            path.display()
        )));
    }
    match format {
        Format::PizzaSales => {
            if !path.is_dir() {
                return Err(ImportError::Invalid(format!(
                    "{}: pizza-sales needs the directory holding orders.csv, order_details.csv, pizzas.csv and pizza_types.csv",
                    path.display()
                )));
            }
            // The menu: its lines are used by every order, so they count as stored.
            let mut types: HashMap<String, String> = HashMap::new();
            let kinds = each_row(
                &path.join("pizza_types.csv"),
                &mut files,
                rejects,
                |_, r| {
                    types.insert(
                        col(r, 0, "pizza_type_id")?.into(),
                        col(r, 1, "name")?.into(),
                    );
                    Ok(())
                },
            )?;
            files[kinds].stored = files[kinds].lines - files[kinds].rejected;
            let mut pizzas: HashMap<String, (String, i64)> = HashMap::new();
            let menu = each_row(&path.join("pizzas.csv"), &mut files, rejects, |_, r| {
                let id = col(r, 0, "pizza_id")?;
                let kind = col(r, 1, "pizza_type_id")?;
                let size = col(r, 2, "size")?;
                let price = minor(col(r, 3, "price")?, currency)?;
                let name = types.get(kind).cloned().unwrap_or_else(|| kind.to_string());
                pizzas.insert(id.into(), (format!("{name} ({size})"), price));
                Ok(())
            })?;
            files[menu].stored = files[menu].lines - files[menu].rejected;
            each_row(&path.join("orders.csv"), &mut files, rejects, |file, r| {
                let id = col(r, 0, "order_id")?;
                let date = NaiveDate::parse_from_str(col(r, 1, "date")?, "%Y-%m-%d")
                    .map_err(|_| "date is not YYYY-MM-DD".to_string())?;
                let time = NaiveTime::parse_from_str(col(r, 2, "time")?, "%H:%M:%S")
                    .map_err(|_| "time is not HH:MM:SS".to_string())?;
                if orders.contains_key(id) {
                    return Err(format!("order {id} appears twice in orders.csv"));
                }
                let mut order = HistoricOrder::new(id, date.and_time(time));
                order.count_line(file);
                orders.insert(id.into(), order);
                Ok(())
            })?;
            each_row(
                &path.join("order_details.csv"),
                &mut files,
                rejects,
                |file, r| {
                    let order = col(r, 1, "order_id")?;
                    let pizza = col(r, 2, "pizza_id")?;
                    let quantity: i32 = col(r, 3, "quantity")?
                        .parse()
                        .ok()
                        .filter(|q| *q > 0)
                        .ok_or("quantity must be a positive whole number")?;
                    let (name, price) = pizzas
                        .get(pizza)
                        .cloned()
                        .ok_or_else(|| format!("unknown pizza_id {pizza:?}"))?;
                    let order = orders
                        .get_mut(order)
                        .ok_or_else(|| format!("order {order} is not in orders.csv"))?;
                    order.items.push((name, quantity, Some(price)));
                    order.count_line(file);
                    Ok(())
                },
            )?;
        }
        Format::LondonTakeaway => {
            each_row(
                &in_dir(path, "restaurant-1-orders.csv"),
                &mut files,
                rejects,
                |file, r| {
                    let number = col(r, 0, "OrderNumber")?;
                    let at =
                        NaiveDateTime::parse_from_str(col(r, 1, "OrderDate")?, "%d/%m/%Y %H:%M")
                            .map_err(|_| "OrderDate is not dd/mm/yyyy HH:MM".to_string())?;
                    let name = col(r, 2, "ItemName")?;
                    let quantity: i32 = col(r, 3, "Quantity")?
                        .parse()
                        .ok()
                        .filter(|q| *q > 0)
                        .ok_or("Quantity must be a positive whole number")?;
                    let price = minor(col(r, 4, "ProductPrice")?, currency)?;
                    let order = orders
                        .entry(number.into())
                        .or_insert_with(|| HistoricOrder::new(number, at));
                    order.items.push((name.into(), quantity, Some(price)));
                    order.count_line(file);
                    Ok(())
                },
            )?;
        }
        Format::BreadBasket => {
            each_row(
                &in_dir(path, "BreadBasket_DMS.csv"),
                &mut files,
                rejects,
                |file, r| {
                    let date = NaiveDate::parse_from_str(col(r, 0, "Date")?, "%Y-%m-%d")
                        .map_err(|_| "Date is not YYYY-MM-DD".to_string())?;
                    let time = NaiveTime::parse_from_str(col(r, 1, "Time")?, "%H:%M:%S")
                        .map_err(|_| "Time is not HH:MM:SS".to_string())?;
                    let number = col(r, 2, "Transaction")?;
                    let item = col(r, 3, "Item")?;
                    let order = orders
                        .entry(number.into())
                        .or_insert_with(|| HistoricOrder::new(number, date.and_time(time)));
                    if !item.eq_ignore_ascii_case("NONE") {
                        // Each row is one unit: repeated rows add up.
                        match order.items.iter_mut().find(|(n, _, _)| n == item) {
                            Some(line) => line.1 += 1,
                            None => order.items.push((item.into(), 1, None)),
                        }
                    }
                    order.count_line(file);
                    Ok(())
                },
            )?;
        }
    }
    Ok(Log {
        orders: orders.into_values().collect(),
        files,
    })
}

/// Import a log as completed orders of one restaurant (`restaurant`: its external id; default per format).
pub async fn import(
    state: &AppState,
    format: Format,
    path: &Path,
    restaurant: Option<&str>,
    progress: &ProgressBar,
    options: &RejectOptions,
) -> Result<ImportSummary, ImportError> {
    let mut summary = ImportSummary::default();
    progress.set_message(format!("reading {}", format.as_str()));
    let mut rejects = Rejects::new(options)?;
    let Log {
        orders: logs,
        mut files,
    } = read(format, path, &mut rejects)?;
    rejects.finish()?;
    // Past the limit nothing is stored, not even the restaurant.
    rejects.check(files.iter().map(|f| f.lines).sum())?;
    summary.rejected = rejects.list;
    summary.orders_read = logs.len();

    let (default_ext, name, default_zone, currency) = format.restaurant();
    let external = restaurant.unwrap_or(default_ext);
    let known =
        crate::restaurants::ensure_external(state, &[external], &|_| Some(default_zone)).await?;
    let found = known.get(external).cloned().ok_or_else(|| {
        ImportError::Invalid(format!("restaurant {external} could not be created"))
    })?;
    if found.created {
        restaurants::Entity::update_many()
            .col_expr(restaurants::Column::Name, Expr::value(name))
            .col_expr(restaurants::Column::Currency, Expr::value(currency))
            .filter(restaurants::Column::Id.eq(found.id))
            .exec(&state.db)
            .await?;
    }
    summary.restaurant_id = found.id;
    summary.restaurant_created = found.created;
    let tz: Tz = found.timezone.parse().unwrap_or(default_zone);
    let currency: String = restaurants::Entity::find_by_id(found.id)
        .select_only()
        .column(restaurants::Column::Currency)
        .into_tuple()
        .one(&state.db)
        .await?
        .unwrap_or_else(|| currency.to_string());

    let refs: HashSet<String> = orders::Entity::find()
        .select_only()
        .column(orders::Column::ExternalRef)
        .filter(orders::Column::RestaurantId.eq(found.id))
        .filter(orders::Column::Source.eq(SOURCE_IMPORT))
        .into_tuple::<Option<String>>()
        .all(&state.db)
        .await?
        .into_iter()
        .flatten()
        .collect();
    let key = |o: &HistoricOrder| format!("{}:{}", format.as_str(), o.number);
    let fresh: Vec<&HistoricOrder> = logs.iter().filter(|o| !refs.contains(&key(o))).collect();
    summary.already_there = logs.len() - fresh.len();
    for order in &logs {
        let there = refs.contains(&key(order));
        for (file, n) in &order.lines {
            if there {
                files[*file].duplicates += n;
            } else {
                files[*file].stored += n;
            }
        }
    }
    summary.files = files;

    // A restaurant with recipes: each imported order takes its items' recipes from stock, its items
    // matched to the menu by name as a channel order's are.
    let stocked = crate::inventory::venues_with_recipes(&state.db, vec![found.id])
        .await
        .map_err(|e| ImportError::Invalid(e.message))?
        .contains(&found.id);
    let menu = if stocked {
        crate::entities::menu_items::Entity::find()
            .filter(crate::entities::menu_items::Column::RestaurantId.eq(found.id))
            .all(&state.db)
            .await?
    } else {
        Vec::new()
    };

    progress.set_length(fresh.len() as u64);
    progress.set_position(0);
    progress.set_message(format!("storing {}", format.as_str()));
    let now = state.now();
    for chunk in fresh.chunks(500) {
        let rows: Vec<(Uuid, DateTime<Utc>, &HistoricOrder)> = chunk
            .iter()
            .map(|o| (Uuid::now_v7(), local_to_utc(tz, o.at), *o))
            .collect();
        let _turn = state.write_turn().await;
        let txn = crate::database::begin_write(&state.db).await?;
        orders::Entity::insert_many(rows.iter().map(|(id, at, o)| {
            let total: i64 = o
                .items
                .iter()
                .map(|(_, q, p)| i64::from(*q) * p.unwrap_or(0))
                .sum();
            orders::ActiveModel {
                id: Set(*id),
                restaurant_id: Set(found.id),
                customer_id: Set(None),
                source: Set(SOURCE_IMPORT.into()),
                order_type: Set("TAKEOUT".into()),
                status: Set("COMPLETED".into()),
                status_changed_at: Set(*at),
                total_minor: Set(total),
                currency: Set(currency.clone()),
                payment_status: Set("PAID".into()),
                payment_method: Set(None),
                payment_reference: Set(None),
                pickup_time: Set(None),
                table_label: Set(None),
                reservation_id: Set(None),
                note: Set(None),
                idempotency_key: Set(None),
                idempotency_fingerprint: Set(None),
                external_ref: Set(Some(key(o))),
                created_at: Set(*at),
                updated_at: Set(now),
            }
        }))
        .exec_without_returning(&txn)
        .await?;
        let lines: Vec<order_items::ActiveModel> = rows
            .iter()
            .flat_map(|(id, _, o)| {
                o.items.iter().map(|(name, q, p)| order_items::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    order_id: Set(*id),
                    menu_item_id: Set(None),
                    name: Set(name.clone()),
                    plu: Set(None),
                    unit_price_minor: Set(p.unwrap_or(0)),
                    quantity: Set(*q),
                    subtotal_minor: Set(i64::from(*q) * p.unwrap_or(0)),
                    special_request: Set(None),
                })
            })
            .collect();
        summary.items += lines.len();
        let mut lines = lines.into_iter().peekable();
        while lines.peek().is_some() {
            let part: Vec<_> = lines.by_ref().take(1_000).collect();
            order_items::Entity::insert_many(part)
                .exec_without_returning(&txn)
                .await?;
        }
        order_status_events::Entity::insert_many(rows.iter().map(|(id, at, _)| {
            order_status_events::ActiveModel {
                order_id: Set(*id),
                restaurant_id: Set(found.id),
                from_status: Set(None),
                to_status: Set("COMPLETED".into()),
                raw_code: Set(None),
                actor_kind: Set("system".into()),
                actor_id: Set(None),
                note: Set(Some(format!("imported from {}", format.as_str()))),
                occurred_at: Set(*at),
                recorded_at: Set(now),
                ..Default::default()
            }
        }))
        .exec_without_returning(&txn)
        .await?;
        if stocked {
            for (id, at, o) in &rows {
                let items: Vec<(String, Option<String>, i32)> = o
                    .items
                    .iter()
                    .map(|(name, q, _)| (name.clone(), None, *q))
                    .collect();
                let portions = crate::inventory::match_portions(&menu, &items);
                if portions.is_empty() {
                    continue;
                }
                let today = at.with_timezone(&tz).date_naive();
                let moved = crate::inventory::consume(&txn, *id, found.id, &portions, *at, today)
                    .await
                    .map_err(|e| ImportError::Invalid(e.message))?;
                if moved > 0 {
                    summary.consumed += 1;
                }
            }
        }
        txn.commit().await?;
        for (_, at, _) in &rows {
            summary.first = Some(summary.first.map_or(*at, |f| f.min(*at)));
            summary.last = Some(summary.last.map_or(*at, |l| l.max(*at)));
        }
        summary.stored += rows.len();
        progress.inc(rows.len() as u64);
    }
    metrics::counter!("brigade_orders_created_total", "source" => SOURCE_IMPORT)
        .increment(summary.stored as u64);
    progress.finish_and_clear();
    Ok(summary)
}
