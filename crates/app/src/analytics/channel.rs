//! Orders from delivery channels: the seed's order JSON taken as it is, checked, and stored as Brigade
//! orders (`source = 'channel'`) with their status history as `order_status_events` (the channel's integer
//! code in `raw_code`, the Brigade state it maps to in `to_status`).
//!
//! An order is known by its channel `_id`: sending it again, or an update of it, merges into the stored
//! order. Events are stored once (order, code, instant) and ordered by their timestamps whatever order they
//! arrive in. A history that contradicts itself (two codes at one instant, anything after a terminal code,
//! an event before the order was created, a `status` that is not the latest entry) is refused with the
//! field named, and nothing of the batch is stored.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, QueryFilter, QuerySelect,
};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use utoipa::ToSchema;
use uuid::Uuid;

use super::bulk::{self, Col};
use crate::entities::{
    channel_accounts, channel_orders, order_items, order_status_events, orders, restaurants,
    status_code_mappings,
};
use crate::http::error::{ApiError, FieldErrors};
use crate::orders::OrderStatus;
use crate::state::AppState;

pub const SOURCE_CHANNEL: &str = "channel";
/// The state of an event whose code the mapping does not know.
pub const UNKNOWN_STATE: &str = "UNKNOWN";
/// At most this many orders in one request.
pub const MAX_BATCH: usize = 5_000;
/// Rows per bulk statement.
const CHUNK: usize = 5_000;

/// One version of the code → state mapping.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mapping {
    pub version: i32,
    pub codes: BTreeMap<i32, (String, OrderStatus)>,
}

impl Mapping {
    pub fn state_of(&self, code: i32) -> &'static str {
        self.codes
            .get(&code)
            .map(|(_, s)| s.as_str())
            .unwrap_or(UNKNOWN_STATE)
    }

    pub fn is_terminal(&self, code: i32) -> bool {
        self.codes
            .get(&code)
            .is_some_and(|(_, state)| state.is_terminal())
    }
}

/// The newest mapping version.
pub async fn current_mapping<C: ConnectionTrait>(db: &C) -> Result<Mapping, DbErr> {
    // One query: the newest version's rows (a subquery finds the version).
    let newest = sea_orm::sea_query::Query::select()
        .expr(status_code_mappings::Column::Version.max())
        .from(status_code_mappings::Entity)
        .to_owned();
    let rows = status_code_mappings::Entity::find()
        .filter(status_code_mappings::Column::Version.in_subquery(newest))
        .all(db)
        .await?;
    let version = rows.first().map_or(0, |r| r.version);
    let codes = rows
        .into_iter()
        .filter_map(|r| Some((r.code, (r.label, r.state.parse().ok()?))))
        .collect();
    Ok(Mapping { version, codes })
}

/// How long a process may go on using a mapping or a signing secret it read after another process
/// changed it without its invalidation reaching the cache (a read racing the change). The change's own
/// invalidation is immediate everywhere through the shared cache.
const CHANNEL_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(10);
const MAPPING_KEY: &str = "channel:mapping";

fn secret_key(account: &str) -> String {
    format!("channel:secret:{account}")
}

/// [`current_mapping`] through the cache: every ingest reads it, a new version is rare.
pub async fn cached_mapping(state: &AppState) -> Result<std::sync::Arc<Mapping>, DbErr> {
    if let Some(mapping) =
        brigade_platform::cache::get_json_shared::<Mapping>(state.cache.as_ref(), MAPPING_KEY).await
    {
        return Ok(mapping);
    }
    let mapping = current_mapping(&state.db).await?;
    brigade_platform::cache::set_json(
        state.cache.as_ref(),
        MAPPING_KEY,
        &mapping,
        CHANNEL_CACHE_TTL,
    )
    .await;
    Ok(std::sync::Arc::new(mapping))
}

/// Forget the cached mapping (a new version was stored).
pub async fn mapping_changed(state: &AppState) {
    brigade_platform::cache::invalidate(state.cache.as_ref(), MAPPING_KEY).await;
}

/// Forget an account's cached signing secret (it was set or cleared).
pub async fn account_changed(state: &AppState, account: &str) {
    brigade_platform::cache::invalidate(state.cache.as_ref(), &secret_key(account)).await;
}

/// `+` and digits: separators dropped, `00` read as `+`. Six to fifteen digits. (The document's pattern
/// for it is [`PHONE_PATTERN`].)
pub fn normalise_phone(raw: &str) -> Result<String, &'static str> {
    let mut digits = String::with_capacity(raw.len());
    for (i, c) in raw.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => {}
            ' ' | '-' | '.' | '(' | ')' | '/' => {}
            _ => return Err("must be a phone number: digits, an optional leading +, separators"),
        }
    }
    let digits = digits
        .strip_prefix("00")
        .map(str::to_string)
        .unwrap_or(digits);
    if !(6..=15).contains(&digits.len()) {
        return Err("must hold 6 to 15 digits");
    }
    Ok(format!("+{digits}"))
}

/// What a channel's text field may hold: 1 to 200 characters, no control characters, not blank.
pub const TEXT_PATTERN: &str =
    r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$";
/// A channel phone number as [`normalise_phone`] reads it.
pub const PHONE_PATTERN: &str = r"^\+?[ ().\/-]*(0[ ().\/-]*0[ ().\/-]*([0-9][ ().\/-]*){6,15}|[1-9][ ().\/-]*([0-9][ ().\/-]*){5,14}|0[ ().\/-]*[1-9][ ().\/-]*([0-9][ ().\/-]*){4,13})$";

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct CustomerInput {
    #[schema(
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    #[serde(rename = "phoneNumber")]
    #[schema(
        pattern = r"^\+?[ ().\/-]*(0[ ().\/-]*0[ ().\/-]*([0-9][ ().\/-]*){6,15}|[1-9][ ().\/-]*([0-9][ ().\/-]*){5,14}|0[ ().\/-]*[1-9][ ().\/-]*([0-9][ ().\/-]*){4,13})$"
    )]
    pub phone_number: Option<String>,
}

/// An item; it needs a `name` or a `plu` (or both).
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct ChannelItemInput {
    #[schema(
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: Option<String>,
    #[schema(
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub plu: Option<String>,
    #[schema(value_type = i64, required = true, minimum = 1, maximum = 999)]
    pub quantity: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct StatusEntryInput {
    #[schema(value_type = i64, required = true, minimum = 0, maximum = 2147483647)]
    pub status: Option<i64>,
    /// RFC 3339, in the years 1970 to 9999, not before the order's `created`.
    #[schema(value_type = String, required = true, format = DateTime, pattern = r"^(19[7-9][0-9]|[2-9][0-9]{3})-")]
    pub timestamp: Option<String>,
}

/// A channel order as the channel sends it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelOrderInput {
    /// The channel's order identity.
    #[serde(rename = "_id")]
    #[schema(value_type = String, required = true, max_length = 200, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$")]
    pub id: Option<String>,
    /// RFC 3339, in the years 1970 to 9999.
    #[schema(value_type = String, required = true, format = DateTime, pattern = r"^(19[7-9][0-9]|[2-9][0-9]{3})-")]
    pub created: Option<String>,
    /// The channel account (signatures are checked per account).
    #[schema(value_type = String, required = true, max_length = 200, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$")]
    pub account: Option<String>,
    /// The restaurant, by its external id.
    #[schema(value_type = String, required = true, max_length = 200, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$")]
    pub brand_id: Option<String>,
    #[schema(
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub channel_order_id: Option<String>,
    #[serde(default, deserialize_with = "crate::http::extract::object_or_null")]
    pub customer: Option<CustomerInput>,
    /// Any object (city, street, postalCode...), kept as sent.
    #[schema(value_type = Option<Object>)]
    pub delivery_address: Option<serde_json::Value>,
    #[schema(format = DateTime, pattern = r"^(19[7-9][0-9]|[2-9][0-9]{3})-")]
    pub pickup_time: Option<String>,
    #[serde(default, deserialize_with = "crate::http::extract::objects_or_null")]
    pub items: Option<Vec<ChannelItemInput>>,
    /// The channel's current integer status code: the code of the latest `statusHistory` entry when
    /// there is a history.
    #[schema(value_type = i64, required = true, minimum = 0, maximum = 2147483647)]
    pub status: Option<i64>,
    /// Status changes: no two at one instant.
    #[serde(default, deserialize_with = "crate::http::extract::objects_or_null")]
    pub status_history: Option<Vec<StatusEntryInput>>,
}

/// A checked channel order.
#[derive(Debug, Clone)]
pub struct ValidOrder {
    /// Where it was in the request (`[3]` or empty), for error fields.
    pub at: String,
    pub external_id: String,
    pub created: DateTime<Utc>,
    pub account: String,
    pub brand_id: String,
    pub channel_order_id: Option<String>,
    pub customer: Option<(Option<String>, String)>,
    pub delivery_address: Option<String>,
    pub pickup_time: Option<DateTime<Utc>>,
    pub items: Vec<(String, Option<String>, i32)>,
    pub status: i32,
    /// Sorted by instant, each (code, instant) once.
    pub history: Vec<(i32, DateTime<Utc>)>,
}

/// An RFC 3339 instant within the years 1970 to 9999.
pub fn parse_instant(raw: &str) -> Result<DateTime<Utc>, String> {
    let at = DateTime::parse_from_rfc3339(raw)
        .map_err(|_| format!("{raw:?} is not an RFC 3339 instant like 2021-07-22T20:08:02Z"))?;
    // The year as written (what the document's pattern checks), not after moving to UTC.
    let year = chrono::Datelike::year(&at);
    if !(1970..=9999).contains(&year) {
        return Err("must lie between the years 1970 and 9999".into());
    }
    Ok(at.with_timezone(&Utc))
}

fn text_field(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<&String>,
    required: bool,
) -> Option<String> {
    match value {
        Some(raw) => {
            let text = crate::http::text::trimmed(raw);
            if raw.chars().count() <= 200 && !raw.contains(char::is_control) && !text.is_empty() {
                Some(text.to_string())
            } else {
                errors.add(
                    field,
                    "must be 1 to 200 characters, none of them control characters",
                );
                None
            }
        }
        None if required => {
            errors.add(field, "is required");
            None
        }
        None => None,
    }
}

fn code_of(errors: &mut FieldErrors, field: &str, value: Option<i64>) -> Option<i32> {
    match value {
        Some(v) => match i32::try_from(v) {
            Ok(code) if code >= 0 => Some(code),
            _ => {
                errors.add(field, "must be a status code from 0 to 2147483647");
                None
            }
        },
        None => {
            errors.add(field, "is required");
            None
        }
    }
}

/// Check one order; problems go to `errors` under `at` (`[3].items[0].quantity`).
pub fn validate(
    input: &ChannelOrderInput,
    at: &str,
    errors: &mut FieldErrors,
) -> Option<ValidOrder> {
    let before = errors.is_empty();
    let f = |name: &str| field(at, name);
    let external_id = text_field(errors, &f("_id"), input.id.as_ref(), true);
    let account = text_field(errors, &f("account"), input.account.as_ref(), true);
    let brand_id = text_field(errors, &f("brandId"), input.brand_id.as_ref(), true);
    let channel_order_id = text_field(
        errors,
        &f("channelOrderId"),
        input.channel_order_id.as_ref(),
        false,
    );
    let created = match input.created.as_deref() {
        Some(raw) => errors.check(&f("created"), parse_instant(raw)),
        None => {
            errors.add(&f("created"), "is required");
            None
        }
    };
    let pickup_time = input
        .pickup_time
        .as_deref()
        .and_then(|raw| errors.check(&f("pickupTime"), parse_instant(raw)));
    let customer = match &input.customer {
        Some(c) => {
            let name = text_field(errors, &f("customer.name"), c.name.as_ref(), false);
            match c.phone_number.as_deref() {
                Some(raw) => errors
                    .check(&f("customer.phoneNumber"), normalise_phone(raw))
                    .map(|phone| (name, phone)),
                None => None,
            }
        }
        None => None,
    };
    let delivery_address = match &input.delivery_address {
        None | Some(serde_json::Value::Null) => None,
        Some(v @ serde_json::Value::Object(_)) => Some(v.to_string()),
        Some(_) => {
            errors.add(
                &f("deliveryAddress"),
                "must be an object (city, street, postalCode)",
            );
            None
        }
    };
    let mut items = Vec::new();
    for (i, item) in input.items.iter().flatten().enumerate() {
        let field = |name: &str| f(&format!("items[{i}].{name}"));
        let name = text_field(errors, &field("name"), item.name.as_ref(), false);
        let plu = text_field(errors, &field("plu"), item.plu.as_ref(), false);
        let quantity = match item.quantity {
            Some(q) if (1..=999).contains(&q) => Some(q as i32),
            Some(_) => {
                errors.add(&field("quantity"), "must be between 1 and 999");
                None
            }
            None => {
                errors.add(&field("quantity"), "is required");
                None
            }
        };
        if name.is_none() && plu.is_none() && item.name.is_none() && item.plu.is_none() {
            errors.add(&field("name"), "an item needs a name or a plu");
        }
        if let Some(q) = quantity {
            let label = name.clone().or_else(|| plu.clone()).unwrap_or_default();
            items.push((label, plu, q));
        }
    }
    let status = code_of(errors, &f("status"), input.status);
    let mut history: Vec<(i32, DateTime<Utc>, usize)> = Vec::new();
    for (i, entry) in input.status_history.iter().flatten().enumerate() {
        let code = code_of(
            errors,
            &f(&format!("statusHistory[{i}].status")),
            entry.status,
        );
        let ts_field = f(&format!("statusHistory[{i}].timestamp"));
        let ts = match entry.timestamp.as_deref() {
            Some(raw) => errors.check(&ts_field, parse_instant(raw)),
            None => {
                errors.add(&ts_field, "is required");
                None
            }
        };
        if let (Some(code), Some(ts)) = (code, ts) {
            if let Some(created) = created
                && ts < created
            {
                errors.add(&ts_field, "is before the order was created");
            }
            history.push((code, ts, i));
        }
    }
    history.sort_by_key(|(code, ts, _)| (*ts, *code));
    history.dedup_by_key(|(code, ts, _)| (*code, *ts));
    for pair in history.windows(2) {
        if pair[0].1 == pair[1].1 {
            errors.add(
                &f(&format!("statusHistory[{}].timestamp", pair[1].2)),
                format!(
                    "status {} and status {} cannot both happen at {}",
                    pair[0].0, pair[1].0, pair[1].1
                ),
            );
        }
    }
    if let (Some(status), Some(last)) = (status, history.last())
        && last.0 != status
    {
        errors.add(
            &f("status"),
            format!(
                "is {status} but the latest entry of statusHistory (at {}) is {}",
                last.1, last.0
            ),
        );
    }
    if !errors.is_empty() || !before {
        return None;
    }
    let created = created?;
    let status = status?;
    let mut history: Vec<(i32, DateTime<Utc>)> =
        history.into_iter().map(|(c, t, _)| (c, t)).collect();
    if history.is_empty() {
        history.push((status, created));
    }
    Some(ValidOrder {
        at: at.to_string(),
        external_id: external_id?,
        created,
        account: account?,
        brand_id: brand_id?,
        channel_order_id,
        customer,
        delivery_address,
        pickup_time,
        items,
        status,
        history,
    })
}

/// The first problem of a merged history, if any: two codes at one instant, or an event after a terminal
/// code.
pub fn contradiction(history: &[(i32, DateTime<Utc>)], mapping: &Mapping) -> Option<String> {
    for pair in history.windows(2) {
        if pair[0].1 == pair[1].1 && pair[0].0 != pair[1].0 {
            return Some(format!(
                "status {} and status {} cannot both happen at {}",
                pair[0].0, pair[1].0, pair[0].1
            ));
        }
    }
    if let Some(pos) = history
        .iter()
        .position(|(code, _)| mapping.is_terminal(*code))
        && let Some((code, at)) = history[pos + 1..]
            .iter()
            .find(|(_, at)| *at > history[pos].1)
    {
        return Some(format!(
            "status {code} at {at} follows the terminal status {} at {}",
            history[pos].0, history[pos].1
        ));
    }
    None
}

/// Verify `X-Signature: sha256=<hex>` over the raw body with each secured account's secret.
pub async fn check_signatures(
    state: &AppState,
    accounts: &HashSet<String>,
    signature: Option<&str>,
    body: &[u8],
) -> Result<(), ApiError> {
    if accounts.is_empty() {
        return Ok(());
    }
    // Each account's secret (or that it has none) through the cache: every ingest and status update
    // asks. What the cache lacks is read in one query and cached, a missing account as "no secret".
    let mut secured: Vec<(String, String)> = Vec::new();
    let mut unknown: Vec<&String> = Vec::new();
    for account in accounts {
        match brigade_platform::cache::get_json::<Option<String>>(
            state.cache.as_ref(),
            &secret_key(account),
        )
        .await
        {
            Some(Some(secret)) => secured.push((account.clone(), secret)),
            Some(None) => {}
            None => unknown.push(account),
        }
    }
    if !unknown.is_empty() {
        let stored: HashMap<String, Option<String>> = channel_accounts::Entity::find()
            .filter(channel_accounts::Column::Account.is_in(unknown.iter().map(|a| a.as_str())))
            .all(&state.db)
            .await?
            .into_iter()
            .map(|a| (a.account, a.signing_secret))
            .collect();
        for account in unknown {
            let secret = stored.get(account).cloned().flatten();
            brigade_platform::cache::set_json(
                state.cache.as_ref(),
                &secret_key(account),
                &secret,
                CHANNEL_CACHE_TTL,
            )
            .await;
            if let Some(secret) = secret {
                secured.push((account.clone(), secret));
            }
        }
    }
    secured.sort();
    for (account, secret) in secured {
        let given = signature
            .map(str::trim)
            .and_then(|s| s.strip_prefix("sha256="))
            .and_then(|hex_sig| hex::decode(hex_sig).ok());
        let valid = given.is_some_and(|sig| {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
                .expect("HMAC takes keys of any length");
            mac.update(body);
            mac.verify_slice(&sig).is_ok()
        });
        if !valid {
            return Err(ApiError::unauthorized(
                "invalid_signature",
                format!(
                    "account {} signs its requests: X-Signature must be sha256=<hex HMAC-SHA256 of the body>",
                    account
                ),
            ));
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct IngestedOrder {
    #[serde(rename = "_id")]
    pub external_id: String,
    pub order_id: Uuid,
    /// True when this request created the order, false when it updated a stored one.
    pub created: bool,
    pub events_stored: usize,
    /// The order's latest code by timestamp, and the state it maps to.
    pub status_code: i32,
    #[schema(example = "PREPARING")]
    pub status: String,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct IngestOutcome {
    pub received: usize,
    pub created: usize,
    pub updated: usize,
    pub events_stored: usize,
    /// Events already stored (same order, code and instant), not stored again.
    pub duplicate_events: usize,
    /// Events with a code the current mapping does not know (stored as UNKNOWN).
    pub unknown_codes: Vec<i32>,
    pub restaurants_created: usize,
    pub orders: Vec<IngestedOrder>,
}

struct Stored {
    order_id: Uuid,
    restaurant_id: Uuid,
    created_at: DateTime<Utc>,
    events: Vec<(i32, DateTime<Utc>)>,
}

/// Group a batch by `_id` (later entries update earlier ones, histories are merged).
fn merge_duplicates(orders: Vec<ValidOrder>) -> Vec<ValidOrder> {
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut out: Vec<ValidOrder> = Vec::with_capacity(orders.len());
    for order in orders {
        match by_id.get(&order.external_id) {
            Some(&i) => {
                let mut history = std::mem::take(&mut out[i].history);
                history.extend(order.history.iter().copied());
                history.sort_by_key(|(c, t)| (*t, *c));
                history.dedup();
                out[i] = ValidOrder { history, ..order };
            }
            None => {
                by_id.insert(order.external_id.clone(), out.len());
                out.push(order);
            }
        }
    }
    out
}

async fn restaurants_for(
    state: &AppState,
    brands: &[&str],
) -> Result<(HashMap<String, (Uuid, String)>, HashSet<String>), ApiError> {
    let mut found: HashMap<String, (Uuid, String)> = HashMap::new();
    for chunk in brands.chunks(500) {
        let rows: Vec<(Uuid, Option<String>, String)> = restaurants::Entity::find()
            .select_only()
            .columns([
                restaurants::Column::Id,
                restaurants::Column::ExternalId,
                restaurants::Column::Currency,
            ])
            .filter(restaurants::Column::ExternalId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(&state.db)
            .await?;
        for (id, ext, currency) in rows {
            if let Some(ext) = ext {
                found.insert(ext, (id, currency));
            }
        }
    }
    let missing: Vec<&str> = brands
        .iter()
        .copied()
        .filter(|b| !found.contains_key(*b))
        .collect();
    let mut created = HashSet::new();
    if !missing.is_empty() && state.config.channels.create_unknown_restaurants {
        let made =
            crate::restaurants::ensure_external(state, &missing, &|_| Some(chrono_tz::UTC)).await?;
        created = made
            .iter()
            .filter(|(_, r)| r.created)
            .map(|(ext, _)| ext.clone())
            .collect();
        let ids: Vec<Uuid> = made.values().map(|r| r.id).collect();
        let currencies: HashMap<Uuid, String> = restaurants::Entity::find()
            .select_only()
            .columns([restaurants::Column::Id, restaurants::Column::Currency])
            .filter(restaurants::Column::Id.is_in(ids))
            .into_tuple::<(Uuid, String)>()
            .all(&state.db)
            .await?
            .into_iter()
            .collect();
        for (ext, r) in made {
            let currency = currencies
                .get(&r.id)
                .cloned()
                .unwrap_or_else(|| "EUR".into());
            found.insert(ext, (r.id, currency));
        }
    }
    Ok((found, created))
}

async fn customer_ids<C: ConnectionTrait>(
    db: &C,
    people: &[(Option<String>, String)],
    now: DateTime<Utc>,
) -> Result<HashMap<String, Uuid>, DbErr> {
    let mut ids = HashMap::new();
    if people.is_empty() {
        return Ok(ids);
    }
    let mut latest: BTreeMap<&str, Option<&String>> = BTreeMap::new();
    for (name, phone) in people {
        let entry = latest.entry(phone.as_str()).or_default();
        if name.is_some() {
            *entry = name.as_ref();
        }
    }
    #[derive(Serialize)]
    struct Row<'a> {
        id: Uuid,
        phone: &'a str,
        name: Option<&'a str>,
        at: &'a str,
    }
    let at = bulk::time(&now);
    let rows: Vec<Row> = latest
        .iter()
        .map(|(phone, name)| Row {
            id: Uuid::now_v7(),
            phone,
            name: name.map(String::as_str),
            at: &at,
        })
        .collect();
    let backend = db.get_database_backend();
    // One statement: new phones are inserted, and the no-op update of the stored ones makes
    // `RETURNING` answer their ids too (one round trip, not an insert and then a select).
    let upsert = format!(
        "INSERT INTO customers (id, phone, name, created_at, updated_at) SELECT id, phone, name, at, at \
         FROM ({}) r WHERE true ON CONFLICT (phone) DO UPDATE SET phone = excluded.phone \
         RETURNING id, phone",
        bulk::select_named(
            backend,
            &[
                ("id", Col::Uuid),
                ("phone", Col::Text),
                ("name", Col::Text),
                ("at", Col::Time)
            ]
        )
    );
    for row in bulk::query(db, &upsert, &rows, CHUNK).await? {
        ids.insert(row.try_get_by_index(1)?, row.try_get_by_index(0)?);
    }
    Ok(ids)
}

/// What one order of a batch added to its [`IngestOutcome`], beyond its [`IngestedOrder`] (in the same
/// place of `orders`): a grouped single request answers with its own share.
#[derive(Debug, Clone, Default)]
pub struct OrderShare {
    pub duplicate_events: usize,
    pub unknown_codes: Vec<i32>,
    /// Whether storing it created its restaurant.
    pub restaurant_created: bool,
}

/// Store a checked batch: all of it, or (on any conflict with what is stored) none of it.
pub async fn ingest(state: &AppState, batch: Vec<ValidOrder>) -> Result<IngestOutcome, ApiError> {
    Ok(ingest_shares(state, batch, &mut HashSet::new()).await?.0)
}

/// [`ingest`], with each order's share of the outcome. `created` gets the brands whose restaurants it
/// created, even when the batch is then refused (restaurants are created before the orders are checked).
pub async fn ingest_shares(
    state: &AppState,
    batch: Vec<ValidOrder>,
    created: &mut HashSet<String>,
) -> Result<(IngestOutcome, Vec<OrderShare>), ApiError> {
    let received = batch.len();
    let batch = merge_duplicates(batch);
    let now = state.now();
    let mapping = cached_mapping(state).await?;

    let mut brands: Vec<&str> = batch.iter().map(|o| o.brand_id.as_str()).collect();
    brands.sort_unstable();
    brands.dedup();
    let (restaurant_of, mut brands_created) = restaurants_for(state, &brands).await?;
    created.extend(brands_created.iter().cloned());
    let mut errors = FieldErrors::new();
    for order in &batch {
        if !restaurant_of.contains_key(&order.brand_id) {
            errors.add(
                &field(&order.at, "brandId"),
                format!("no restaurant has the external id {:?}", order.brand_id),
            );
        }
    }
    if !errors.is_empty() {
        return errors
            .into_conflict(
                "unknown_restaurant",
                "no restaurant has that brandId, and this Brigade does not create restaurants from channel orders",
            )
            .map(|_| (IngestOutcome::default(), Vec::new()));
    }

    // What is stored already.
    let mut stored: HashMap<String, Stored> = HashMap::new();
    let ids: Vec<&str> = batch.iter().map(|o| o.external_id.as_str()).collect();
    for chunk in ids.chunks(500) {
        // Each stored order with its restaurant and creation, in one query.
        let rows: Vec<(String, Uuid, Uuid, DateTime<Utc>)> = channel_orders::Entity::find()
            .select_only()
            .columns([
                channel_orders::Column::ExternalId,
                channel_orders::Column::OrderId,
            ])
            .column(orders::Column::RestaurantId)
            .column(orders::Column::CreatedAt)
            .join(
                sea_orm::JoinType::InnerJoin,
                channel_orders::Entity::belongs_to(orders::Entity)
                    .from(channel_orders::Column::OrderId)
                    .to(orders::Column::Id)
                    .into(),
            )
            .filter(channel_orders::Column::ExternalId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(&state.db)
            .await?;
        if rows.is_empty() {
            continue;
        }
        let order_ids: Vec<Uuid> = rows.iter().map(|(_, id, _, _)| *id).collect();
        let mut events: HashMap<Uuid, Vec<(i32, DateTime<Utc>)>> = HashMap::new();
        let rows_events: Vec<(Uuid, Option<i32>, DateTime<Utc>)> =
            order_status_events::Entity::find()
                .select_only()
                .columns([
                    order_status_events::Column::OrderId,
                    order_status_events::Column::RawCode,
                    order_status_events::Column::OccurredAt,
                ])
                .filter(order_status_events::Column::OrderId.is_in(order_ids))
                .into_tuple()
                .all(&state.db)
                .await?;
        for (order, code, at) in rows_events {
            events
                .entry(order)
                .or_default()
                .push((code.unwrap_or(-1), at));
        }
        for (ext, order_id, restaurant_id, created_at) in rows {
            let mut evs = events.remove(&order_id).unwrap_or_default();
            evs.sort_by_key(|(c, t)| (*t, *c));
            stored.insert(
                ext,
                Stored {
                    order_id,
                    restaurant_id,
                    created_at,
                    events: evs,
                },
            );
        }
    }

    // Merge and check every order before writing anything.
    struct Plan<'a> {
        order: &'a ValidOrder,
        order_id: Uuid,
        restaurant_id: Uuid,
        currency: String,
        is_new: bool,
        new_events: Vec<(i32, DateTime<Utc>)>,
        latest: (i32, DateTime<Utc>),
        /// Whether the kitchen started on it: a PREPARING or READY state in its history.
        cooked: bool,
        /// For the metrics: (state before, state after, seconds in the state before) of each new event.
        transitions: Vec<(&'static str, &'static str, Option<f64>)>,
        share: OrderShare,
    }
    let mut plans: Vec<Plan> = Vec::with_capacity(batch.len());
    let mut outcome = IngestOutcome {
        received,
        restaurants_created: brands_created.len(),
        ..Default::default()
    };
    let mut unknown: HashSet<i32> = HashSet::new();
    for order in &batch {
        let (restaurant_id, currency) = restaurant_of[&order.brand_id].clone();
        let (order_id, is_new, mut merged, known) = match stored.get(&order.external_id) {
            Some(s) => {
                if s.restaurant_id != restaurant_id {
                    errors.add(
                        &field(&order.at, "brandId"),
                        "differs from the stored order's restaurant; an order cannot move",
                    );
                    continue;
                }
                if s.created_at != order.created {
                    errors.add(
                        &field(&order.at, "created"),
                        format!("differs from the stored order's ({})", s.created_at),
                    );
                    continue;
                }
                let known: HashSet<(i32, DateTime<Utc>)> = s.events.iter().copied().collect();
                (s.order_id, false, s.events.clone(), known)
            }
            None => (Uuid::now_v7(), true, Vec::new(), HashSet::new()),
        };
        let mut share = OrderShare {
            restaurant_created: brands_created.remove(&order.brand_id),
            ..Default::default()
        };
        let mut new_events = Vec::new();
        for ev in &order.history {
            if known.contains(ev) {
                outcome.duplicate_events += 1;
                share.duplicate_events += 1;
            } else {
                new_events.push(*ev);
                merged.push(*ev);
            }
        }
        merged.sort_by_key(|(c, t)| (*t, *c));
        if let Some(problem) = contradiction(&merged, &mapping) {
            errors.add(&field(&order.at, "statusHistory"), problem);
            continue;
        }
        for (code, _) in &new_events {
            if !mapping.codes.contains_key(code) {
                unknown.insert(*code);
                if !share.unknown_codes.contains(code) {
                    share.unknown_codes.push(*code);
                }
            }
        }
        share.unknown_codes.sort_unstable();
        let latest = *merged.last().expect("an order has at least one event");
        let fresh: HashSet<(i32, DateTime<Utc>)> = new_events.iter().copied().collect();
        let transitions = merged
            .iter()
            .enumerate()
            .filter(|(_, ev)| fresh.contains(ev))
            .map(
                |(i, (code, at))| match i.checked_sub(1).map(|p| merged[p]) {
                    Some((before, then)) => (
                        mapping.state_of(before),
                        mapping.state_of(*code),
                        Some((*at - then).num_milliseconds() as f64 / 1000.0),
                    ),
                    None => ("NONE", mapping.state_of(*code), None),
                },
            )
            .collect();
        let cooked = merged
            .iter()
            .any(|(code, _)| matches!(mapping.state_of(*code), "PREPARING" | "READY"));
        plans.push(Plan {
            order,
            order_id,
            restaurant_id,
            currency,
            is_new,
            new_events,
            latest,
            cooked,
            transitions,
            share,
        });
    }
    errors.into_conflict(
        "order_conflict",
        "the orders contradict what is stored of them; nothing was stored",
    )?;

    let people: Vec<(Option<String>, String)> =
        batch.iter().filter_map(|o| o.customer.clone()).collect();

    let turn = state.write_turn().await;
    let txn = crate::database::begin_write(&state.db).await?;
    let customer_of = customer_ids(&txn, &people, now).await?;
    let customer = |o: &ValidOrder| {
        o.customer
            .as_ref()
            .and_then(|(_, phone)| customer_of.get(phone).copied())
    };
    let order_type = |o: &ValidOrder| {
        if o.delivery_address.is_some() {
            "DELIVERY"
        } else {
            "TAKEOUT"
        }
    };

    let backend = txn.get_database_backend();
    let now_text = bulk::time(&now);
    let now_param = match backend {
        DbBackend::Postgres => format!("{}::timestamptz", bulk::param(backend, 2)),
        _ => bulk::param(backend, 2),
    };
    #[derive(Serialize)]
    struct OrderRow<'a> {
        id: Uuid,
        restaurant_id: Uuid,
        order_type: &'a str,
        status: &'a str,
        status_changed_at: String,
        currency: &'a str,
        pickup_time: Option<String>,
        external_ref: &'a str,
        created_at: String,
    }
    #[derive(Serialize)]
    struct ChannelRow<'a> {
        order_id: Uuid,
        external_id: &'a str,
        account: &'a str,
        brand_id: &'a str,
        channel_order_id: Option<&'a str>,
        customer_id: Option<Uuid>,
        delivery_address: Option<&'a str>,
        status_code: i32,
    }
    let fresh: Vec<&Plan> = plans.iter().filter(|p| p.is_new).collect();
    let order_rows: Vec<OrderRow> = fresh
        .iter()
        .map(|p| OrderRow {
            id: p.order_id,
            restaurant_id: p.restaurant_id,
            order_type: order_type(p.order),
            status: mapping.state_of(p.latest.0),
            status_changed_at: bulk::time(&p.latest.1),
            currency: &p.currency,
            pickup_time: p.order.pickup_time.as_ref().map(bulk::time),
            external_ref: &p.order.external_id,
            created_at: bulk::time(&p.order.created),
        })
        .collect();
    let insert = format!(
        "INSERT INTO orders (id, restaurant_id, source, order_type, status, status_changed_at, total_minor, \
         currency, payment_status, pickup_time, external_ref, created_at, updated_at) \
         SELECT id, restaurant_id, '{SOURCE_CHANNEL}', order_type, status, status_changed_at, 0, currency, \
         'PENDING', pickup_time, external_ref, created_at, {now} FROM ({rows}) r",
        now = now_param,
        rows = bulk::select_named(
            backend,
            &[
                ("id", Col::Uuid),
                ("restaurant_id", Col::Uuid),
                ("order_type", Col::Text),
                ("status", Col::Text),
                ("status_changed_at", Col::Time),
                ("currency", Col::Text),
                ("pickup_time", Col::Time),
                ("external_ref", Col::Text),
                ("created_at", Col::Time),
            ]
        )
    );
    bulk::execute_with(
        &txn,
        &insert,
        &order_rows,
        CHUNK,
        &[now_text.clone().into()],
    )
    .await?;
    let channel_rows: Vec<ChannelRow> = fresh
        .iter()
        .map(|p| ChannelRow {
            order_id: p.order_id,
            external_id: &p.order.external_id,
            account: &p.order.account,
            brand_id: &p.order.brand_id,
            channel_order_id: p.order.channel_order_id.as_deref(),
            customer_id: customer(p.order),
            delivery_address: p.order.delivery_address.as_deref(),
            status_code: p.latest.0,
        })
        .collect();
    let insert = format!(
        "INSERT INTO channel_orders (order_id, external_id, account, brand_id, channel_order_id, customer_id, \
         delivery_address, status_code, mapping_version, value_known) \
         SELECT order_id, external_id, account, brand_id, channel_order_id, customer_id, delivery_address, \
         status_code, {version}, {no} FROM ({rows}) r",
        version = mapping.version,
        no = if backend == DbBackend::Postgres {
            "false"
        } else {
            "0"
        },
        rows = bulk::select_named(
            backend,
            &[
                ("order_id", Col::Uuid),
                ("external_id", Col::Text),
                ("account", Col::Text),
                ("brand_id", Col::Text),
                ("channel_order_id", Col::Text),
                ("customer_id", Col::Uuid),
                ("delivery_address", Col::Text),
                ("status_code", Col::Int4),
            ]
        )
    );
    bulk::execute(&txn, &insert, &channel_rows, CHUNK).await?;
    // Stored orders take their latest state, as one UPDATE per table for the whole batch.
    #[derive(Serialize)]
    struct OrderUpdate<'a> {
        id: Uuid,
        status: &'a str,
        status_changed_at: String,
        pickup_time: Option<String>,
        order_type: &'a str,
    }
    #[derive(Serialize)]
    struct ChannelUpdate<'a> {
        order_id: Uuid,
        status_code: i32,
        channel_order_id: Option<&'a str>,
        delivery_address: Option<&'a str>,
        customer_id: Option<Uuid>,
    }
    let stored_plans: Vec<&Plan> = plans.iter().filter(|p| !p.is_new).collect();
    if !stored_plans.is_empty() {
        let rows: Vec<OrderUpdate> = stored_plans
            .iter()
            .map(|p| OrderUpdate {
                id: p.order_id,
                status: mapping.state_of(p.latest.0),
                status_changed_at: bulk::time(&p.latest.1),
                pickup_time: p.order.pickup_time.as_ref().map(bulk::time),
                order_type: order_type(p.order),
            })
            .collect();
        let update = format!(
            "UPDATE orders SET status = r.status, status_changed_at = r.status_changed_at, \
             pickup_time = r.pickup_time, order_type = r.order_type, updated_at = {now} \
             FROM ({rows}) r WHERE orders.id = r.id",
            now = now_param,
            rows = bulk::select_named(
                backend,
                &[
                    ("id", Col::Uuid),
                    ("status", Col::Text),
                    ("status_changed_at", Col::Time),
                    ("pickup_time", Col::Time),
                    ("order_type", Col::Text),
                ]
            )
        );
        bulk::execute_with(&txn, &update, &rows, CHUNK, &[now_text.clone().into()]).await?;
        let rows: Vec<ChannelUpdate> = stored_plans
            .iter()
            .map(|p| ChannelUpdate {
                order_id: p.order_id,
                status_code: p.latest.0,
                channel_order_id: p.order.channel_order_id.as_deref(),
                delivery_address: p.order.delivery_address.as_deref(),
                customer_id: customer(p.order),
            })
            .collect();
        let update = format!(
            "UPDATE channel_orders SET status_code = r.status_code, mapping_version = {version}, \
             channel_order_id = r.channel_order_id, delivery_address = r.delivery_address, \
             customer_id = COALESCE(r.customer_id, channel_orders.customer_id) \
             FROM ({rows}) r WHERE channel_orders.order_id = r.order_id",
            version = mapping.version,
            rows = bulk::select_named(
                backend,
                &[
                    ("order_id", Col::Uuid),
                    ("status_code", Col::Int4),
                    ("channel_order_id", Col::Text),
                    ("delivery_address", Col::Text),
                    ("customer_id", Col::Uuid),
                ]
            )
        );
        bulk::execute(&txn, &update, &rows, CHUNK).await?;
        // Items sent again replace the stored ones.
        let replaced: Vec<Uuid> = stored_plans
            .iter()
            .filter(|p| !p.order.items.is_empty())
            .map(|p| p.order_id)
            .collect();
        for chunk in replaced.chunks(500) {
            order_items::Entity::delete_many()
                .filter(order_items::Column::OrderId.is_in(chunk.to_vec()))
                .exec(&txn)
                .await?;
        }
    }
    #[derive(Serialize)]
    struct ItemRow<'a> {
        id: Uuid,
        order_id: Uuid,
        name: &'a str,
        plu: Option<&'a str>,
        quantity: i32,
    }
    let lines: Vec<ItemRow> = plans
        .iter()
        .flat_map(|p| {
            p.order
                .items
                .iter()
                .map(move |(name, plu, quantity)| ItemRow {
                    id: Uuid::now_v7(),
                    order_id: p.order_id,
                    name,
                    plu: plu.as_deref(),
                    quantity: *quantity,
                })
        })
        .collect();
    let insert = format!(
        "INSERT INTO order_items (id, order_id, name, plu, unit_price_minor, quantity, subtotal_minor) \
         SELECT id, order_id, name, plu, 0, quantity, 0 FROM ({}) r",
        bulk::select_named(
            backend,
            &[
                ("id", Col::Uuid),
                ("order_id", Col::Uuid),
                ("name", Col::Text),
                ("plu", Col::Text),
                ("quantity", Col::Int4),
            ]
        )
    );
    bulk::execute(&txn, &insert, &lines, CHUNK).await?;
    // The items of the orders created here, for the kitchen (it need not read them back).
    let mut created_items: HashMap<Uuid, Vec<order_items::Model>> =
        fresh.iter().map(|p| (p.order_id, Vec::new())).collect();
    for line in &lines {
        if let Some(items) = created_items.get_mut(&line.order_id) {
            items.push(order_items::Model {
                id: line.id,
                order_id: line.order_id,
                menu_item_id: None,
                name: line.name.to_string(),
                plu: line.plu.map(str::to_string),
                unit_price_minor: 0,
                quantity: line.quantity,
                subtotal_minor: 0,
                special_request: None,
            });
        }
    }
    #[derive(Serialize)]
    struct EventRow {
        order_id: Uuid,
        restaurant_id: Uuid,
        to_status: &'static str,
        raw_code: i32,
        occurred_at: String,
    }
    let events: Vec<EventRow> = plans
        .iter()
        .flat_map(|p| {
            let mapping = &mapping;
            p.new_events.iter().map(move |(code, at)| EventRow {
                order_id: p.order_id,
                restaurant_id: p.restaurant_id,
                to_status: mapping.state_of(*code),
                raw_code: *code,
                occurred_at: bulk::time(at),
            })
        })
        .collect();
    let insert = format!(
        "INSERT INTO order_status_events (order_id, restaurant_id, to_status, raw_code, actor_kind, \
         occurred_at, recorded_at) \
         SELECT order_id, restaurant_id, to_status, raw_code, '{SOURCE_CHANNEL}', occurred_at, {now} \
         FROM ({rows}) r WHERE true ON CONFLICT (order_id, raw_code, occurred_at) DO NOTHING \
         RETURNING order_id",
        now = now_param,
        rows = bulk::select_named(
            backend,
            &[
                ("order_id", Col::Uuid),
                ("restaurant_id", Col::Uuid),
                ("to_status", Col::Text),
                ("raw_code", Col::Int4),
                ("occurred_at", Col::Time),
            ]
        )
    );
    let mut inserted: HashMap<Uuid, usize> = HashMap::new();
    for row in bulk::query_with(&txn, &insert, &events, CHUNK, &[now_text.clone().into()]).await? {
        *inserted
            .entry(row.try_get_by_index::<Uuid>(0)?)
            .or_default() += 1;
    }
    // Stock follows: an order the channel now calls COMPLETED takes its recipes from stock in this
    // transaction, once (a replayed event finds the claim taken); one it now calls CANCELLED after the
    // kitchen started on it takes them as waste, if its venue says so. Only venues with recipes look.
    let mut taking: Vec<(&Plan, crate::inventory::OrderUse)> = plans
        .iter()
        .filter(|p| !p.new_events.is_empty())
        .filter_map(|p| match mapping.state_of(p.latest.0) {
            "COMPLETED" => Some((p, crate::inventory::OrderUse::Sold)),
            "CANCELLED" if p.cooked => Some((p, crate::inventory::OrderUse::CancelledCooking)),
            _ => None,
        })
        .collect();
    if !taking.is_empty() {
        let venues: Vec<Uuid> = taking.iter().map(|(p, _)| p.restaurant_id).collect();
        let stocked = crate::inventory::venues_with_recipes(&txn, venues.clone()).await?;
        let wasting = crate::inventory::wastes_cancelled_cooking(&txn, venues).await?;
        taking.retain(|(p, usage)| {
            stocked.contains(&p.restaurant_id)
                && (*usage == crate::inventory::OrderUse::Sold
                    || wasting.contains(&p.restaurant_id))
        });
        let mut menus: HashMap<Uuid, Vec<crate::entities::menu_items::Model>> = HashMap::new();
        for (p, usage) in taking {
            if let std::collections::hash_map::Entry::Vacant(slot) = menus.entry(p.restaurant_id) {
                slot.insert(
                    crate::entities::menu_items::Entity::find()
                        .filter(
                            crate::entities::menu_items::Column::RestaurantId.eq(p.restaurant_id),
                        )
                        .all(&txn)
                        .await?,
                );
            }
            // The stored items (a status update carries none).
            let items: Vec<(String, Option<String>, i32)> = order_items::Entity::find()
                .filter(order_items::Column::OrderId.eq(p.order_id))
                .all(&txn)
                .await?
                .into_iter()
                .map(|i| (i.name, i.plu, i.quantity))
                .collect();
            let portions = crate::inventory::match_portions(&menus[&p.restaurant_id], &items);
            let venue = crate::restaurants::find(state, p.restaurant_id).await?;
            let at = p.latest.1;
            crate::inventory::take_order(
                &txn,
                (p.order_id, p.restaurant_id),
                &portions,
                (at, crate::inventory::local_today(&venue, at)),
                usage,
            )
            .await?;
        }
    }
    // The kitchen follows what the channel now says, in the same transaction: a confirmed order has its
    // lines once it is stored.
    let states: Vec<(Uuid, Uuid, &str)> = plans
        .iter()
        .map(|p| (p.order_id, p.restaurant_id, mapping.state_of(p.latest.0)))
        .collect();
    let kitchen = crate::kitchen::follow_channel(&txn, &states, &created_items, now).await?;
    txn.commit().await?;
    drop(turn);
    for update in &kitchen {
        crate::kitchen::publish(state, update).await;
    }

    let mut shares = Vec::with_capacity(plans.len());
    for p in plans {
        // A simultaneous request may have stored some of the same events first.
        let stored = inserted.get(&p.order_id).copied().unwrap_or(0);
        let mut share = p.share;
        share.duplicate_events += p.new_events.len().saturating_sub(stored);
        outcome.duplicate_events += p.new_events.len().saturating_sub(stored);
        outcome.events_stored += stored;
        if p.is_new {
            outcome.created += 1;
        } else {
            outcome.updated += 1;
        }
        for (from, to, seconds) in &p.transitions {
            metrics::counter!("brigade_order_transitions_total", "from" => *from, "to" => *to)
                .increment(1);
            if let Some(seconds) = seconds {
                metrics::histogram!("brigade_order_time_in_status_seconds", "status" => *from)
                    .record(*seconds);
            }
        }
        outcome.orders.push(IngestedOrder {
            external_id: p.order.external_id.clone(),
            order_id: p.order_id,
            created: p.is_new,
            events_stored: stored,
            status_code: p.latest.0,
            status: mapping.state_of(p.latest.0).to_string(),
        });
        shares.push(share);
    }
    metrics::counter!("brigade_orders_created_total", "source" => SOURCE_CHANNEL)
        .increment(outcome.created as u64);
    let mut unknown: Vec<i32> = unknown.into_iter().collect();
    unknown.sort_unstable();
    outcome.unknown_codes = unknown;
    Ok((outcome, shares))
}

fn field(at: &str, name: &str) -> String {
    if at.is_empty() {
        name.to_string()
    } else {
        format!("{at}.{name}")
    }
}

/// What a status update needs of a stored channel order: its channel fields and its order's.
#[derive(Debug, Clone, sea_orm::FromQueryResult)]
pub struct UpdateTarget {
    pub external_id: String,
    pub account: String,
    pub brand_id: String,
    pub channel_order_id: Option<String>,
    pub delivery_address: Option<String>,
    pub created_at: DateTime<Utc>,
    pub pickup_time: Option<DateTime<Utc>>,
}

/// The channel order with the `_id` `external_id`, read with its order in one query.
pub async fn update_target(
    state: &AppState,
    external_id: &str,
) -> Result<Option<UpdateTarget>, DbErr> {
    let backend = state.db.get_database_backend();
    let sql = format!(
        "SELECT c.external_id, c.account, c.brand_id, c.channel_order_id, c.delivery_address, \
         o.created_at, o.pickup_time FROM channel_orders c JOIN orders o ON o.id = c.order_id \
         WHERE c.external_id = {}",
        bulk::param(backend, 1)
    );
    <UpdateTarget as sea_orm::FromQueryResult>::find_by_statement(
        sea_orm::Statement::from_sql_and_values(backend, sql, [external_id.into()]),
    )
    .one(&state.db)
    .await
}

/// A status update of a stored channel order (`order`): stored once, in timestamp order. The stored
/// history is merged and checked by [`ingest`]; a contradiction is reported on `timestamp`.
pub async fn add_status(
    state: &AppState,
    order: UpdateTarget,
    code: i32,
    at: DateTime<Utc>,
) -> Result<IngestedOrder, ApiError> {
    if at < order.created_at {
        return Err(ApiError::conflict(
            "order_conflict",
            "the event is before the order was created",
        )
        .with_field(
            "timestamp",
            format!("is before the order was created ({})", order.created_at),
        ));
    }
    let update = ValidOrder {
        at: String::new(),
        external_id: order.external_id,
        created: order.created_at,
        account: order.account,
        brand_id: order.brand_id,
        channel_order_id: order.channel_order_id,
        customer: None,
        delivery_address: order.delivery_address,
        pickup_time: order.pickup_time,
        items: Vec::new(),
        status: code,
        history: vec![(code, at)],
    };
    let mut outcome = state
        .channel_writer()
        .store(update)
        .await
        .map_err(|mut err| {
            if let Some(problems) = err.errors.as_mut().and_then(|e| e.remove("statusHistory")) {
                err = ApiError::conflict(
                    "order_conflict",
                    "the event contradicts the stored history",
                )
                .with_field("timestamp", problems.join("; "));
            }
            err
        })?;
    outcome
        .orders
        .pop()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("ingest answered no order")))
}
