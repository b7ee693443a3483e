//! `brigade monitoring import --dir DIR`: the three CSV files of the store-monitoring export into the
//! database. Every line is accounted for (`csv_lines`): lines that cannot be read are reported with
//! their line numbers and skipped, everything else is stored, and importing the same files again stores
//! nothing new (its lines count as already there).

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveTime, Timelike};
use chrono_tz::Tz;
use indicatif::ProgressBar;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde::Serialize;
use uuid::Uuid;

use super::polls::{self, StoreStats};
use super::timeline::{Micros, Poll};
use crate::entities::{restaurant_hours, restaurants};
use crate::restaurants::{HoursInterval, ensure_external};
use crate::state::AppState;

pub use crate::csv_lines::Rejected;
use crate::csv_lines::{CsvFile, LinesError, RejectOptions, Rejects, Tally};

#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportSummary {
    pub stores_created: usize,
    pub zones_changed: usize,
    pub hours_changed: usize,
    pub polls: StoreStats,
    /// Every line that was skipped (the CLI prints the first ones).
    pub rejected: Vec<Rejected>,
    /// Each file's lines: stored, already there, rejected.
    pub files: Vec<Tally>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Input(String),
    #[error(transparent)]
    Lines(#[from] LinesError),
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
}

/// `2023-01-22 12:09:39.388884 UTC`, also without the fraction, without ` UTC`, with `T` or a `Z`.
pub fn parse_timestamp(raw: &str) -> Result<Micros, String> {
    let bad = || format!("{raw:?} is not a UTC timestamp like 2023-01-22 12:09:39.388884 UTC");
    let s = raw;
    let s = s
        .strip_suffix(" UTC")
        .or_else(|| s.strip_suffix('Z'))
        .or_else(|| s.strip_suffix("+00:00"))
        .unwrap_or(s);
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || (b[10] != b' ' && b[10] != b'T') {
        return Err(bad());
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = &b[range];
        part.iter().all(u8::is_ascii_digit).then(|| {
            part.iter()
                .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'))
        })
    };
    let date = NaiveDate::from_ymd_opt(
        num(0..4).ok_or_else(bad)? as i32,
        num(5..7).ok_or_else(bad)?,
        num(8..10).ok_or_else(bad)?,
    )
    .ok_or_else(bad)?;
    if b[13] != b':' || b[16] != b':' {
        return Err(bad());
    }
    let time = NaiveTime::from_hms_opt(
        num(11..13).ok_or_else(bad)?,
        num(14..16).ok_or_else(bad)?,
        num(17..19).ok_or_else(bad)?,
    )
    .ok_or_else(bad)?;
    let mut micros: i64 = 0;
    if b.len() > 19 {
        let fraction = &b[19..];
        if fraction[0] != b'.'
            || fraction.len() < 2
            || fraction.len() > 10
            || !fraction[1..].iter().all(u8::is_ascii_digit)
        {
            return Err(bad());
        }
        for i in 0..6 {
            micros = micros * 10 + fraction.get(1 + i).map_or(0, |d| i64::from(d - b'0'));
        }
    }
    let seconds = date.and_time(time).and_utc().timestamp();
    debug_assert_eq!(time.nanosecond(), 0);
    Ok(seconds * 1_000_000 + micros)
}

/// `active` or `inactive` (any case).
pub fn parse_status(raw: &str) -> Result<bool, String> {
    let s = crate::http::text::trimmed(raw);
    if s.eq_ignore_ascii_case("active") {
        Ok(false)
    } else if s.eq_ignore_ascii_case("inactive") {
        Ok(true)
    } else {
        Err(format!("status {s:?} is neither active nor inactive"))
    }
}

fn open(path: &Path, progress: &ProgressBar) -> Result<CsvFile, ImportError> {
    let bar = progress.clone();
    Ok(CsvFile::open(path, move |file, size| {
        bar.set_length(size);
        bar.set_position(0);
        Box::new(bar.wrap_read(file))
    })?)
}

fn field<'r>(
    record: &crate::csv_lines::Record<'r>,
    index: usize,
    name: &str,
) -> Result<&'r str, String> {
    let s = record
        .get(index)
        .ok_or_else(|| format!("{name} is missing"))?;
    if s.is_empty() {
        Err(format!("{name} is empty"))
    } else if s.bytes().any(|b| b < 0x20 || b == 0x7f)
        || (!s.is_ascii() && s.contains(char::is_control))
    {
        Err(format!("{name} holds a control character"))
    } else {
        Ok(s)
    }
}

/// Read every data line, calling `row` with it; a line that cannot be split, or that `row` refuses,
/// is rejected. Returns the number of data lines.
fn each_row(
    file: &mut CsvFile,
    rejects: &mut Rejects,
    mut row: impl FnMut(&crate::csv_lines::Record<'_>) -> Result<(), String>,
) -> Result<u64, ImportError> {
    loop {
        let reason = match file.next_record()? {
            None => return Ok(file.data_lines),
            Some(Ok(record)) => match row(&record) {
                Ok(()) => continue,
                Err(reason) => reason,
            },
            Some(Err(reason)) => reason,
        };
        rejects.reject(file, reason)?;
    }
}

/// Store ids are kept once; polls point at them by index. (FxHash: every poll line looks its store up,
/// and SipHash was a tenth of an import's time.)
#[derive(Default)]
struct StoreIds {
    index: rustc_hash::FxHashMap<Box<str>, u32>,
    names: Vec<String>,
}

impl StoreIds {
    fn intern(&mut self, id: &str) -> u32 {
        if let Some(&i) = self.index.get(id) {
            return i;
        }
        let i = self.names.len() as u32;
        self.names.push(id.to_string());
        self.index.insert(id.into(), i);
        i
    }
}

fn find_file(dir: &Path, names: &[&str]) -> Option<PathBuf> {
    names.iter().map(|n| dir.join(n)).find(|p| p.is_file())
}

/// Import `store_status.csv`, `business_hours.csv` (or `menu_hours.csv`) and `timezones.csv` from `dir`;
/// any of them may be absent, but not all. Every file is read before anything is stored: when more lines
/// are rejected than `options.max` allows, nothing is stored.
pub async fn import_dir(
    state: &AppState,
    dir: &Path,
    progress: &ProgressBar,
    options: &RejectOptions,
) -> Result<ImportSummary, ImportError> {
    if !dir.is_dir() {
        return Err(ImportError::Input(format!(
            "{} is not a directory (it should hold store_status.csv, business_hours.csv and timezones.csv)",
            dir.display()
        )));
    }
    let status_file = find_file(dir, &["store_status.csv"]);
    let hours_file = find_file(dir, &["business_hours.csv", "menu_hours.csv"]);
    let zones_file = find_file(dir, &["timezones.csv", "timezone.csv"]);
    if status_file.is_none() && hours_file.is_none() && zones_file.is_none() {
        return Err(ImportError::Input(format!(
            "found none of store_status.csv, business_hours.csv (or menu_hours.csv) and timezones.csv in {}",
            dir.display()
        )));
    }
    let mut summary = ImportSummary::default();
    let mut rejects = Rejects::new(options)?;
    let mut stores = StoreIds::default();
    let mut data_lines = 0;
    let started = std::time::Instant::now();
    let phase =
        |name: &str| tracing::debug!(ms = started.elapsed().as_millis() as u64, "import: {name}");

    let mut zones: HashMap<u32, Tz> = HashMap::new();
    // The store of each line kept, so each line can be told stored or already there.
    let mut zone_lines: Vec<u32> = Vec::new();
    let mut zones_tally = None;
    if let Some(path) = &zones_file {
        progress.set_message("reading time zones");
        let mut file = open(path, progress)?;
        let (store_col, zone_col) = (
            file.column(&["store_id"])?,
            file.column(&["timezone_str", "timezone"])?,
        );
        let lines = each_row(&mut file, &mut rejects, |r| {
            let store = field(r, store_col, "store_id")?;
            let zone_raw = field(r, zone_col, "timezone_str")?;
            let zone: Tz = zone_raw
                .parse()
                .map_err(|_| format!("{zone_raw:?} is not an IANA time zone"))?;
            let store = stores.intern(store);
            zones.insert(store, zone);
            zone_lines.push(store);
            Ok(())
        })?;
        data_lines += lines;
        zones_tally = Some(file_tally(&file, &rejects));
    }

    let mut hours: HashMap<u32, Vec<HoursInterval>> = HashMap::new();
    let mut hours_tally = None;
    if let Some(path) = &hours_file {
        progress.set_message("reading business hours");
        let mut file = open(path, progress)?;
        let cols = (
            file.column(&["store_id"])?,
            file.column(&["day", "dayOfWeek", "day_of_week"])?,
            file.column(&["start_time_local"])?,
            file.column(&["end_time_local"])?,
        );
        let lines = each_row(&mut file, &mut rejects, |r| {
            let store = field(r, cols.0, "store_id")?;
            let day = field(r, cols.1, "day")?;
            let day: i64 = day
                .parse()
                .map_err(|_| format!("day {day:?} is not a number 0 (Monday) to 6 (Sunday)"))?;
            let interval = HoursInterval::parse(
                day,
                field(r, cols.2, "start_time_local")?,
                field(r, cols.3, "end_time_local")?,
            )?;
            hours
                .entry(stores.intern(store))
                .or_default()
                .push(interval);
            Ok(())
        })?;
        data_lines += lines;
        hours_tally = Some(file_tally(&file, &rejects));
    }

    // Packed by store and block as they are read: 8 bytes a poll.
    let mut blocks: polls::Blocks<u32> = polls::Blocks::new();
    let mut polls_tally = None;
    if let Some(path) = &status_file {
        progress.set_message("reading polls");
        let mut file = open(path, progress)?;
        let cols = (
            file.column(&["store_id"])?,
            file.column(&["status"])?,
            file.column(&["timestamp_utc", "timestamp"])?,
        );
        let lines = each_row(&mut file, &mut rejects, |r| {
            let store = field(r, cols.0, "store_id")?;
            let inactive = parse_status(field(r, cols.1, "status")?)?;
            let at = parse_timestamp(field(r, cols.2, "timestamp_utc")?)?;
            blocks.add(stores.intern(store), Poll::new(at, inactive));
            Ok(())
        })?;
        data_lines += lines;
        polls_tally = Some(file_tally(&file, &rejects));
    }
    progress.finish_and_clear();
    rejects.finish()?;
    // Past the limit nothing is stored, not even a store.
    rejects.check(data_lines)?;
    summary.rejected = rejects.list;
    phase("files read");

    progress.set_message("finding stores");
    let names: Vec<&str> = stores.names.iter().map(String::as_str).collect();
    let zone_for = |id: &str| stores.index.get(id).and_then(|i| zones.get(i)).copied();
    let known = ensure_external(state, &names, &zone_for).await?;
    let restaurant_of: Vec<Uuid> = stores.names.iter().map(|n| known[n].id).collect();
    summary.stores_created = known.values().filter(|r| r.created).count();

    // Zones of stores that existed before and now read differently.
    let mut changed: HashSet<Uuid> = HashSet::new();
    let zone_updates: Vec<(Uuid, &'static str)> = zones
        .iter()
        .filter_map(|(&store, zone)| {
            let known = &known[&stores.names[store as usize]];
            (known.timezone != zone.name()).then_some((known.id, zone.name()))
        })
        .collect();
    if !zone_updates.is_empty() {
        let _turn = state.write_turn().await;
        let txn = crate::database::begin_write(&state.db).await?;
        for (id, zone) in &zone_updates {
            restaurants::Entity::update_many()
                .col_expr(
                    restaurants::Column::Timezone,
                    sea_orm::sea_query::Expr::value(*zone),
                )
                .col_expr(
                    restaurants::Column::UpdatedAt,
                    sea_orm::sea_query::Expr::value(state.now()),
                )
                .filter(restaurants::Column::Id.eq(*id))
                .exec(&txn)
                .await?;
            changed.insert(*id);
        }
        txn.commit().await?;
    }
    summary.zones_changed = zone_updates.len();
    if let Some(mut tally) = zones_tally {
        let fresh = |store: &u32| {
            let k = &known[&stores.names[*store as usize]];
            k.created || changed.contains(&k.id)
        };
        tally.stored = zone_lines.iter().filter(|s| fresh(s)).count() as u64;
        tally.duplicates = zone_lines.len() as u64 - tally.stored;
        summary.files.push(tally);
    }
    phase("stores found");

    if !hours.is_empty() {
        progress.set_message("storing business hours");
        let lines_of: HashMap<Uuid, u64> = hours
            .iter()
            .map(|(store, list)| (restaurant_of[*store as usize], list.len() as u64))
            .collect();
        let hours: HashMap<Uuid, Vec<HoursInterval>> = hours
            .into_iter()
            .map(|(store, mut list)| {
                list.sort_by_key(|h| (h.weekday, h.opens, h.closes));
                list.dedup();
                (restaurant_of[store as usize], list)
            })
            .collect();
        let replaced = replace_changed_hours(state, hours).await?;
        summary.hours_changed = replaced.len();
        if let Some(tally) = &mut hours_tally {
            tally.stored = replaced.iter().map(|id| lines_of[id]).sum();
            tally.duplicates = lines_of.values().sum::<u64>() - tally.stored;
        }
        changed.extend(replaced);
    }
    summary.files.extend(hours_tally);
    phase("hours stored");
    // Cached copies exist only of restaurants that were there before.
    let created: HashSet<Uuid> = known.values().filter(|k| k.created).map(|k| k.id).collect();
    for id in changed.iter().filter(|id| !created.contains(id)) {
        crate::menus::invalidate(state, *id).await;
    }

    if !blocks.is_empty() {
        progress.set_message("storing polls");
        progress.set_position(0);
        let blocks = blocks.rekey(|store| restaurant_of[store as usize]);
        let report = |done: u64, total: u64| {
            progress.set_length(total);
            progress.set_position(done);
        };
        summary.polls = polls::store_blocks(state, blocks, &report).await?;
        phase("polls stored");
    }
    if let Some(mut tally) = polls_tally {
        tally.stored = summary.polls.stored;
        tally.duplicates = summary.polls.duplicates;
        summary.files.push(tally);
    }
    progress.finish_and_clear();
    Ok(summary)
}

/// A file's lines and rejections once it is read (stored and duplicates are filled in when known).
fn file_tally(file: &CsvFile, rejects: &Rejects) -> Tally {
    Tally {
        file: file.name.clone(),
        lines: file.data_lines,
        rejected: rejects.of(&file.name),
        ..Tally::default()
    }
}

/// Replace the hours of the restaurants whose stored hours differ; returns those restaurants.
async fn replace_changed_hours(
    state: &AppState,
    wanted: HashMap<Uuid, Vec<HoursInterval>>,
) -> Result<Vec<Uuid>, ImportError> {
    use futures::TryStreamExt;
    // Streamed: collected whole, the driver would hold its copy of every stored interval at once (862,000
    // at ten times the full size).
    let mut rows = std::pin::pin!(
        restaurant_hours::Entity::find()
            .select_only()
            .columns([
                restaurant_hours::Column::RestaurantId,
                restaurant_hours::Column::Weekday,
                restaurant_hours::Column::Opens,
                restaurant_hours::Column::Closes,
            ])
            .into_tuple::<(Uuid, i16, NaiveTime, NaiveTime)>()
            .stream(&state.db)
            .await?
    );
    let mut stored: HashMap<Uuid, Vec<HoursInterval>> = HashMap::new();
    while let Some((id, weekday, opens, closes)) = rows.try_next().await? {
        if wanted.contains_key(&id) {
            stored.entry(id).or_default().push(HoursInterval {
                weekday: weekday.clamp(0, 6) as u8,
                opens,
                closes,
            });
        }
    }
    let mut changed = Vec::new();
    for (id, list) in &wanted {
        let mut old = stored.remove(id).unwrap_or_default();
        old.sort_by_key(|h| (h.weekday, h.opens, h.closes));
        old.dedup();
        if &old != list {
            changed.push(*id);
        }
    }
    if changed.is_empty() {
        return Ok(changed);
    }
    // In the order of the index on restaurant_id: each new entry lands beside the last, and each
    // store's rows end up side by side in the table, where the report reads them.
    changed.sort_unstable();
    let rows: Vec<(Uuid, Vec<HoursInterval>)> =
        changed.iter().map(|id| (*id, wanted[id].clone())).collect();
    crate::restaurants::replace_hours_many(state, &rows).await?;
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_in_every_accepted_shape() {
        let base = parse_timestamp("2023-01-22 12:09:39 UTC").unwrap();
        assert_eq!(base, 1_674_389_379 * 1_000_000);
        assert_eq!(parse_timestamp("2023-01-22 12:09:39").unwrap(), base);
        assert_eq!(
            parse_timestamp("2023-01-22 12:09:39.388884 UTC").unwrap(),
            base + 388_884
        );
        assert_eq!(
            parse_timestamp("2023-01-22 12:09:39.5").unwrap(),
            base + 500_000
        );
        assert_eq!(parse_timestamp("2023-01-22T12:09:39Z").unwrap(), base);
        for bad in [
            "",
            "2023-01-22",
            "2023-02-30 00:00:00",
            "2023-01-22 25:00:00",
            "yesterday",
            "2023-01-22 12:09:39.x",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn statuses() {
        assert_eq!(parse_status("active"), Ok(false));
        assert_eq!(parse_status(" Inactive "), Ok(true));
        assert!(parse_status("open").is_err());
    }
}
