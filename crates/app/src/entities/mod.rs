//! SeaORM entity structs, one file per table, kept apart from the behaviour around them (which lives in
//! the domain modules).

pub mod analytics_watermarks;
pub mod api_keys;
pub mod channel_accounts;
pub mod channel_orders;
pub mod customer_order_stats;
pub mod customer_order_totals;
pub mod customers;
pub mod mail_outbox;
pub mod menu_categories;
pub mod menu_items;
pub mod monitoring_reports;
pub mod notifications;
pub mod order_items;
pub mod order_status_events;
pub mod order_status_rollups;
pub mod order_throughput_rollups;
pub mod orders;
pub mod password_resets;
pub mod qr_codes;
pub mod refresh_tokens;
pub mod reservation_capacity;
pub mod reservations;
pub mod restaurant_hours;
pub mod restaurant_members;
pub mod restaurants;
pub mod status_code_mappings;
pub mod stocked_venues;
pub mod store_poll_days;
pub mod time_slots;
pub mod users;
pub mod web_sessions;
