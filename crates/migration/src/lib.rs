//! Brigade's schema history. One portable schema: every migration here runs unchanged on SQLite and
//! PostgreSQL, so there is never a second dialect to keep in step. The one exception is a search index
//! (000010): each database gets its own substring index over the same `restaurants` table.

pub use sea_orm_migration::prelude::*;

mod helpers;
mod m20261124_000001_foundation;
mod m20261124_000002_menus;
mod m20261124_000003_orders;
mod m20261124_000004_reservations;
mod m20261124_000005_venues;
mod m20261124_000006_monitoring;
mod m20261124_000007_channel_orders;
mod m20261124_000008_customer_totals;
mod m20261125_000009_crm;
mod m20261125_000010_restaurant_search;
mod m20261205_000011_rollup_reads;
mod m20261206_000012_hardening;
mod m20261206_000013_forecasting;
mod m20261206_000014_kitchen;
mod m20261206_000015_workspace;
mod m20261206_000016_inventory;
mod m20261206_000017_purchasing;
mod m20261207_000018_stock_settings;
mod m20261207_000019_throughput_reads;
mod m20261208_000020_status_labels;
mod m20261208_000021_fleet;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_foundation::Migration),
            Box::new(m20261124_000002_menus::Migration),
            Box::new(m20261124_000003_orders::Migration),
            Box::new(m20261124_000004_reservations::Migration),
            Box::new(m20261124_000005_venues::Migration),
            Box::new(m20261124_000006_monitoring::Migration),
            Box::new(m20261124_000007_channel_orders::Migration),
            Box::new(m20261124_000008_customer_totals::Migration),
            Box::new(m20261125_000009_crm::Migration),
            Box::new(m20261125_000010_restaurant_search::Migration),
            Box::new(m20261205_000011_rollup_reads::Migration),
            Box::new(m20261206_000012_hardening::Migration),
            Box::new(m20261206_000013_forecasting::Migration),
            Box::new(m20261206_000014_kitchen::Migration),
            Box::new(m20261206_000015_workspace::Migration),
            Box::new(m20261206_000016_inventory::Migration),
            Box::new(m20261206_000017_purchasing::Migration),
            Box::new(m20261207_000018_stock_settings::Migration),
            Box::new(m20261207_000019_throughput_reads::Migration),
            Box::new(m20261208_000020_status_labels::Migration),
            Box::new(m20261208_000021_fleet::Migration),
        ]
    }
}
