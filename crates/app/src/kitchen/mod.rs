//! The kitchen: stations, which station makes each menu item, and ticket lines.
//!
//! When an order is confirmed, each of its items becomes a ticket line at its station, in the same
//! transaction as the status change (`queue_lines`, called by `orders::transition`). Staff start, bump
//! (make ready), recall and void lines; nothing is deleted, every action is a `ticket_events` row. The
//! order follows its lines through the one status machine: the first line started moves a confirmed order
//! to PREPARING, the last line ready moves it to READY, and a recall moves a READY order back to
//! PREPARING. Each change is announced on the venue's kitchen channel, from whichever process made it.

pub mod predictions;
pub mod prep;
pub mod routes;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::entities::{
    menu_items, order_items, orders, station_routes, stations, ticket_events, ticket_lines,
};
use crate::http::error::ApiError;
use crate::orders::{Actor, ActorKind, OrderStatus};
use crate::state::AppState;

/// The station a venue gets when it has none and its first order is confirmed.
pub const DEFAULT_STATION: &str = "Kitchen";
/// Minutes a line may take before it shows late, when neither a prediction nor the station says.
pub const DEFAULT_TARGET_MINUTES: i32 = 12;

/// What a station is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum StationKind {
    Grill,
    Fry,
    Cold,
    Hot,
    Bar,
    Pass,
    Other,
}

impl StationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            StationKind::Grill => "grill",
            StationKind::Fry => "fry",
            StationKind::Cold => "cold",
            StationKind::Hot => "hot",
            StationKind::Bar => "bar",
            StationKind::Pass => "pass",
            StationKind::Other => "other",
        }
    }
}

/// Where a ticket line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LineState {
    Queued,
    Started,
    Ready,
    Voided,
}

impl LineState {
    pub fn as_str(self) -> &'static str {
        match self {
            LineState::Queued => "queued",
            LineState::Started => "started",
            LineState::Ready => "ready",
            LineState::Voided => "voided",
        }
    }

    pub fn parse(s: &str) -> Option<LineState> {
        [
            LineState::Queued,
            LineState::Started,
            LineState::Ready,
            LineState::Voided,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
    }

    /// Still to make: queued or started.
    pub fn is_open(self) -> bool {
        matches!(self, LineState::Queued | LineState::Started)
    }
}

/// The live message of a kitchen change, on the venue's kitchen channel.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct KitchenUpdate {
    pub venue_id: Uuid,
    pub order_id: Uuid,
    /// The lines that changed (queued, started, ready, recalled or voided).
    pub line_ids: Vec<Uuid>,
    /// queued, started, ready, recalled, voided.
    pub kind: String,
    pub at: DateTime<Utc>,
}

pub fn kitchen_channel(venue_id: Uuid) -> String {
    format!("venue:{venue_id}:kitchen")
}

/// Announce a kitchen change (logged, never failing the change that already happened).
pub async fn publish(state: &AppState, update: &KitchenUpdate) {
    let payload = serde_json::to_string(update).unwrap_or_default();
    if let Err(err) = state
        .pubsub
        .publish(&kitchen_channel(update.venue_id), &payload)
        .await
    {
        tracing::warn!(%err, "could not publish a kitchen update");
    }
}

/// The venue's default station, made on first need (two processes making it at once make one).
async fn default_station<C: ConnectionTrait>(
    db: &C,
    venue_id: Uuid,
    now: DateTime<Utc>,
) -> Result<stations::Model, DbErr> {
    let all = stations::Entity::find()
        .filter(stations::Column::RestaurantId.eq(venue_id))
        .order_by_desc(stations::Column::IsDefault)
        .order_by_asc(stations::Column::DisplayOrder)
        .order_by_asc(stations::Column::Name)
        .all(db)
        .await?;
    if let Some(first) = all.into_iter().next() {
        return Ok(first);
    }
    stations::Entity::insert(stations::ActiveModel {
        id: Set(Uuid::now_v7()),
        restaurant_id: Set(venue_id),
        name: Set(DEFAULT_STATION.to_string()),
        kind: Set("other".to_string()),
        display_order: Set(0),
        target_minutes: Set(DEFAULT_TARGET_MINUTES),
        is_default: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([stations::Column::RestaurantId, stations::Column::Name])
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    stations::Entity::find()
        .filter(stations::Column::RestaurantId.eq(venue_id))
        .filter(stations::Column::Name.eq(DEFAULT_STATION))
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("the default station".into()))
}

/// Where each venue's menu items go (`(venue, menu item)` to station): a route naming the item, else a
/// route naming its category. Read for all of `venues` at once.
async fn routed<C: ConnectionTrait>(
    db: &C,
    venues: &[Uuid],
    item_ids: &[Uuid],
) -> Result<HashMap<(Uuid, Uuid), Uuid>, DbErr> {
    if item_ids.is_empty() || venues.is_empty() {
        return Ok(HashMap::new());
    }
    let mut routes = Vec::new();
    for chunk in venues.chunks(500) {
        routes.extend(
            station_routes::Entity::find()
                .filter(station_routes::Column::RestaurantId.is_in(chunk.to_vec()))
                .all(db)
                .await?,
        );
    }
    if routes.is_empty() {
        return Ok(HashMap::new());
    }
    let by_item: HashMap<(Uuid, Uuid), Uuid> = routes
        .iter()
        .filter_map(|r| r.menu_item_id.map(|i| ((r.restaurant_id, i), r.station_id)))
        .collect();
    let by_category: HashMap<(Uuid, Uuid), Uuid> = routes
        .iter()
        .filter_map(|r| r.category_id.map(|c| ((r.restaurant_id, c), r.station_id)))
        .collect();
    let mut items: Vec<(Uuid, Uuid, Uuid)> = Vec::new();
    for chunk in item_ids.chunks(500) {
        items.extend(
            menu_items::Entity::find()
                .select_only()
                .columns([
                    menu_items::Column::Id,
                    menu_items::Column::RestaurantId,
                    menu_items::Column::CategoryId,
                ])
                .filter(menu_items::Column::Id.is_in(chunk.to_vec()))
                .into_tuple::<(Uuid, Uuid, Uuid)>()
                .all(db)
                .await?,
        );
    }
    Ok(items
        .into_iter()
        .filter_map(|(id, venue, category)| {
            by_item
                .get(&(venue, id))
                .or_else(|| by_category.get(&(venue, category)))
                .map(|station| ((venue, id), *station))
        })
        .collect())
}

/// Open lines a station's queue depth counts at most. A venue that does not bump its lines on a screen
/// (its channel orders stay confirmed, or it never closes them) would otherwise grow its stations' queues
/// without end, and every new line would count all of them: past this many the depth says "at least
/// this many", which is all the prep-time model and the cooks can use of it.
pub const DEPTH_COUNTED_UP_TO: i64 = 500;

/// Open (queued or started) lines per station right now, the load each new line arrives into: counted
/// off the `(station_id, state)` index, each up to [`DEPTH_COUNTED_UP_TO`] (one index range of at most
/// that many entries a station, however long its backlog).
async fn open_per_station<C: ConnectionTrait>(
    db: &C,
    stations: &[Uuid],
) -> Result<HashMap<Uuid, i32>, DbErr> {
    if stations.is_empty() {
        return Ok(HashMap::new());
    }
    let backend = db.get_database_backend();
    let param = |n: usize| crate::analytics::bulk::param(backend, n);
    let list: Vec<String> = (4..4 + stations.len()).map(param).collect();
    let sql = format!(
        "SELECT s.id, (SELECT COUNT(*) FROM (SELECT 1 FROM ticket_lines t WHERE t.station_id = s.id \
         AND t.state IN ({queued}, {started}) LIMIT {cap}) o) FROM stations s WHERE s.id IN ({list})",
        queued = param(1),
        started = param(2),
        cap = param(3),
        list = list.join(", "),
    );
    let mut values: Vec<sea_orm::Value> = vec![
        LineState::Queued.as_str().into(),
        LineState::Started.as_str().into(),
        DEPTH_COUNTED_UP_TO.into(),
    ];
    values.extend(stations.iter().map(|id| sea_orm::Value::from(*id)));
    let mut counts = HashMap::with_capacity(stations.len());
    for row in db
        .query_all_raw(sea_orm::Statement::from_sql_and_values(
            backend, sql, values,
        ))
        .await?
    {
        let n: i64 = row.try_get_by_index(1)?;
        counts.insert(
            row.try_get_by_index(0)?,
            i32::try_from(n).unwrap_or(i32::MAX),
        );
    }
    Ok(counts)
}

fn event(
    line: &ticket_lines::Model,
    kind: &str,
    actor_id: Option<Uuid>,
    note: Option<String>,
    now: DateTime<Utc>,
) -> ticket_events::ActiveModel {
    ticket_events::ActiveModel {
        line_id: Set(line.id),
        order_id: Set(line.order_id),
        kind: Set(kind.to_string()),
        actor_id: Set(actor_id),
        note: Set(note),
        occurred_at: Set(now),
        ..Default::default()
    }
}

/// One ticket line per item of a just-confirmed order, at its station, inside the confirming
/// transaction. An order that already has lines gets none again.
pub async fn queue_lines<C: ConnectionTrait>(
    db: &C,
    order: &orders::Model,
    items: &[order_items::Model],
    now: DateTime<Utc>,
) -> Result<Vec<ticket_lines::Model>, DbErr> {
    queue_lines_many(db, &[(order.id, order.restaurant_id, items)], now).await
}

/// One order to queue: its id, its venue and its items.
pub type ToQueue<'a> = (Uuid, Uuid, &'a [order_items::Model]);

/// [`queue_lines`] for several orders at once: which orders have lines already, and each venue's routes,
/// stations and load, are read once for all of them; the lines and their events are inserted together.
pub async fn queue_lines_many<C: ConnectionTrait>(
    db: &C,
    orders: &[ToQueue<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<ticket_lines::Model>, DbErr> {
    let ids: Vec<Uuid> = orders
        .iter()
        .filter(|(_, _, items)| !items.is_empty())
        .map(|(order, _, _)| *order)
        .collect();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let queued_before = orders_with_lines(db, &ids).await?;
    let unqueued: Vec<ToQueue> = orders
        .iter()
        .filter(|(order, _, _)| !queued_before.contains(order))
        .copied()
        .collect();
    queue_unqueued(db, &unqueued, now).await
}

/// Which of `ids` have ticket lines already.
async fn orders_with_lines<C: ConnectionTrait>(
    db: &C,
    ids: &[Uuid],
) -> Result<HashSet<Uuid>, DbErr> {
    let mut found = HashSet::new();
    for chunk in ids.chunks(500) {
        found.extend(
            ticket_lines::Entity::find()
                .select_only()
                .column(ticket_lines::Column::OrderId)
                .filter(ticket_lines::Column::OrderId.is_in(chunk.to_vec()))
                .into_tuple::<Uuid>()
                .all(db)
                .await?,
        );
    }
    Ok(found)
}

/// [`queue_lines_many`] for orders known to have no lines yet (in this transaction).
async fn queue_unqueued<C: ConnectionTrait>(
    db: &C,
    orders: &[ToQueue<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<ticket_lines::Model>, DbErr> {
    let mut by_venue: BTreeMap<Uuid, Vec<(Uuid, &[order_items::Model])>> = BTreeMap::new();
    let mut seen: HashSet<Uuid> = HashSet::new();
    for (order, venue, items) in orders {
        if !items.is_empty() && seen.insert(*order) {
            by_venue.entry(*venue).or_default().push((*order, items));
        }
    }
    let mut lines = Vec::new();
    if by_venue.is_empty() {
        return Ok(lines);
    }
    // Every venue's routes, stations and open lines per station, read once for all of them.
    let venues: Vec<Uuid> = by_venue.keys().copied().collect();
    let mut item_ids: Vec<Uuid> = by_venue
        .values()
        .flatten()
        .flat_map(|(_, items)| items.iter().filter_map(|i| i.menu_item_id))
        .collect();
    item_ids.sort_unstable();
    item_ids.dedup();
    let routes = routed(db, &venues, &item_ids).await?;
    // In the default station's order (`default_station`): the first station of a venue is its default.
    let mut stations_of: HashMap<Uuid, Vec<stations::Model>> = HashMap::new();
    for chunk in venues.chunks(500) {
        for station in stations::Entity::find()
            .filter(stations::Column::RestaurantId.is_in(chunk.to_vec()))
            .order_by_desc(stations::Column::IsDefault)
            .order_by_asc(stations::Column::DisplayOrder)
            .order_by_asc(stations::Column::Name)
            .all(db)
            .await?
        {
            stations_of
                .entry(station.restaurant_id)
                .or_default()
                .push(station);
        }
    }
    let station_ids: Vec<Uuid> = stations_of.values().flatten().map(|s| s.id).collect();
    let mut load = HashMap::new();
    for chunk in station_ids.chunks(500) {
        load.extend(open_per_station(db, chunk).await?);
    }
    for (venue, venue_orders) in by_venue {
        let venue_stations = stations_of.remove(&venue).unwrap_or_default();
        let mut fallback: Option<stations::Model> = venue_stations.first().cloned();
        let stations: HashMap<Uuid, stations::Model> =
            venue_stations.into_iter().map(|s| (s.id, s)).collect();
        for (order, items) in venue_orders {
            for item in items {
                let station = match item
                    .menu_item_id
                    .and_then(|id| routes.get(&(venue, id)))
                    .and_then(|s| stations.get(s))
                {
                    Some(station) => station.clone(),
                    None => match &fallback {
                        Some(station) => station.clone(),
                        None => {
                            let station = default_station(db, venue, now).await?;
                            fallback = Some(station.clone());
                            station
                        }
                    },
                };
                let depth = load.entry(station.id).or_insert(0);
                lines.push(ticket_lines::Model {
                    id: Uuid::now_v7(),
                    restaurant_id: venue,
                    order_id: order,
                    station_id: Some(station.id),
                    station_name: station.name.clone(),
                    menu_item_id: item.menu_item_id,
                    order_item_id: Some(item.id),
                    name: item.name.clone(),
                    quantity: item.quantity,
                    note: item.special_request.clone(),
                    state: LineState::Queued.as_str().to_string(),
                    queued_at: now,
                    started_at: None,
                    ready_at: None,
                    bumped_by: None,
                    recalls: 0,
                    voided_at: None,
                    void_reason: None,
                    queue_depth: *depth,
                });
                *depth += 1;
            }
        }
    }
    // 19 columns a line: 100 lines a statement stay far inside SQLite's bind limit.
    for chunk in lines.chunks(100) {
        ticket_lines::Entity::insert_many(
            chunk.iter().cloned().map(ticket_lines::ActiveModel::from),
        )
        .exec_without_returning(db)
        .await?;
        ticket_events::Entity::insert_many(
            chunk.iter().map(|l| event(l, "queued", None, None, now)),
        )
        .exec_without_returning(db)
        .await?;
    }
    Ok(lines)
}

/// Closes the open lines of an order that left the kitchen by other means, inside its transaction:
/// cancelled orders void them, orders marked READY or COMPLETED by hand mark them ready.
pub async fn close_lines<C: ConnectionTrait>(
    db: &C,
    order_id: Uuid,
    to: OrderStatus,
    actor_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Vec<Uuid>, DbErr> {
    Ok(close_lines_many(db, &[(order_id, to)], actor_id, now)
        .await?
        .remove(&order_id)
        .unwrap_or_default())
}

/// [`close_lines`] for several orders at once: their open lines are read in one query, changed in one
/// statement per kind of change and their events inserted together. Answers the lines changed of each
/// order that had any, in the order they were queued.
pub async fn close_lines_many<C: ConnectionTrait>(
    db: &C,
    closing: &[(Uuid, OrderStatus)],
    actor_id: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<BTreeMap<Uuid, Vec<Uuid>>, DbErr> {
    let to_of: HashMap<Uuid, OrderStatus> = closing.iter().copied().collect();
    let ids: Vec<Uuid> = to_of.keys().copied().collect();
    let mut open: Vec<ticket_lines::Model> = Vec::new();
    for chunk in ids.chunks(500) {
        open.extend(
            ticket_lines::Entity::find()
                .filter(ticket_lines::Column::OrderId.is_in(chunk.to_vec()))
                .filter(
                    ticket_lines::Column::State
                        .is_in([LineState::Queued.as_str(), LineState::Started.as_str()]),
                )
                .all(db)
                .await?,
        );
    }
    // Line ids are time-ordered (v7): the order they were queued in.
    open.sort_unstable_by_key(|l| l.id);
    let (voided, ready): (Vec<&ticket_lines::Model>, Vec<&ticket_lines::Model>) = open
        .iter()
        .partition(|l| to_of[&l.order_id] == OrderStatus::Cancelled);
    for chunk in voided.chunks(500) {
        ticket_lines::Entity::update_many()
            .col_expr(
                ticket_lines::Column::State,
                Expr::value(LineState::Voided.as_str()),
            )
            .col_expr(ticket_lines::Column::VoidedAt, Expr::value(now))
            .col_expr(
                ticket_lines::Column::VoidReason,
                Expr::value("order cancelled"),
            )
            .filter(ticket_lines::Column::Id.is_in(chunk.iter().map(|l| l.id)))
            .exec(db)
            .await?;
    }
    for chunk in ready.chunks(500) {
        ticket_lines::Entity::update_many()
            .col_expr(
                ticket_lines::Column::State,
                Expr::value(LineState::Ready.as_str()),
            )
            .col_expr(ticket_lines::Column::ReadyAt, Expr::value(now))
            .col_expr(ticket_lines::Column::BumpedBy, Expr::value(actor_id))
            .filter(ticket_lines::Column::Id.is_in(chunk.iter().map(|l| l.id)))
            .exec(db)
            .await?;
    }
    for chunk in open.chunks(100) {
        ticket_events::Entity::insert_many(chunk.iter().map(|line| {
            let to = to_of[&line.order_id];
            let kind = if to == OrderStatus::Cancelled {
                "voided"
            } else {
                "ready"
            };
            let note = format!("order {}", to.as_str().to_lowercase());
            event(line, kind, actor_id, Some(note), now)
        }))
        .exec_without_returning(db)
        .await?;
    }
    let mut changed: BTreeMap<Uuid, Vec<Uuid>> = BTreeMap::new();
    for line in &open {
        changed.entry(line.order_id).or_default().push(line.id);
    }
    Ok(changed)
}

/// The ids of the venue's orders still in the kitchen (confirmed, preparing or ready), as a subquery.
pub fn in_kitchen(venue_id: Uuid) -> sea_orm::sea_query::SelectStatement {
    sea_orm::sea_query::Query::select()
        .column(orders::Column::Id)
        .from(orders::Entity)
        .and_where(Expr::col(orders::Column::RestaurantId).eq(venue_id))
        .and_where(Expr::col(orders::Column::Status).is_in([
            OrderStatus::Confirmed.as_str(),
            OrderStatus::Preparing.as_str(),
            OrderStatus::Ready.as_str(),
        ]))
        .to_owned()
}

/// What staff do to a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Bump,
    Recall,
    Void,
}

impl Action {
    fn event(self) -> &'static str {
        match self {
            Action::Start => "started",
            Action::Bump => "ready",
            Action::Recall => "recalled",
            Action::Void => "voided",
        }
    }
}

/// Applies `action` to a line (already known to be the caller's venue's), then moves its order as its
/// lines now say. Returns the line as it is now.
pub async fn act(
    state: &AppState,
    line_id: Uuid,
    action: Action,
    actor: Actor,
    reason: Option<String>,
) -> Result<ticket_lines::Model, ApiError> {
    let line = ticket_lines::Entity::find_by_id(line_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("ticket line"))?;
    let from = LineState::parse(&line.state).unwrap_or(LineState::Voided);
    let to = match (action, from) {
        (Action::Start, LineState::Queued) => LineState::Started,
        (Action::Bump, LineState::Queued | LineState::Started) => LineState::Ready,
        (Action::Recall, LineState::Ready) => LineState::Started,
        (Action::Void, LineState::Queued | LineState::Started | LineState::Ready) => {
            LineState::Voided
        }
        _ => {
            return Err(ApiError::conflict(
                "invalid_line_action",
                format!(
                    "the line is {}; it cannot be {}",
                    from.as_str(),
                    action.event()
                ),
            )
            .with_data(serde_json::json!({"state": from.as_str()})));
        }
    };
    let order = orders::Entity::find_by_id(line.order_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("order"))?;
    let order_status: Option<OrderStatus> = order.status.parse().ok();
    if action == Action::Recall && order_status.is_some_and(|s| s.is_terminal()) {
        return Err(ApiError::conflict(
            "order_closed",
            format!(
                "the order is {}; its lines can no longer be recalled",
                order.status
            ),
        ));
    }
    let now = state.now();
    let reason = reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    let turn = state.write_turn().await;
    let txn = crate::database::begin_write(&state.db).await?;
    let mut update = ticket_lines::Entity::update_many()
        .col_expr(ticket_lines::Column::State, Expr::value(to.as_str()))
        .filter(ticket_lines::Column::Id.eq(line_id))
        .filter(ticket_lines::Column::State.eq(from.as_str()));
    update = match action {
        Action::Start => update.col_expr(ticket_lines::Column::StartedAt, Expr::value(now)),
        Action::Bump => update
            .col_expr(ticket_lines::Column::ReadyAt, Expr::value(now))
            .col_expr(ticket_lines::Column::BumpedBy, Expr::value(actor.user_id)),
        Action::Recall => update
            .col_expr(
                ticket_lines::Column::ReadyAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(
                ticket_lines::Column::Recalls,
                Expr::col(ticket_lines::Column::Recalls).add(1),
            ),
        Action::Void => update
            .col_expr(ticket_lines::Column::VoidedAt, Expr::value(now))
            .col_expr(
                ticket_lines::Column::VoidReason,
                Expr::value(reason.clone()),
            ),
    };
    if update.exec(&txn).await?.rows_affected != 1 {
        return Err(ApiError::conflict(
            "line_changed",
            "the line changed meanwhile; read it again",
        ));
    }
    event(&line, action.event(), actor.user_id, reason, now)
        .insert(&txn)
        .await?;
    txn.commit().await?;
    drop(turn);
    publish(
        state,
        &KitchenUpdate {
            venue_id: line.restaurant_id,
            order_id: line.order_id,
            line_ids: vec![line_id],
            kind: action.event().to_string(),
            at: now,
        },
    )
    .await;
    follow_lines(state, line.order_id, actor).await?;
    ticket_lines::Entity::find_by_id(line_id)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("ticket line"))
}

/// Moves an order to where its lines say it is: PREPARING once any line is started or ready, READY when
/// every line (voided ones aside) is ready, back to PREPARING when a READY order has an open line again.
/// Each move goes through the status machine; a move someone else made first is not an error.
pub async fn follow_lines(state: &AppState, order_id: Uuid, actor: Actor) -> Result<(), ApiError> {
    let lines = ticket_lines::Entity::find()
        .filter(ticket_lines::Column::OrderId.eq(order_id))
        .all(&state.db)
        .await?;
    let states: Vec<LineState> = lines
        .iter()
        .filter_map(|l| LineState::parse(&l.state))
        .filter(|s| *s != LineState::Voided)
        .collect();
    if states.is_empty() {
        return Ok(());
    }
    let all_ready = states.iter().all(|s| *s == LineState::Ready);
    let any_begun = states
        .iter()
        .any(|s| matches!(s, LineState::Started | LineState::Ready));
    // A channel order's status is its channel's to set (`follow_channel`).
    let order = crate::orders::find(state, order_id).await?;
    if order.source == crate::analytics::channel::SOURCE_CHANNEL {
        return Ok(());
    }
    let actor = Actor {
        kind: match actor.kind {
            ActorKind::Customer => ActorKind::System,
            kind => kind,
        },
        ..actor
    };
    for _ in 0..2 {
        let order = crate::orders::find(state, order_id).await?;
        let Ok(status) = order.status.parse::<OrderStatus>() else {
            return Ok(());
        };
        let next = match status {
            OrderStatus::Confirmed if any_begun => OrderStatus::Preparing,
            OrderStatus::Preparing if all_ready => OrderStatus::Ready,
            OrderStatus::Ready if !all_ready => OrderStatus::Preparing,
            _ => return Ok(()),
        };
        let note = match next {
            OrderStatus::Ready => "every line is ready",
            OrderStatus::Preparing if status == OrderStatus::Ready => "a line was recalled",
            _ => "the kitchen started it",
        };
        match crate::orders::transition(state, order_id, next, actor, Some(note.to_string())).await
        {
            Ok(_) => {}
            // Someone moved it first: read it again and see.
            Err(err) if err.code == "order_changed" || err.code == "invalid_transition" => {}
            Err(err) => return Err(err),
        }
    }
    Ok(())
}

/// Recalls the line bumped last at a station of the venue, among orders not collected yet.
pub async fn recall_last(
    state: &AppState,
    venue_id: Uuid,
    station_id: Uuid,
    actor: Actor,
) -> Result<ticket_lines::Model, ApiError> {
    stations::Entity::find_by_id(station_id)
        .one(&state.db)
        .await?
        .filter(|s| s.restaurant_id == venue_id)
        .ok_or_else(|| ApiError::not_found("station"))?;
    let last = ticket_lines::Entity::find()
        .filter(ticket_lines::Column::StationId.eq(station_id))
        .filter(ticket_lines::Column::State.eq(LineState::Ready.as_str()))
        .filter(ticket_lines::Column::OrderId.in_subquery(in_kitchen(venue_id)))
        .order_by_desc(ticket_lines::Column::ReadyAt)
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::not_found("a bumped line of an open order at this station"))?;
    act(state, last.id, Action::Recall, actor, None).await
}

/// The kitchen's side of a channel ingest, inside its transaction (`db`), for each `(order, venue, state
/// the channel now says)`: orders the channel now says are CONFIRMED or PREPARING get their lines (once),
/// their items matched to the venue's menu by PLU, else by name (case and surrounding spaces aside;
/// unmatched items go to the default station); orders it says are READY, COMPLETED or CANCELLED close
/// their open lines. The channel owns a channel order's status, so the kitchen never moves one
/// (`follow_lines` leaves them alone). `created` holds the items of the orders this transaction created:
/// they have no lines yet, and their items need not be read back. Answers the changes to announce once
/// the transaction commits.
pub async fn follow_channel<C: ConnectionTrait>(
    db: &C,
    ingested: &[(Uuid, Uuid, &str)],
    created: &HashMap<Uuid, Vec<order_items::Model>>,
    now: DateTime<Utc>,
) -> Result<Vec<KitchenUpdate>, DbErr> {
    let mut kitchen: Vec<(Uuid, Uuid)> = Vec::new();
    let mut done: Vec<(Uuid, Uuid, OrderStatus)> = Vec::new();
    for (order, venue, state) in ingested {
        match state.parse::<OrderStatus>() {
            Ok(OrderStatus::Confirmed | OrderStatus::Preparing) => kitchen.push((*order, *venue)),
            Ok(status @ (OrderStatus::Ready | OrderStatus::Completed | OrderStatus::Cancelled)) => {
                done.push((*order, *venue, status))
            }
            _ => {}
        }
    }
    if kitchen.is_empty() && done.is_empty() {
        return Ok(Vec::new());
    }
    let concerned: Vec<Uuid> = kitchen
        .iter()
        .map(|(id, _)| *id)
        .chain(done.iter().map(|(id, _, _)| *id))
        .filter(|id| !created.contains_key(id))
        .collect();
    let with_lines = if concerned.is_empty() {
        HashSet::new()
    } else {
        orders_with_lines(db, &concerned).await?
    };
    let to_queue: Vec<(Uuid, Uuid)> = kitchen
        .into_iter()
        .filter(|(id, _)| !with_lines.contains(id))
        .collect();
    let to_close: Vec<(Uuid, Uuid, OrderStatus)> = done
        .into_iter()
        .filter(|(id, _, _)| with_lines.contains(id))
        .collect();
    let mut updates: Vec<KitchenUpdate> = Vec::new();
    if !to_queue.is_empty() {
        // The items of the orders to queue and their venues' menus: read once.
        let mut items_of: HashMap<Uuid, Vec<order_items::Model>> = HashMap::new();
        let mut ids: Vec<Uuid> = Vec::new();
        for (id, _) in &to_queue {
            match created.get(id) {
                Some(items) => {
                    let mut items = items.clone();
                    items.sort_by(|a, b| a.name.cmp(&b.name));
                    items_of.insert(*id, items);
                }
                None => ids.push(*id),
            }
        }
        for chunk in ids.chunks(500) {
            for item in order_items::Entity::find()
                .filter(order_items::Column::OrderId.is_in(chunk.to_vec()))
                .order_by_asc(order_items::Column::Name)
                .all(db)
                .await?
            {
                items_of.entry(item.order_id).or_default().push(item);
            }
        }
        let mut venues: Vec<Uuid> = to_queue.iter().map(|(_, v)| *v).collect();
        venues.sort_unstable();
        venues.dedup();
        let mut menus: HashMap<Uuid, Vec<menu_items::Model>> = HashMap::new();
        for chunk in venues.chunks(500) {
            for item in menu_items::Entity::find()
                .filter(menu_items::Column::RestaurantId.is_in(chunk.to_vec()))
                .all(db)
                .await?
            {
                menus.entry(item.restaurant_id).or_default().push(item);
            }
        }
        let venue_of: HashMap<Uuid, Uuid> = to_queue.iter().copied().collect();
        let mut matchers: HashMap<Uuid, crate::menus::ItemMatcher> = HashMap::new();
        for (id, items) in items_of.iter_mut() {
            let venue = venue_of[id];
            let matcher = matchers.entry(venue).or_insert_with(|| {
                crate::menus::ItemMatcher::new(menus.get(&venue).map(Vec::as_slice).unwrap_or(&[]))
            });
            for item in items.iter_mut() {
                if item.menu_item_id.is_none() {
                    item.menu_item_id = matcher.find(&item.name, item.plu.as_deref());
                }
            }
        }
        let queue: Vec<ToQueue> = to_queue
            .iter()
            .filter_map(|(id, venue)| Some((*id, *venue, items_of.get(id)?.as_slice())))
            .collect();
        let lines = queue_unqueued(db, &queue, now).await?;
        let mut queued: BTreeMap<Uuid, Vec<&ticket_lines::Model>> = BTreeMap::new();
        for line in &lines {
            queued.entry(line.order_id).or_default().push(line);
        }
        for (order_id, order_lines) in queued {
            updates.push(KitchenUpdate {
                venue_id: order_lines[0].restaurant_id,
                order_id,
                line_ids: order_lines.iter().map(|l| l.id).collect(),
                kind: "queued".into(),
                at: now,
            });
        }
    }
    let closing: Vec<(Uuid, OrderStatus)> = to_close.iter().map(|(id, _, to)| (*id, *to)).collect();
    let mut closed = close_lines_many(db, &closing, None, now).await?;
    for (id, venue, status) in to_close {
        let Some(line_ids) = closed.remove(&id) else {
            continue;
        };
        updates.push(KitchenUpdate {
            venue_id: venue,
            order_id: id,
            line_ids,
            kind: if status == OrderStatus::Cancelled {
                "voided".into()
            } else {
                "ready".into()
            },
            at: now,
        });
    }
    Ok(updates)
}
