//! Substring search over restaurants' names and addresses without reading every restaurant.
//!
//! The one place where each database gets its own kind of index (the tables the application reads are
//! the same on both): PostgreSQL indexes `lower(name)` and `lower(address)` with trigram GIN indexes
//! (`pg_trgm`, shipped with PostgreSQL), which its planner uses for `lower(..) LIKE '%..%'`; SQLite keeps a
//! trigram FTS5 table, `restaurant_search`, in step with `restaurants` by triggers (its rowid is the
//! restaurant's rowid) and searched with `MATCH`. Where `pg_trgm` is not installed the PostgreSQL indexes
//! are skipped and searches scan, as before this migration.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

const SQLITE_UP: &[&str] = &[
    "CREATE VIRTUAL TABLE restaurant_search USING fts5(name, address, tokenize = 'trigram')",
    "INSERT INTO restaurant_search (rowid, name, address) SELECT rowid, name, address FROM restaurants",
    "CREATE TRIGGER restaurants_search_insert AFTER INSERT ON restaurants BEGIN \
       INSERT INTO restaurant_search (rowid, name, address) VALUES (new.rowid, new.name, new.address); \
     END",
    "CREATE TRIGGER restaurants_search_update AFTER UPDATE OF name, address ON restaurants BEGIN \
       UPDATE restaurant_search SET name = new.name, address = new.address WHERE rowid = old.rowid; \
     END",
    "CREATE TRIGGER restaurants_search_delete AFTER DELETE ON restaurants BEGIN \
       DELETE FROM restaurant_search WHERE rowid = old.rowid; \
     END",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER IF EXISTS restaurants_search_insert",
    "DROP TRIGGER IF EXISTS restaurants_search_update",
    "DROP TRIGGER IF EXISTS restaurants_search_delete",
    "DROP TABLE IF EXISTS restaurant_search",
];

const POSTGRES_UP: &[&str] = &[
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX idx_restaurants_name_trgm ON restaurants USING gin (lower(name) gin_trgm_ops)",
    "CREATE INDEX idx_restaurants_address_trgm ON restaurants USING gin (lower(address) gin_trgm_ops)",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP INDEX IF EXISTS idx_restaurants_name_trgm",
    "DROP INDEX IF EXISTS idx_restaurants_address_trgm",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let statements = match db.get_database_backend() {
            DbBackend::Sqlite => SQLITE_UP,
            DbBackend::Postgres => {
                let available = db
                    .query_one_raw(Statement::from_string(
                        DbBackend::Postgres,
                        "SELECT 1 AS found FROM pg_available_extensions WHERE name = 'pg_trgm'",
                    ))
                    .await?
                    .is_some();
                if !available {
                    return Ok(());
                }
                POSTGRES_UP
            }
            _ => return Ok(()),
        };
        for sql in statements {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let statements = match db.get_database_backend() {
            DbBackend::Sqlite => SQLITE_DOWN,
            DbBackend::Postgres => POSTGRES_DOWN,
            _ => return Ok(()),
        };
        for sql in statements {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }
}
