//! One spelling for order states: the demo's imported history wrote `completed`, `takeout` and `paid`
//! where every other writer (the status machine, channel ingest, history import) writes the upper-case
//! names, so analytics listed `COMPLETED` and `completed` as two statuses. Stored rows take the upper-case
//! spelling; rollups already computed are merged by name when read.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const COLUMNS: [(&str, &str); 5] = [
    ("orders", "status"),
    ("orders", "order_type"),
    ("orders", "payment_status"),
    ("order_status_events", "to_status"),
    ("order_status_events", "from_status"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        for (table, column) in COLUMNS {
            db.execute_unprepared(&format!(
                "UPDATE {table} SET {column} = UPPER({column}) \
                 WHERE {column} IS NOT NULL AND {column} <> UPPER({column})"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        // The lower-case spellings were a mistake; there is nothing to restore.
        Ok(())
    }
}
