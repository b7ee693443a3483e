//! Demo data: restaurants in several time zones (split shifts, past-midnight and round-the-clock hours)
//! and one account per role, all with the password `brigade-demo`. Loading is idempotent: existing demo
//! records are left as they are. Later capabilities add their own demo data here.

use std::collections::HashMap;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait,
    QueryFilter, QuerySelect, Set, Statement,
};
use uuid::Uuid;

use crate::accounts::service::{self, NewAccount};
use crate::accounts::{MemberRole, Role};
use crate::entities::{
    menu_categories, menu_items, qr_codes, restaurant_members, restaurants, time_slots, users,
};
use crate::http::error::ApiError;
use crate::restaurants::{HoursInterval, RestaurantInput, RestaurantStatus, create};
use crate::state::AppState;

pub const PASSWORD: &str = "brigade-demo";

pub const ACCOUNTS: [(&str, Role, &str, &str, &str); 6] = [
    (
        "admin@demo.brigade",
        Role::Admin,
        "Ada",
        "Admin",
        "Europe/London",
    ),
    (
        "kam@demo.brigade",
        Role::Kam,
        "Kiran",
        "Mehta",
        "Asia/Kolkata",
    ),
    (
        "kam.london@demo.brigade",
        Role::Kam,
        "Olivia",
        "Hart",
        "Europe/London",
    ),
    (
        "kam.ny@demo.brigade",
        Role::Kam,
        "Jordan",
        "Lee",
        "America/New_York",
    ),
    (
        "manager@demo.brigade",
        Role::Customer,
        "Marco",
        "Rossi",
        "Europe/London",
    ),
    (
        "customer@demo.brigade",
        Role::Customer,
        "Chloe",
        "Martin",
        "Europe/London",
    ),
];

#[derive(Debug, Default)]
pub struct DemoSummary {
    pub restaurants_created: usize,
    pub reservations_created: usize,
    /// Ingredients (with suppliers, recipes and deliveries) given to Ember & Oak.
    pub ingredients_created: usize,
    pub accounts_created: usize,
    pub menu_items_created: usize,
    pub qr_codes_created: usize,
    pub time_slots_created: usize,
    pub polls_created: u64,
    pub channel_orders_created: usize,
    pub crm_restaurants_assigned: usize,
    /// Training jobs (demand and customer models) queued for demo restaurants with orders and no model
    /// of that kind yet (the workers train them within seconds of `serve --demo` starting).
    pub forecast_trainings_queued: usize,
    /// Finished ticket lines of the demo venues' kitchen history.
    pub ticket_lines_created: usize,
}

/// (category, [(item, price in minor units, preparation minutes, description)]) per demo restaurant.
type DemoMenu = &'static [(
    &'static str,
    &'static [(&'static str, i64, i32, &'static str)],
)];

fn demo_menu(external_id: &str) -> DemoMenu {
    match external_id {
        "demo-ember-oak" => &[
            (
                "Small plates",
                &[
                    (
                        "Charred leeks, romesco",
                        850,
                        8,
                        "Leeks from the grill with almond and pepper sauce",
                    ),
                    (
                        "Smoked burrata",
                        1100,
                        5,
                        "With blood orange and toasted hazelnuts",
                    ),
                ],
            ),
            (
                "From the grill",
                &[
                    (
                        "Onglet steak, chips",
                        2400,
                        18,
                        "Hanger steak with beef-fat chips",
                    ),
                    ("Whole sea bream", 2250, 20, "Salsa verde, grilled lemon"),
                    ("Hispi cabbage", 1450, 15, "Miso butter, crispy shallots"),
                ],
            ),
            (
                "Desserts",
                &[("Burnt Basque cheesecake", 750, 3, "With poached rhubarb")],
            ),
        ],
        "demo-midnight-noodle" => &[
            (
                "Ramen",
                &[
                    (
                        "Tonkotsu ramen",
                        1650,
                        12,
                        "Pork bone broth, chashu, ajitama egg",
                    ),
                    (
                        "Spicy miso ramen",
                        1700,
                        12,
                        "Chili miso broth, ground pork, corn",
                    ),
                    (
                        "Shoyu vegan ramen",
                        1550,
                        10,
                        "Kombu and shiitake broth, tofu",
                    ),
                ],
            ),
            (
                "Sides",
                &[
                    ("Pork gyoza (6)", 900, 8, "Pan-fried dumplings"),
                    ("Karaage", 1000, 9, "Fried chicken, yuzu mayo"),
                ],
            ),
        ],
        "demo-sakura-kitchen" => &[
            (
                "Lunch sets",
                &[
                    (
                        "Saba shioyaki set",
                        1380,
                        15,
                        "Grilled mackerel, rice, miso soup, pickles",
                    ),
                    (
                        "Chicken katsu curry",
                        1200,
                        14,
                        "With Japanese curry and rice",
                    ),
                ],
            ),
            (
                "Izakaya",
                &[
                    ("Yakitori moriawase", 1600, 16, "Five skewers"),
                    ("Agedashi tofu", 680, 8, "In dashi broth"),
                ],
            ),
        ],
        "demo-chai-point" => &[
            (
                "Chai",
                &[
                    ("Masala chai", 8000, 4, "Spiced milk tea"),
                    ("Ginger lemon tea", 9000, 4, "No milk"),
                ],
            ),
            (
                "Snacks",
                &[
                    ("Vada pav", 6000, 6, "Spiced potato fritter in a bun"),
                    ("Bun maska", 5500, 3, "Soft bun with butter"),
                ],
            ),
        ],
        _ => &[],
    }
}

async fn ensure_menu(
    state: &AppState,
    restaurant_id: Uuid,
    external_id: &str,
) -> Result<usize, ApiError> {
    let existing = menu_categories::Entity::find()
        .filter(menu_categories::Column::RestaurantId.eq(restaurant_id))
        .count(&state.db)
        .await?;
    if existing > 0 {
        return Ok(0);
    }
    let now = state.now();
    let mut created = 0;
    for (order, (category, items)) in demo_menu(external_id).iter().enumerate() {
        let category_id = Uuid::now_v7();
        menu_categories::ActiveModel {
            id: Set(category_id),
            restaurant_id: Set(restaurant_id),
            name: Set(category.to_string()),
            description: Set(None),
            display_order: Set(order as i32),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&state.db)
        .await?;
        for (position, (name, price_minor, minutes, description)) in items.iter().enumerate() {
            menu_items::ActiveModel {
                id: Set(Uuid::now_v7()),
                restaurant_id: Set(restaurant_id),
                category_id: Set(category_id),
                name: Set(name.to_string()),
                description: Set(Some(description.to_string())),
                price_minor: Set(*price_minor),
                image_url: Set(None),
                ingredients: Set(None),
                preparation_minutes: Set(Some(*minutes)),
                is_available: Set(true),
                unavailable_until: Set(None),
                plu: Set(None),
                display_order: Set(position as i32),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&state.db)
            .await?;
            created += 1;
        }
    }
    crate::menus::invalidate(state, restaurant_id).await;
    Ok(created)
}

/// The demo venues' QR codes are readable on purpose (`/q/EMBER-T1`), so the README can link them.
pub fn demo_qr_prefix(external_id: &str) -> Option<&'static str> {
    match external_id {
        "demo-ember-oak" => Some("EMBER"),
        "demo-midnight-noodle" => Some("NOODLE"),
        "demo-sakura-kitchen" => Some("SAKURA"),
        "demo-chai-point" => Some("CHAI"),
        _ => None,
    }
}

/// A takeout code and four table codes per demo venue, and dinner (and lunch) reservation windows.
async fn ensure_ordering(
    state: &AppState,
    restaurant_id: Uuid,
    external_id: &str,
) -> Result<(usize, usize), ApiError> {
    let Some(prefix) = demo_qr_prefix(external_id) else {
        return Ok((0, 0));
    };
    let now = state.now();
    let mut codes = 0;
    let has_codes = qr_codes::Entity::find()
        .filter(qr_codes::Column::RestaurantId.eq(restaurant_id))
        .count(&state.db)
        .await?
        > 0;
    if !has_codes {
        let tables = [None, Some("T1"), Some("T2"), Some("T3"), Some("T4")];
        for table in tables {
            qr_codes::ActiveModel {
                id: Set(Uuid::now_v7()),
                restaurant_id: Set(restaurant_id),
                code: Set(match table {
                    Some(t) => format!("{prefix}-{t}"),
                    None => prefix.to_string(),
                }),
                table_label: Set(table.map(str::to_string)),
                created_by: Set(None),
                created_at: Set(now),
                revoked_at: Set(None),
            }
            .insert(&state.db)
            .await?;
            codes += 1;
        }
    }
    let mut slots = 0;
    let has_slots = time_slots::Entity::find()
        .filter(time_slots::Column::RestaurantId.eq(restaurant_id))
        .count(&state.db)
        .await?
        > 0;
    if !has_slots && external_id != "demo-chai-point" {
        let windows: &[(&str, &str, i32)] = match external_id {
            "demo-midnight-noodle" => &[("18:00", "01:00", 30)],
            _ => &[("12:00", "14:30", 30), ("18:00", "22:00", 30)],
        };
        for weekday in 0..7i16 {
            for (start, end, every) in windows {
                time_slots::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    restaurant_id: Set(restaurant_id),
                    weekday: Set(weekday),
                    start_time: Set(crate::restaurants::hours::parse_time(start)
                        .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?),
                    end_time: Set(crate::restaurants::hours::parse_time(end)
                        .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?),
                    interval_minutes: Set(*every),
                    max_reservations: Set(4),
                    max_covers: Set(Some(16)),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(&state.db)
                .await?;
                slots += 1;
            }
        }
    }
    Ok((codes, slots))
}

fn every(days: &[u8], opens: &str, closes: &str) -> Vec<HoursInterval> {
    days.iter()
        .map(|&d| HoursInterval::parse(i64::from(d), opens, closes).expect("demo hours are valid"))
        .collect()
}

fn demo_restaurants() -> Vec<RestaurantInput> {
    let weekdays = [0, 1, 2, 3, 4];
    let mut ember = every(&weekdays, "11:30", "14:30");
    ember.extend(every(&weekdays, "17:30", "22:30"));
    ember.extend(every(&[5], "12:00", "23:30"));
    ember.extend(every(&[6], "12:00", "21:00"));
    let mut sakura = every(&[1, 2, 3, 4, 5, 6], "11:00", "15:00");
    sakura.extend(every(&[1, 2, 3, 4, 5, 6], "17:00", "22:00"));
    vec![
        RestaurantInput {
            name: Some("Ember & Oak".into()),
            external_id: Some("demo-ember-oak".into()),
            address: Some("14 Redchurch Street, London E2 7DJ".into()),
            region: Some("UK & Ireland".into()),
            timezone: Some("Europe/London".into()),
            currency: Some("GBP".into()),
            status: Some(RestaurantStatus::Active),
            phone: Some("+44 20 7946 0018".into()),
            email: Some("hello@emberandoak.example".into()),
            description: Some(
                "Wood-fired grill with a lunch and a dinner service on weekdays.".into(),
            ),
            hours: Some(ember),
            ..Default::default()
        },
        RestaurantInput {
            name: Some("Midnight Noodle Bar".into()),
            external_id: Some("demo-midnight-noodle".into()),
            address: Some("88 Orchard Street, New York, NY 10002".into()),
            region: Some("US East".into()),
            timezone: Some("America/New_York".into()),
            currency: Some("USD".into()),
            status: Some(RestaurantStatus::Active),
            phone: Some("+1 212 555 0142".into()),
            description: Some(
                "Late-night ramen: open from six in the evening until two in the morning.".into(),
            ),
            hours: Some(every(&[0, 1, 2, 3, 4, 5, 6], "18:00", "02:00")),
            ..Default::default()
        },
        RestaurantInput {
            name: Some("Sakura Kitchen".into()),
            external_id: Some("demo-sakura-kitchen".into()),
            address: Some("2-11-3 Meguro, Tokyo 153-0063".into()),
            region: Some("Asia Pacific".into()),
            timezone: Some("Asia/Tokyo".into()),
            currency: Some("JPY".into()),
            status: Some(RestaurantStatus::New),
            phone: Some("+81 3 5555 0199".into()),
            description: Some("Set lunches and izakaya dinners; closed on Mondays.".into()),
            hours: Some(sakura),
            ..Default::default()
        },
        RestaurantInput {
            name: Some("Chai Point Bandra".into()),
            external_id: Some("demo-chai-point".into()),
            address: Some("Hill Road, Bandra West, Mumbai 400050".into()),
            region: Some("South Asia".into()),
            timezone: Some("Asia/Kolkata".into()),
            currency: Some("INR".into()),
            status: Some(RestaurantStatus::Active),
            phone: Some("+91 22 5555 0123".into()),
            description: Some("Tea and snacks around the clock.".into()),
            hours: Some(every(&[0, 1, 2, 3, 4, 5, 6], "00:00", "00:00")),
            ..Default::default()
        },
    ]
}

/// A demo restaurant's id by its external id (tests and tools).
pub async fn restaurant_id_of(state: &AppState, external_id: &str) -> Option<Uuid> {
    restaurant_id(state, external_id).await.ok().flatten()
}

async fn restaurant_id(state: &AppState, external_id: &str) -> Result<Option<Uuid>, ApiError> {
    Ok(restaurants::Entity::find()
        .filter(restaurants::Column::ExternalId.eq(external_id))
        .one(&state.db)
        .await?
        .map(|r| r.id))
}

async fn ensure_member(
    state: &AppState,
    user_id: Uuid,
    restaurant_id: Uuid,
    role: MemberRole,
) -> Result<(), ApiError> {
    let exists = restaurant_members::Entity::find()
        .filter(restaurant_members::Column::UserId.eq(user_id))
        .filter(restaurant_members::Column::RestaurantId.eq(restaurant_id))
        .one(&state.db)
        .await?
        .is_some();
    if !exists {
        restaurant_members::ActiveModel {
            id: Set(Uuid::now_v7()),
            user_id: Set(user_id),
            restaurant_id: Set(restaurant_id),
            role: Set(role.as_str().to_string()),
            created_at: Set(state.now()),
        }
        .insert(&state.db)
        .await?;
    }
    Ok(())
}

const DEMO_LOCK: i64 = 0x0064_656d_6f64_6174; // "demodat" in ASCII

/// Load the demo data. Processes starting together with `--demo` on one PostgreSQL take turns (an
/// advisory lock held by a transaction on its own connection), so each record is created once.
pub async fn load(state: &AppState) -> Result<DemoSummary, ApiError> {
    let lock = if state.db.get_database_backend() == DbBackend::Postgres {
        let txn = crate::database::begin_write(&state.db).await?;
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [DEMO_LOCK.into()],
        ))
        .await?;
        Some(txn)
    } else {
        None
    };
    let result = load_unlocked(state).await;
    if let Some(txn) = lock {
        txn.commit().await?;
    }
    result
}

async fn load_unlocked(state: &AppState) -> Result<DemoSummary, ApiError> {
    let mut summary = DemoSummary::default();
    let mut monitored = Vec::new();
    for input in demo_restaurants() {
        let external = input.external_id.clone().unwrap_or_default();
        let id = match restaurant_id(state, &external).await? {
            Some(id) => id,
            None => {
                summary.restaurants_created += 1;
                create(state, &input).await?.id
            }
        };
        summary.menu_items_created += ensure_menu(state, id, &external).await?;
        let (codes, slots) = ensure_ordering(state, id, &external).await?;
        summary.qr_codes_created += codes;
        summary.time_slots_created += slots;
        summary.ticket_lines_created += ensure_kitchen(state, id, &external).await?;
        monitored.push(id);
    }
    summary.polls_created = ensure_polls(state, &monitored).await?;
    summary.channel_orders_created = ensure_channel_orders(state).await?;
    for (email, role, first, last, tz) in ACCOUNTS {
        let existing = users::Entity::find()
            .filter(users::Column::Email.eq(email))
            .one(&state.db)
            .await?;
        if existing.is_none() {
            let account = NewAccount::parse(email, PASSWORD, first, last, None, role, Some(tz))?;
            service::create_user(state, account).await?;
            summary.accounts_created += 1;
        }
    }
    let manager = users::Entity::find()
        .filter(users::Column::Email.eq("manager@demo.brigade"))
        .one(&state.db)
        .await?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("demo manager missing")))?;
    if let Some(ember) = restaurant_id(state, "demo-ember-oak").await? {
        ensure_member(state, manager.id, ember, MemberRole::Owner).await?;
        summary.reservations_created = ensure_reservations(state, ember).await?;
        summary.ingredients_created = crate::inventory::demo::ensure(state, ember).await?;
    }
    if let Some(noodle) = restaurant_id(state, "demo-midnight-noodle").await? {
        ensure_member(state, manager.id, noodle, MemberRole::Manager).await?;
    }
    summary.crm_restaurants_assigned = ensure_crm(state).await?;
    summary.forecast_trainings_queued = ensure_forecasts(state).await?;
    Ok(summary)
}

/// A reservation book with something in it: guests booked for lunch and dinner over the next three local
/// days (booked like any guest, so capacity counts them), once.
async fn ensure_reservations(state: &AppState, venue_id: Uuid) -> Result<usize, ApiError> {
    use crate::entities::reservations;
    let booked = reservations::Entity::find()
        .filter(reservations::Column::RestaurantId.eq(venue_id))
        .count(&state.db)
        .await?;
    if booked > 0 {
        return Ok(0);
    }
    let venue = crate::restaurants::find(state, venue_id).await?;
    let tz = crate::restaurants::zone_of(&venue);
    let today = state.now().with_timezone(&tz).date_naive();
    const GUESTS: [(&str, &str, i32, &str); 8] = [
        ("Amira", "+44 7700 900101", 2, "19:00"),
        ("Tom", "+44 7700 900102", 4, "19:00"),
        ("Priya", "+44 7700 900103", 6, "19:30"),
        ("Lucas", "+44 7700 900104", 2, "20:00"),
        ("Sofia", "+44 7700 900105", 3, "20:30"),
        ("Kenji", "+44 7700 900106", 2, "12:30"),
        ("Hannah", "+44 7700 900107", 5, "13:00"),
        ("Omar", "+44 7700 900108", 4, "21:00"),
    ];
    let mut created = 0;
    for day in 0..3u64 {
        let date = today + chrono::Days::new(day);
        for (k, (name, phone, party, time)) in GUESTS.iter().enumerate() {
            if (k as u64 + day) % 3 == 2 {
                continue;
            }
            let guest =
                service::create_guest(state, (*name).to_string(), Some((*phone).to_string()), None)
                    .await?;
            let input = crate::reservations::ReservationInput {
                date,
                time: crate::restaurants::hours::parse_time(time)
                    .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?,
                party_size: *party,
                table_preference: (k % 4 == 0).then(|| "window".to_string()),
                note: (k == 2).then(|| "birthday: a candle on the dessert".to_string()),
            };
            // Starts already past today (or inside the notice) are not bookable: skipped.
            if crate::reservations::book(state, &venue, guest.id, &input)
                .await
                .is_ok()
            {
                created += 1;
            }
        }
    }
    Ok(created)
}

/// Training jobs (demand and customers) for the restaurants with orders but no model of that kind yet.
async fn ensure_forecasts(state: &AppState) -> Result<usize, ApiError> {
    use crate::entities::forecast_models;
    let trained: Vec<(String, Option<Uuid>)> = forecast_models::Entity::find()
        .select_only()
        .columns([
            forecast_models::Column::Kind,
            forecast_models::Column::RestaurantId,
        ])
        .distinct()
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut queued = 0;
    for id in crate::forecasting::series::restaurants_with_orders(state).await? {
        for kind in [
            crate::forecasting::DEMAND,
            crate::forecasting::customers::CUSTOMER,
        ] {
            if !trained.contains(&(kind.to_string(), Some(id))) {
                queued += crate::forecasting::jobs::enqueue_training(state, Some(id), kind).await?;
            }
        }
    }
    let kitchen = crate::kitchen::prep::KITCHEN;
    for id in crate::forecasting::jobs::trainable(state, kitchen).await? {
        if !trained.contains(&(kitchen.to_string(), Some(id))) {
            queued += crate::forecasting::jobs::enqueue_training(state, Some(id), kitchen).await?;
        }
    }
    Ok(queued)
}

/// Extra CRM leads: (slug, name, zone, region, KAM e-mail, weekday hours, weekend hours, orders per
/// week in the last 90 days, orders per week before).
type CrmLead = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    (&'static str, &'static str),
    Option<(&'static str, &'static str)>,
    i64,
    i64,
);

const CRM_LEADS: [CrmLead; 12] = [
    (
        "dosa-house",
        "Dosa House Koramangala",
        "Asia/Kolkata",
        "South Asia",
        "kam@demo.brigade",
        ("08:00", "22:30"),
        Some(("08:00", "23:00")),
        60,
        30,
    ),
    (
        "biryani-blues",
        "Biryani Blues Powai",
        "Asia/Kolkata",
        "South Asia",
        "kam@demo.brigade",
        ("12:00", "15:00"),
        Some(("12:00", "23:30")),
        20,
        40,
    ),
    (
        "tiffin-co",
        "The Tiffin Co.",
        "Asia/Kolkata",
        "South Asia",
        "kam@demo.brigade",
        ("07:00", "11:00"),
        None,
        4,
        10,
    ),
    (
        "brooklyn-slice",
        "Brooklyn Slice",
        "America/New_York",
        "US East",
        "kam@demo.brigade",
        ("11:00", "02:00"),
        Some(("11:00", "03:00")),
        35,
        35,
    ),
    (
        "harbour-fish",
        "Harbour Fish Bar",
        "Europe/London",
        "UK & Ireland",
        "kam.london@demo.brigade",
        ("11:30", "21:00"),
        Some(("11:30", "22:00")),
        25,
        20,
    ),
    (
        "camden-bao",
        "Camden Bao",
        "Europe/London",
        "UK & Ireland",
        "kam.london@demo.brigade",
        ("12:00", "23:00"),
        Some(("12:00", "23:30")),
        50,
        25,
    ),
    (
        "dublin-stew",
        "Liffey Stew House",
        "Europe/Dublin",
        "UK & Ireland",
        "kam.london@demo.brigade",
        ("12:00", "20:00"),
        None,
        2,
        8,
    ),
    (
        "lisbon-tasca",
        "Tasca do Bairro",
        "Europe/Lisbon",
        "Iberia",
        "kam.london@demo.brigade",
        ("19:00", "00:30"),
        Some(("13:00", "01:00")),
        15,
        15,
    ),
    (
        "soho-tacos",
        "Soho Tacos",
        "America/New_York",
        "US East",
        "kam.ny@demo.brigade",
        ("11:00", "23:00"),
        Some(("10:00", "23:59")),
        70,
        40,
    ),
    (
        "chicago-deep",
        "Windy City Deep Dish",
        "America/Chicago",
        "US Central",
        "kam.ny@demo.brigade",
        ("16:00", "23:00"),
        Some(("12:00", "23:00")),
        10,
        30,
    ),
    (
        "la-poke",
        "Venice Poke",
        "America/Los_Angeles",
        "US West",
        "kam.ny@demo.brigade",
        ("10:30", "20:30"),
        None,
        8,
        8,
    ),
    (
        "toronto-pho",
        "Pho Queen West",
        "America/Toronto",
        "Canada",
        "kam.ny@demo.brigade",
        ("11:00", "22:00"),
        Some(("11:00", "22:00")),
        0,
        12,
    ),
];

/// The CRM's demo: three KAMs in Kolkata, London and New York, each with restaurants (the four demo
/// venues plus twelve leads) in several zones, contacts, a history of interactions with follow-ups, half a
/// year of completed orders shaped to land in different tiers, and scores computed at once. Only when
/// no restaurant has been assigned yet.
async fn ensure_crm(state: &AppState) -> Result<usize, ApiError> {
    use crate::entities::{contacts, interactions, kam_assignments, order_status_events, orders};
    use chrono::Duration;
    if kam_assignments::Entity::find().count(&state.db).await? > 0 {
        return Ok(0);
    }
    let now = state.now();
    let kam = |email: &'static str| async move {
        users::Entity::find()
            .filter(users::Column::Email.eq(email))
            .one(&state.db)
            .await?
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("demo KAM {email} missing")))
    };
    let admin = kam("admin@demo.brigade").await?;
    // Working hours: Kiran 10:00–14:00 and 15:00–19:30 (a split day), Olivia 08:30–17:00, Jordan
    // 09:00–17:30, Monday to Friday, each in their own zone.
    for (email, region, shifts) in [
        (
            "kam@demo.brigade",
            "South Asia & US East",
            &[("10:00", "14:00"), ("15:00", "19:30")][..],
        ),
        (
            "kam.london@demo.brigade",
            "Europe",
            &[("08:30", "17:00")][..],
        ),
        (
            "kam.ny@demo.brigade",
            "North America",
            &[("09:00", "17:30")][..],
        ),
    ] {
        let user = kam(email).await?;
        let hours = (0..5u8)
            .flat_map(|d| {
                shifts
                    .iter()
                    .map(move |(o, c)| HoursInterval::parse(i64::from(d), o, c).expect("valid"))
            })
            .collect();
        crate::crm::routes::apply_profile(
            state,
            user,
            &crate::crm::routes::KamProfileInput {
                region: Some(region.into()),
                working_hours: Some(hours),
                ..Default::default()
            },
        )
        .await?;
    }
    let mut assigned = 0;
    let mut plan: Vec<(Uuid, &'static str, i64, i64, u64)> = Vec::new();
    for (external, email) in [
        ("demo-ember-oak", "kam.london@demo.brigade"),
        ("demo-midnight-noodle", "kam@demo.brigade"),
        ("demo-sakura-kitchen", "kam@demo.brigade"),
        ("demo-chai-point", "kam@demo.brigade"),
    ] {
        if let Some(id) = restaurant_id(state, external).await? {
            plan.push((id, email, 30, 20, plan.len() as u64));
        }
    }
    for (slug, name, zone, region, email, (opens, closes), weekend, recent, before) in CRM_LEADS {
        let external = format!("demo-crm-{slug}");
        let id = match restaurant_id(state, &external).await? {
            Some(id) => id,
            None => {
                let mut hours = every(&[0, 1, 2, 3, 4], opens, closes);
                if let Some((o, c)) = weekend {
                    hours.extend(every(&[5, 6], o, c));
                }
                create(
                    state,
                    &RestaurantInput {
                        name: Some(name.into()),
                        external_id: Some(external),
                        region: Some(region.into()),
                        timezone: Some(zone.into()),
                        status: Some(if recent == 0 {
                            RestaurantStatus::Inactive
                        } else if before == 0 {
                            RestaurantStatus::New
                        } else {
                            RestaurantStatus::Active
                        }),
                        currency: Some(
                            match zone {
                                "Asia/Kolkata" => "INR",
                                "Europe/London" => "GBP",
                                "Europe/Dublin" | "Europe/Lisbon" => "EUR",
                                "America/Toronto" => "CAD",
                                _ => "USD",
                            }
                            .into(),
                        ),
                        hours: Some(hours),
                        ..Default::default()
                    },
                )
                .await?
                .id
            }
        };
        plan.push((id, email, recent, before, plan.len() as u64));
    }
    let mut seed: u64 = 0x5eed_c0de;
    let mut rand = move |n: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % n.max(1)
    };
    const PEOPLE: [(&str, &str); 8] = [
        ("Priya Nair", "owner"),
        ("Tom Walsh", "manager"),
        ("Ana Costa", "owner"),
        ("Sam Okafor", "manager"),
        ("Mei Tanaka", "staff"),
        ("Luis Ortega", "staff"),
        ("Fatima Khan", "manager"),
        ("Noah Berg", "other"),
    ];
    let notes = [
        "Went through last month's order volume; happy with delivery times.",
        "Asked for help with photos for the new lunch menu.",
        "Complained about two late orders on Friday; promised to check with ops.",
        "Interested in the weekend promotion.",
        "Left a voicemail, will try again.",
        "Visited the kitchen; packaging upgrade agreed.",
    ];
    let guests = ensure_guests(state, GUESTS).await?;
    for (id, email, recent, before, i) in plan {
        let owner = kam(email).await?;
        crate::crm::reassign(
            state,
            admin.id,
            &[id],
            owner.id,
            Some("demo portfolio".into()),
        )
        .await?;
        assigned += 1;
        let restaurant = crate::restaurants::find(state, id).await?;
        let tz = crate::restaurants::zone_of(&restaurant);
        // Completed orders: `recent` a week over the last 90 days, `before` a week in the 90 before.
        let mut rows = Vec::new();
        let mut events = Vec::new();
        for (from_day, weekly) in [(0i64, recent), (90, before)] {
            let total = weekly * 90 / 7;
            for k in 0..total {
                let day = from_day + (k * 90) / total.max(1) + rand(2) as i64;
                let local_hour = [12, 13, 19, 20, 21][rand(5) as usize];
                let local = (now.with_timezone(&tz) - Duration::days(day))
                    .date_naive()
                    .and_hms_opt(local_hour, rand(60) as u32, 0)
                    .expect("valid time");
                let at = crate::restaurants::hours::local_to_utc(tz, local);
                if at > now {
                    continue;
                }
                let order_id = Uuid::now_v7();
                // A third are walk-ins; the rest come from the restaurant's 30 regulars, a few of them
                // much more often than the others. Two of the most frequent stopped coming 75 days ago
                // (the customer predictions list them at risk).
                let customer = if rand(3) == 0 || guests.is_empty() {
                    None
                } else {
                    let u = rand(10_000) as f64 / 10_000.0;
                    let k = (30.0 * u.powf(1.7)) as usize;
                    let churned = (k == 1 || k == 4) && day < 75;
                    (!churned).then(|| guests[(i as usize * 7 + k) % guests.len()])
                };
                rows.push(orders::ActiveModel {
                    id: Set(order_id),
                    restaurant_id: Set(id),
                    customer_id: Set(customer),
                    source: Set("import".into()),
                    order_type: Set("TAKEOUT".into()),
                    status: Set("COMPLETED".into()),
                    status_changed_at: Set(at),
                    total_minor: Set(1200 + rand(4800) as i64),
                    currency: Set(restaurant.currency.clone()),
                    payment_status: Set("PAID".into()),
                    payment_method: Set(Some("card".into())),
                    payment_reference: Set(None),
                    pickup_time: Set(None),
                    table_label: Set(None),
                    reservation_id: Set(None),
                    note: Set(None),
                    idempotency_key: Set(None),
                    idempotency_fingerprint: Set(None),
                    external_ref: Set(Some(format!("demo-crm-{order_id}"))),
                    created_at: Set(at),
                    updated_at: Set(at),
                });
                events.push(order_status_events::ActiveModel {
                    id: sea_orm::NotSet,
                    order_id: Set(order_id),
                    restaurant_id: Set(id),
                    from_status: Set(None),
                    to_status: Set("COMPLETED".into()),
                    raw_code: Set(None),
                    actor_kind: Set("system".into()),
                    actor_id: Set(None),
                    note: Set(Some("demo history".into())),
                    occurred_at: Set(at),
                    recorded_at: Set(now),
                });
            }
        }
        let txn = crate::database::begin_write(&state.db).await?;
        for chunk in rows.chunks(200) {
            orders::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        for chunk in events.chunks(200) {
            order_status_events::Entity::insert_many(chunk.to_vec())
                .exec_without_returning(&txn)
                .await?;
        }
        txn.commit().await?;
        // Two or three contacts, the first the lead.
        let mut first_contact = None;
        for c in 0..(2 + rand(2)) {
            let (name, role) = PEOPLE[((i * 3 + c) % 8) as usize];
            let contact = contacts::ActiveModel {
                id: Set(Uuid::now_v7()),
                restaurant_id: Set(id),
                name: Set(name.into()),
                phone: Set(format!("+44 20 7946 {:04}", i * 10 + c)),
                email: Set(Some(format!(
                    "{}@example.com",
                    name.to_lowercase().replace(' ', ".")
                ))),
                role: Set(role.into()),
                is_lead: Set(c == 0),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&state.db)
            .await?;
            first_contact.get_or_insert(contact.id);
        }
        // A few past interactions by the KAM; the last call decides the next one, so some are overdue.
        let days_ago = [40i64, 25, 12, 3 + (i as i64 % 9)];
        for (n, ago) in days_ago.iter().enumerate() {
            let kind = ["call", "email", "visit", "call"][n];
            let outcome = ["positive", "neutral", "positive", "negative"][(n + i as usize) % 4];
            let occurred = now - Duration::days(*ago) - Duration::hours(rand(6) as i64);
            let follow = (n == 3 && i % 3 == 0).then(|| {
                (now.with_timezone(&crate::crm::kam_zone(&owner)) - Duration::days(1)).date_naive()
            });
            let row = interactions::ActiveModel {
                id: Set(Uuid::now_v7()),
                restaurant_id: Set(id),
                user_id: Set(Some(owner.id)),
                contact_id: Set(first_contact),
                kind: Set(kind.into()),
                occurred_at: Set(occurred),
                notes: Set(notes[(n + i as usize) % notes.len()].into()),
                outcome: Set(outcome.into()),
                order_id: Set(None),
                follow_up_on: Set(follow),
                created_at: Set(occurred),
            }
            .insert(&state.db)
            .await?;
            crate::crm::after_interaction(&state.db, &row, crate::crm::kam_zone(&owner), now)
                .await?;
        }
    }
    crate::crm::jobs::score_all(state).await?;
    Ok(assigned)
}

/// Demo guests with QR ordering accounts (`guest01@demo.brigade`...), regulars of the CRM restaurants.
const GUESTS: usize = 48;

/// The demo guests' ids (created when missing), in the order of their e-mail addresses.
async fn ensure_guests(state: &AppState, n: usize) -> Result<Vec<Uuid>, ApiError> {
    const FIRST: [&str; 12] = [
        "Alex", "Bea", "Chen", "Dara", "Eli", "Farah", "Gus", "Hana", "Ivo", "Jade", "Kofi", "Lena",
    ];
    const LAST: [&str; 4] = ["Moreau", "Osei", "Patel", "Quinn"];
    let emails: Vec<String> = (1..=n)
        .map(|k| format!("guest{k:02}@demo.brigade"))
        .collect();
    let existing: Vec<(Uuid, String)> = users::Entity::find()
        .select_only()
        .columns([users::Column::Id, users::Column::Email])
        .filter(users::Column::Email.is_in(emails.clone()))
        .into_tuple()
        .all(&state.db)
        .await?;
    let mut ids: HashMap<String, Uuid> = existing.into_iter().map(|(id, e)| (e, id)).collect();
    if ids.len() < n {
        // One hash for all of them: hashing is deliberately slow.
        let password = crate::accounts::passwords::Password::parse(PASSWORD)
            .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
        let hash = crate::accounts::passwords::hash(&password).await?;
        let now = state.now();
        let mut rows = Vec::new();
        for (k, email) in emails.iter().enumerate() {
            if ids.contains_key(email) {
                continue;
            }
            let id = Uuid::now_v7();
            ids.insert(email.clone(), id);
            rows.push(users::ActiveModel {
                id: Set(id),
                email: Set(email.clone()),
                password_hash: Set(hash.clone()),
                first_name: Set(FIRST[k % FIRST.len()].into()),
                last_name: Set(LAST[(k / FIRST.len()) % LAST.len()].into()),
                phone: Set(None),
                role: Set("customer".into()),
                timezone: Set(None),
                is_active: Set(true),
                is_guest: Set(false),
                contact_email: Set(None),
                last_login_at: Set(None),
                created_at: Set(now),
                updated_at: Set(now),
            });
        }
        users::Entity::insert_many(rows)
            .exec_without_returning(&state.db)
            .await?;
    }
    Ok(emails.iter().filter_map(|e| ids.get(e).copied()).collect())
}

/// A week of delivery-channel orders for each demo restaurant with their status histories (most finished,
/// some cancelled, the last few still open), so the analytics page has something to show once the rollup
/// job has run (within a minute). Only when no demo channel order exists yet.
async fn ensure_channel_orders(state: &AppState) -> Result<usize, ApiError> {
    use crate::analytics::channel::{self, ValidOrder};
    use crate::entities::channel_orders;
    let existing = channel_orders::Entity::find()
        .filter(channel_orders::Column::ExternalId.starts_with("demo-"))
        .count(&state.db)
        .await?;
    if existing > 0 {
        return Ok(0);
    }
    let now = state.now();
    let mut batch = Vec::new();
    for (r, input) in demo_restaurants().iter().enumerate() {
        let brand = input.external_id.clone().unwrap_or_default();
        for n in 0..7 * 14_i64 {
            // About fourteen orders a day over the last week, spread over the day.
            let created = now - chrono::Duration::minutes(n * 103 + r as i64 * 17 + 30);
            let step =
                |k: i64| chrono::Duration::seconds(60 + (n * 37 + k * 53 + r as i64 * 29) % 540);
            let mut at = created;
            let mut history = vec![(10, at)];
            let path: &[i32] = match n % 13 {
                0 => &[20, 110],
                5 => &[110],
                _ => &[20, 50, 70, 90],
            };
            for (k, code) in path.iter().enumerate() {
                at += step(k as i64);
                if at > now {
                    break;
                }
                history.push((*code, at));
            }
            batch.push(ValidOrder {
                at: String::new(),
                external_id: format!("demo-{brand}-{n}"),
                created,
                account: "demo-channel".into(),
                brand_id: brand.clone(),
                channel_order_id: Some(format!("DEMO{r}{n:04}")),
                customer: Some((None, format!("+4477009{:05}", (n * 7 + r as i64) % 60))),
                delivery_address: None,
                pickup_time: None,
                items: vec![("Demo meal".into(), None, 1 + (n % 3) as i32)],
                status: history.last().map(|h| h.0).unwrap_or(10),
                history,
            });
        }
    }
    let outcome = channel::ingest(state, batch).await?;
    Ok(outcome.created)
}

/// A week of hourly status polls for the demo restaurants (with a few short outages), so the monitoring
/// pages and reports have something to show. Only when none of them has polls yet.
async fn ensure_polls(state: &AppState, restaurants: &[Uuid]) -> Result<u64, ApiError> {
    use crate::entities::store_poll_days;
    use crate::monitoring::timeline::{HOUR, MINUTE, Poll};
    let existing = store_poll_days::Entity::find()
        .filter(store_poll_days::Column::RestaurantId.is_in(restaurants.iter().copied()))
        .count(&state.db)
        .await?;
    if existing > 0 {
        return Ok(0);
    }
    let now = state.now().timestamp_micros();
    let mut polls = Vec::new();
    for (i, id) in restaurants.iter().enumerate() {
        let i = i as i64;
        for hour in 0..7 * 24 {
            // Hour-aligned polls a few minutes past, each store a little apart; an outage of two or three
            // polls now and then, different for each store.
            let at = now - hour * HOUR - (7 + 11 * i) * MINUTE;
            let inactive = (hour + 17 * i) % 41 < 2 || (hour + 5 * i) % 97 == 0;
            polls.push((*id, Poll::new(at, inactive)));
        }
    }
    let stats = crate::monitoring::polls::store(state, &polls, &|_, _| {}).await?;
    Ok(stats.stored)
}

/// Stations for a demo venue (one per menu category, the first the default) with two weeks of finished
/// ticket history (lunch and dinner services, slower at the rush and when a station is busy) and a few
/// tickets open now, so the kitchen display and the prep-time model have something to show. Skipped
/// when the venue has stations already. Returns the lines made.
async fn ensure_kitchen(
    state: &AppState,
    venue_id: Uuid,
    external: &str,
) -> Result<usize, ApiError> {
    use crate::entities::{
        menu_categories, menu_items, order_items, order_status_events, orders, station_routes,
        stations, ticket_events, ticket_lines,
    };
    use chrono::Duration;
    use sea_orm::QueryOrder;
    if demo_menu(external).is_empty()
        || stations::Entity::find()
            .filter(stations::Column::RestaurantId.eq(venue_id))
            .count(&state.db)
            .await?
            > 0
    {
        return Ok(0);
    }
    let venue = crate::restaurants::find(state, venue_id).await?;
    let tz = crate::restaurants::zone_of(&venue);
    let now = state.now();
    let manager = users::Entity::find()
        .filter(users::Column::Email.eq("manager@demo.brigade"))
        .one(&state.db)
        .await?
        .map(|u| u.id);
    let categories = menu_categories::Entity::find()
        .filter(menu_categories::Column::RestaurantId.eq(venue_id))
        .order_by_asc(menu_categories::Column::DisplayOrder)
        .all(&state.db)
        .await?;
    let items = menu_items::Entity::find()
        .filter(menu_items::Column::RestaurantId.eq(venue_id))
        .all(&state.db)
        .await?;
    let kind_of = |name: &str| {
        let n = name.to_lowercase();
        if n.contains("grill") || n.contains("izakaya") {
            "grill"
        } else if n.contains("dessert") || n.contains("small plates") {
            "cold"
        } else if n.contains("chai") || n.contains("drink") {
            "bar"
        } else if n.contains("side") || n.contains("snack") {
            "fry"
        } else {
            "hot"
        }
    };
    let mut station_of_category = HashMap::new();
    let mut station_rows = Vec::new();
    for (i, c) in categories.iter().enumerate() {
        let minutes: Vec<i32> = items
            .iter()
            .filter(|it| it.category_id == c.id)
            .filter_map(|it| it.preparation_minutes)
            .collect();
        let typical = minutes.iter().copied().max().unwrap_or(8);
        let station = stations::ActiveModel {
            id: Set(Uuid::now_v7()),
            restaurant_id: Set(venue_id),
            name: Set(c.name.chars().take(60).collect()),
            kind: Set(kind_of(&c.name).into()),
            display_order: Set(i as i32),
            target_minutes: Set(typical + 4),
            is_default: Set(i == 0),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&state.db)
        .await?;
        station_routes::ActiveModel {
            id: Set(Uuid::now_v7()),
            restaurant_id: Set(venue_id),
            station_id: Set(station.id),
            category_id: Set(Some(c.id)),
            menu_item_id: Set(None),
            created_at: Set(now),
        }
        .insert(&state.db)
        .await?;
        station_of_category.insert(c.id, station.clone());
        station_rows.push(station);
    }
    if items.is_empty() {
        return Ok(0);
    }
    let mut seed: u64 = 0xc0ff_ee00 ^ (venue_id.as_u128() as u64);
    let mut rand = move |n: u64| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % n.max(1)
    };
    let mut orders_rows = Vec::new();
    let mut item_rows = Vec::new();
    let mut event_rows = Vec::new();
    let mut line_rows = Vec::new();
    let mut line_events = Vec::new();
    // Lines in progress per station: when each will be ready.
    let mut busy: HashMap<Uuid, Vec<chrono::DateTime<chrono::Utc>>> = HashMap::new();
    for day in (1..=14i64).rev() {
        let date = (now.with_timezone(&tz) - Duration::days(day)).date_naive();
        for hour in [11u32, 12, 13, 14, 18, 19, 20, 21] {
            let rush = matches!(hour, 12 | 13 | 19 | 20);
            let count = if rush { 5 + rand(3) } else { 2 + rand(2) };
            for k in 0..count {
                let minute = (k * 60 / count + rand(60 / count)) as u32;
                let local = date
                    .and_hms_opt(hour, minute.min(59), 0)
                    .expect("valid time");
                let placed = crate::restaurants::hours::local_to_utc(tz, local);
                let queued = placed + Duration::seconds(60 + rand(120) as i64);
                let order_id = Uuid::now_v7();
                let mut total = 0i64;
                for _ in 0..(1 + rand(3)) {
                    let item = &items[rand(items.len() as u64) as usize];
                    let quantity = 1 + rand(2) as i32;
                    total += item.price_minor * quantity as i64;
                    let item_id = Uuid::now_v7();
                    item_rows.push(order_items::ActiveModel {
                        id: Set(item_id),
                        order_id: Set(order_id),
                        menu_item_id: Set(Some(item.id)),
                        name: Set(item.name.clone()),
                        plu: Set(None),
                        unit_price_minor: Set(item.price_minor),
                        quantity: Set(quantity),
                        subtotal_minor: Set(item.price_minor * quantity as i64),
                        special_request: Set(None),
                    });
                    let Some(station) = station_of_category.get(&item.category_id) else {
                        continue;
                    };
                    let open = busy.entry(station.id).or_default();
                    open.retain(|ready| *ready > queued);
                    let depth = open.len() as i32;
                    // Box-Muller: a normal draw for the multiplicative noise.
                    let (u1, u2) = (
                        (rand(10_000) as f64 + 1.0) / 10_001.0,
                        rand(10_000) as f64 / 10_000.0,
                    );
                    let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                    let base = item.preparation_minutes.unwrap_or(8).max(1) as f64 * 60.0;
                    let seconds = base
                        * (1.0 + 0.06 * depth as f64)
                        * if rush { 1.25 } else { 1.0 }
                        * (0.22 * normal).exp();
                    let ready = queued + Duration::seconds(seconds.round() as i64);
                    open.push(ready);
                    let line_id = Uuid::now_v7();
                    line_rows.push(ticket_lines::ActiveModel {
                        id: Set(line_id),
                        restaurant_id: Set(venue_id),
                        order_id: Set(order_id),
                        station_id: Set(Some(station.id)),
                        station_name: Set(station.name.clone()),
                        menu_item_id: Set(Some(item.id)),
                        order_item_id: Set(Some(item_id)),
                        name: Set(item.name.clone()),
                        quantity: Set(quantity),
                        note: Set(None),
                        state: Set("ready".into()),
                        queued_at: Set(queued),
                        started_at: Set(Some(queued + Duration::seconds(rand(90) as i64))),
                        ready_at: Set(Some(ready)),
                        bumped_by: Set(manager),
                        recalls: Set(0),
                        voided_at: Set(None),
                        void_reason: Set(None),
                        queue_depth: Set(depth),
                    });
                    for (kind, at) in [("queued", queued), ("ready", ready)] {
                        line_events.push(ticket_events::ActiveModel {
                            id: sea_orm::NotSet,
                            line_id: Set(line_id),
                            order_id: Set(order_id),
                            kind: Set(kind.into()),
                            actor_id: Set(if kind == "ready" { manager } else { None }),
                            note: Set(Some("demo history".into())),
                            occurred_at: Set(at),
                        });
                    }
                }
                let done = queued + Duration::minutes(25);
                orders_rows.push(orders::ActiveModel {
                    id: Set(order_id),
                    restaurant_id: Set(venue_id),
                    customer_id: Set(None),
                    source: Set("qr".into()),
                    order_type: Set("DINE_IN".into()),
                    status: Set("COMPLETED".into()),
                    status_changed_at: Set(done),
                    total_minor: Set(total),
                    currency: Set(venue.currency.clone()),
                    payment_status: Set("PAID".into()),
                    payment_method: Set(Some("CARD".into())),
                    payment_reference: Set(None),
                    pickup_time: Set(None),
                    table_label: Set(Some(format!("T{}", 1 + rand(12)))),
                    reservation_id: Set(None),
                    note: Set(None),
                    idempotency_key: Set(None),
                    idempotency_fingerprint: Set(None),
                    external_ref: Set(Some(format!("demo-kitchen-{order_id}"))),
                    created_at: Set(placed),
                    updated_at: Set(done),
                });
                for (from, to, at) in [
                    (None, "PENDING", placed),
                    (Some("PENDING"), "CONFIRMED", queued),
                    (Some("CONFIRMED"), "COMPLETED", done),
                ] {
                    event_rows.push(order_status_events::ActiveModel {
                        id: sea_orm::NotSet,
                        order_id: Set(order_id),
                        restaurant_id: Set(venue_id),
                        from_status: Set(from.map(str::to_string)),
                        to_status: Set(to.into()),
                        raw_code: Set(None),
                        actor_kind: Set("system".into()),
                        actor_id: Set(None),
                        note: Set(Some("demo kitchen history".into())),
                        occurred_at: Set(at),
                        recorded_at: Set(now),
                    });
                }
            }
        }
    }
    let made = line_rows.len();
    let txn = crate::database::begin_write(&state.db).await?;
    for chunk in orders_rows.chunks(200) {
        orders::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    for chunk in item_rows.chunks(200) {
        order_items::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    for chunk in event_rows.chunks(200) {
        order_status_events::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    for chunk in line_rows.chunks(200) {
        ticket_lines::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    for chunk in line_events.chunks(200) {
        ticket_events::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(&txn)
            .await?;
    }
    // Three tickets on the pass now: confirmed a few minutes ago, their lines still to make.
    for (t, minutes_ago) in [(1, 11i64), (4, 6), (7, 2)] {
        let placed = now - Duration::minutes(minutes_ago + 1);
        let order = orders::ActiveModel {
            id: Set(Uuid::now_v7()),
            restaurant_id: Set(venue_id),
            customer_id: Set(None),
            source: Set("qr".into()),
            order_type: Set("DINE_IN".into()),
            status: Set("CONFIRMED".into()),
            status_changed_at: Set(now - Duration::minutes(minutes_ago)),
            total_minor: Set(0),
            currency: Set(venue.currency.clone()),
            payment_status: Set("PENDING".into()),
            payment_method: Set(Some("CASH".into())),
            payment_reference: Set(None),
            pickup_time: Set(None),
            table_label: Set(Some(format!("T{t}"))),
            reservation_id: Set(None),
            note: Set(None),
            idempotency_key: Set(None),
            idempotency_fingerprint: Set(None),
            external_ref: Set(None),
            created_at: Set(placed),
            updated_at: Set(placed),
        }
        .insert(&txn)
        .await?;
        let mut rows = Vec::new();
        let mut total = 0;
        for j in 0..2u64 {
            let item = &items[((t as u64) * 3 + j) as usize % items.len()];
            total += item.price_minor;
            rows.push(
                order_items::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    order_id: Set(order.id),
                    menu_item_id: Set(Some(item.id)),
                    name: Set(item.name.clone()),
                    plu: Set(None),
                    unit_price_minor: Set(item.price_minor),
                    quantity: Set(1),
                    subtotal_minor: Set(item.price_minor),
                    special_request: Set((j == 1).then(|| "no nuts".to_string())),
                }
                .insert(&txn)
                .await?,
            );
        }
        orders::Entity::update_many()
            .col_expr(
                orders::Column::TotalMinor,
                sea_orm::sea_query::Expr::value(total),
            )
            .filter(orders::Column::Id.eq(order.id))
            .exec(&txn)
            .await?;
        for (from, to, at) in [
            (None, "PENDING", placed),
            (Some("PENDING"), "CONFIRMED", order.status_changed_at),
        ] {
            order_status_events::ActiveModel {
                id: sea_orm::NotSet,
                order_id: Set(order.id),
                restaurant_id: Set(venue_id),
                from_status: Set(from.map(str::to_string)),
                to_status: Set(to.into()),
                raw_code: Set(None),
                actor_kind: Set("venue".into()),
                actor_id: Set(manager),
                note: Set(None),
                occurred_at: Set(at),
                recorded_at: Set(now),
            }
            .insert(&txn)
            .await?;
        }
        crate::kitchen::queue_lines(&txn, &order, &rows, order.status_changed_at).await?;
    }
    txn.commit().await?;
    Ok(made)
}
