//! Opening the database chosen by URL: embedded SQLite (WAL, foreign keys, busy timeout) or PostgreSQL.

use std::time::Duration;

use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of(url: &str) -> Backend {
        if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }
}

/// What a pool does beyond Brigade's defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tuning {
    /// Log every statement slower than this as a warning, with its SQL text.
    pub slow_statements: Option<Duration>,
    /// SQLite: commits never copy the write-ahead log into the database file (`wal_autocheckpoint=0`);
    /// the caller runs [`checkpoint`] itself, off the commit path. Left at SQLite's default, the commit
    /// that fills the log past 1,000 pages does it, with the write lock held (up to 30 ms under load).
    pub checkpoint_by_caller: bool,
}

/// Connect with Brigade's pool settings. For SQLite the parent directory of the file is created.
pub async fn connect(url: &str, max_connections: u32) -> Result<DatabaseConnection, DbErr> {
    connect_with(url, max_connections, Tuning::default()).await
}

/// Copy what the write-ahead log holds into the SQLite database file, without waiting for readers or
/// writers (`PASSIVE`); does nothing on PostgreSQL.
pub async fn checkpoint(db: &DatabaseConnection) -> Result<(), DbErr> {
    use sea_orm::ConnectionTrait;
    if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        db.execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)")
            .await?;
    }
    Ok(())
}

/// [`connect`] with [`Tuning`].
pub async fn connect_with(
    url: &str,
    max_connections: u32,
    tuning: Tuning,
) -> Result<DatabaseConnection, DbErr> {
    if Backend::of(url) == Backend::Sqlite {
        route_sqlite_allocations();
    }
    let mut options = ConnectOptions::new(url.to_string());
    options
        .max_connections(max_connections.max(1))
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    if let Some(slow) = tuning.slow_statements {
        options
            .sqlx_logging(true)
            .sqlx_logging_level(log::LevelFilter::Off)
            .sqlx_slow_statements_logging_settings(log::LevelFilter::Warn, slow);
    }
    if Backend::of(url) == Backend::Postgres {
        // A connection is pinged before it is handed out only once it has been idle for a while (the
        // server, a proxy or a firewall may have dropped it): a ping on every checkout was one more
        // round trip per query outside a transaction.
        options.test_before_acquire_if_idle_for(Duration::from_secs(10));
    } else {
        // No ping before a pooled connection is handed out: an SQLite connection is a file handle in
        // this process and cannot be dropped by anyone else, and each ping was a round trip through
        // the connection's worker thread.
        options.test_before_acquire(false);
        let parent = sqlite_path(url)
            .and_then(|p| std::path::Path::new(&p).parent().map(|d| d.to_path_buf()));
        if let Some(parent) = parent.filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(&parent)
                .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", parent.display())))?;
        }
        options.map_sqlx_sqlite_opts(move |opts| {
            opts.create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
                // Rows travel from SQLite's thread to the caller through this buffer; sqlx's 50 made
                // reading 28,000 rows a ping-pong of thread wake-ups (370 ms, 30 ms in SQLite itself).
                .row_buffer_size(4096)
                // A 16 MiB page cache per connection, and no memory map. Each pooled connection keeps
                // its own cache and its own map of the file, and a page mapped by ten connections counts
                // ten times in the process's resident memory: 64 MiB caches and 256 MiB maps held the
                // server at about 1 GB under analytics reads (BENCHMARKS.md, issue 22). Pages the
                // caches do not hold come from the kernel's page cache, which is shared.
                .pragma("cache_size", "-16384")
                .pragma("temp_store", "memory")
                .pragma(
                    "wal_autocheckpoint",
                    if tuning.checkpoint_by_caller {
                        "0"
                    } else {
                        "1000"
                    },
                )
        });
    }
    Database::connect(options).await
}

/// Have SQLite allocate through Rust's global allocator (mimalloc in the `brigade` binary) instead of
/// the C library's `malloc`. Called before the process first opens an SQLite database; once SQLite has
/// started, it keeps the allocator it started with, and this does nothing.
///
/// Each pooled connection runs on a thread of its own, and glibc gives each thread an arena of its own
/// that keeps what was freed in it: SQLite's page caches, statements and the copies of every row's
/// values (made on a connection's thread, freed on the caller's). Through mimalloc, the server's
/// resident memory after the channel benchmark's rows fell from 322-406 to 175-258 MiB, with reads the
/// same or faster; a single glibc arena (`MALLOC_ARENA_MAX=1`) used less memory still but made reads
/// two to four times slower on its lock (BENCHMARKS.md, issue 22).
pub fn route_sqlite_allocations() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let methods = libsqlite3_sys::sqlite3_mem_methods {
            xMalloc: Some(sqlite_alloc::malloc),
            xFree: Some(sqlite_alloc::free),
            xRealloc: Some(sqlite_alloc::realloc),
            xSize: Some(sqlite_alloc::size),
            xRoundup: Some(sqlite_alloc::roundup),
            xInit: Some(sqlite_alloc::init),
            xShutdown: Some(sqlite_alloc::shutdown),
            pAppData: std::ptr::null_mut(),
        };
        // SAFETY: SQLite copies the structure before returning, and refuses (SQLITE_MISUSE) once it
        // has been initialised, so no allocation made by another allocator is ever freed by these.
        let rc = unsafe {
            libsqlite3_sys::sqlite3_config(
                libsqlite3_sys::SQLITE_CONFIG_MALLOC,
                &methods as *const libsqlite3_sys::sqlite3_mem_methods,
            )
        };
        if rc != libsqlite3_sys::SQLITE_OK {
            tracing::debug!(rc, "SQLite had started already: it keeps the C allocator");
        }
    });
}

/// SQLite's `sqlite3_mem_methods` over `std::alloc`. SQLite asks for the size of an allocation when it
/// frees or resizes it, which Rust's allocator interface needs as well: each block starts with its size.
mod sqlite_alloc {
    use std::alloc::Layout;
    use std::ffi::{c_int, c_void};

    /// The size header; also the alignment of every block, which is what SQLite requires (8 bytes).
    const HEADER: usize = 8;

    fn layout(size: usize) -> Option<Layout> {
        Layout::from_size_align(size.checked_add(HEADER)?, HEADER).ok()
    }

    pub unsafe extern "C" fn malloc(size: c_int) -> *mut c_void {
        let Some(layout) = usize::try_from(size).ok().and_then(layout) else {
            return std::ptr::null_mut();
        };
        // SAFETY: the layout is never zero-sized (it holds the header); the header is written inside
        // the block and the caller gets the bytes after it.
        unsafe {
            let block = std::alloc::alloc(layout);
            if block.is_null() {
                return block.cast();
            }
            block.cast::<usize>().write(layout.size() - HEADER);
            block.add(HEADER).cast()
        }
    }

    pub unsafe extern "C" fn free(ptr: *mut c_void) {
        if ptr.is_null() {
            return;
        }
        // SAFETY: `ptr` came from `malloc` or `realloc` above, so its header is just before it and the
        // layout it was allocated with is the header's size plus the header.
        unsafe {
            let block = ptr.cast::<u8>().sub(HEADER);
            let size = block.cast::<usize>().read();
            std::alloc::dealloc(
                block,
                Layout::from_size_align_unchecked(size + HEADER, HEADER),
            );
        }
    }

    pub unsafe extern "C" fn realloc(ptr: *mut c_void, size: c_int) -> *mut c_void {
        if ptr.is_null() {
            // SAFETY: as `malloc`.
            return unsafe { malloc(size) };
        }
        let Some(new) = usize::try_from(size).ok().and_then(layout) else {
            return std::ptr::null_mut();
        };
        // SAFETY: as `free` for the old block; `std::alloc::realloc` keeps the alignment and the
        // header's bytes, which are rewritten with the new size.
        unsafe {
            let block = ptr.cast::<u8>().sub(HEADER);
            let old = block.cast::<usize>().read();
            let moved = std::alloc::realloc(
                block,
                Layout::from_size_align_unchecked(old + HEADER, HEADER),
                new.size(),
            );
            if moved.is_null() {
                return moved.cast();
            }
            moved.cast::<usize>().write(new.size() - HEADER);
            moved.add(HEADER).cast()
        }
    }

    pub unsafe extern "C" fn size(ptr: *mut c_void) -> c_int {
        if ptr.is_null() {
            return 0;
        }
        // SAFETY: as `free`.
        let size = unsafe { ptr.cast::<u8>().sub(HEADER).cast::<usize>().read() };
        c_int::try_from(size).unwrap_or(c_int::MAX)
    }

    pub unsafe extern "C" fn roundup(size: c_int) -> c_int {
        size.saturating_add(7) & !7
    }

    pub unsafe extern "C" fn init(_: *mut c_void) -> c_int {
        libsqlite3_sys::SQLITE_OK
    }

    pub unsafe extern "C" fn shutdown(_: *mut c_void) {}
}

fn sqlite_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        None
    } else {
        Some(path.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_blocks_keep_their_size_and_contents() {
        use sqlite_alloc::{free, malloc, realloc, roundup, size};
        unsafe {
            let p = malloc(10).cast::<u8>();
            assert!(!p.is_null());
            assert_eq!(p as usize % 8, 0, "SQLite needs 8-byte alignment");
            assert_eq!(size(p.cast()), 10);
            p.copy_from_nonoverlapping(b"0123456789".as_ptr(), 10);
            let q = realloc(p.cast(), 100_000).cast::<u8>();
            assert_eq!(size(q.cast()), 100_000);
            assert_eq!(std::slice::from_raw_parts(q, 10), b"0123456789");
            let r = realloc(q.cast(), 4).cast::<u8>();
            assert_eq!(size(r.cast()), 4);
            assert_eq!(std::slice::from_raw_parts(r, 4), b"0123");
            free(r.cast());
            free(std::ptr::null_mut());
            assert_eq!(size(std::ptr::null_mut()), 0);
            assert!(malloc(-1).is_null());
            let s = realloc(std::ptr::null_mut(), 3);
            assert_eq!(size(s), 3);
            free(s);
            assert_eq!(roundup(13), 16);
            assert_eq!(roundup(16), 16);
        }
    }

    #[test]
    fn sqlite_paths() {
        assert_eq!(
            sqlite_path("sqlite://./data/brigade.db?mode=rwc").as_deref(),
            Some("./data/brigade.db")
        );
        assert_eq!(sqlite_path("sqlite::memory:"), None);
        assert_eq!(Backend::of("postgres://x"), Backend::Postgres);
    }
}
