//! SQLite as the platform opens it allocates through Rust's allocator. A test binary of its own, with a
//! counting allocator, so that nothing else in the process starts SQLite before the first connection.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};

use brigade_platform::db;
use sea_orm::sqlx;

/// Bytes asked of Rust's allocator so far.
static ALLOCATED: AtomicU64 = AtomicU64::new(0);

struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATED.fetch_add(layout.size() as u64, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATED.fetch_add(
            new_size.saturating_sub(layout.size()) as u64,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

async fn write_rows(pool: &sqlx::SqlitePool, rows: usize) {
    for _ in 0..rows / 50 {
        let mut conn = pool.acquire().await.unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut *conn)
            .await
            .unwrap();
        for _ in 0..50 {
            sqlx::query("INSERT INTO t (body) VALUES (randomblob(3000))")
                .execute(&mut *conn)
                .await
                .unwrap();
        }
        sqlx::query("COMMIT").execute(&mut *conn).await.unwrap();
    }
}

async fn one(conn: &mut sqlx::SqliteConnection, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(conn).await.unwrap()
}

#[tokio::test]
async fn sqlite_allocates_through_rusts_allocator() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let db = db::connect(&url, 3).await.unwrap();
    let pool = db.get_sqlite_connection_pool();

    // A 10 MB value made and dropped inside SQLite is allocated through Rust's allocator.
    let before = ALLOCATED.load(Ordering::Relaxed);
    let n: i64 = sqlx::query_scalar("SELECT length(randomblob(10000000))")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(n, 10_000_000);
    let through_rust = ALLOCATED.load(Ordering::Relaxed) - before;
    assert!(through_rust >= 10_000_000, "{through_rust} bytes");

    // Ordinary work (pages cached, grown and freed across the pool's threads) goes on as usual.
    sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)")
        .execute(pool)
        .await
        .unwrap();
    write_rows(pool, 400).await;
    let mut all = Vec::new();
    for _ in 0..3 {
        all.push(pool.acquire().await.unwrap());
    }
    for conn in &mut all {
        assert_eq!(one(conn, "SELECT count(*) FROM t").await, 400);
        assert_eq!(
            one(conn, "SELECT sum(length(body)) FROM t").await,
            1_200_000
        );
    }
}
