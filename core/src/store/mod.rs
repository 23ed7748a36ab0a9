//! The local SQLite mirror: one table per profile table (typed columns, key,
//! ETag, generation), the sync state of each table, reads for the app and
//! watches. WAL; one writer connection behind a mutex; `query_only` readers
//! that never block it. Knows nothing of the network.

mod checkpoint;
mod migrate;
mod outbox;
mod query;
mod state;
mod watch;
mod write;

pub use migrate::Migration;
pub(crate) use outbox::cell as cell_of;
pub use outbox::{Ack, Entry, LocalWrite, Op, SyncErrorRecord};
pub use query::{Filter, Query, Row, Sort};
pub use state::{Phase, TableState};
pub use watch::WatchHandle;
pub use write::WriteStats;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use rusqlite::{Connection, OpenFlags};

use crate::error::{Error, Result};

/// Columns Mooring adds to every mirror table.
pub(crate) const META_COLUMNS: [&str; 3] = ["_etag", "_gen", "_pending"];

/// The mirror. Cheap to clone (shared inside).
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// Mirror table → its key and columns (as in SQLite), for query checks.
    tables: RwLock<HashMap<String, TableColumns>>,
    watches: watch::Registry,
    checkpointer: checkpoint::Checkpointer,
}

#[derive(Clone, Debug)]
pub(crate) struct TableColumns {
    pub key: String,
    pub columns: Vec<String>,
}

/// Quotes an identifier for SQL. Identifiers only ever come from the
/// validated profile or the mirror's own catalog, never from app input.
pub(crate) fn q(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

impl Store {
    /// Opens (or creates) the mirror at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        let path = path.as_ref().to_path_buf();
        let writer = Connection::open(&path)?;
        // 8 KiB pages: ~20% faster bulk inserts of Dataverse-sized rows than
        // 4 KiB (docs/benchmarks.md). Only takes effect on a new file.
        writer.pragma_update(None, "page_size", 8192)?;
        // WAL + NORMAL: a commit survives a killed process (the kill test);
        // only a power cut may lose the last commits, never consistency.
        writer.pragma_update(None, "journal_mode", "WAL")?;
        writer.pragma_update(None, "synchronous", "NORMAL")?;
        writer.pragma_update(None, "foreign_keys", "ON")?;
        writer.pragma_update(None, "temp_store", 2)?;
        writer.pragma_update(None, "cache_size", -8000)?;
        writer.busy_timeout(std::time::Duration::from_secs(10))?;
        writer.set_prepared_statement_cache_capacity(64);
        // Checkpoints run on a background thread (checkpoint.rs) so bulk
        // downloads do not pay for them inline; this is only the fallback
        // if that thread falls behind.
        writer.pragma_update(None, "wal_autocheckpoint", 20_000)?;
        state::create_meta_tables(&writer)?;
        outbox::create_tables(&writer)?;
        let tables = migrate::read_catalog(&writer)?;
        let checkpointer = checkpoint::Checkpointer::start(&path);
        Ok(Store {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
                tables: RwLock::new(tables),
                watches: watch::Registry::default(),
                checkpointer,
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Tells the background checkpointer the WAL grew.
    pub(crate) fn committed(&self) {
        self.inner.checkpointer.poke();
    }

    pub(crate) fn writer(&self) -> Result<MutexGuard<'_, Connection>> {
        self.inner
            .writer
            .lock()
            .map_err(|_| Error::Internal("the store's writer lock is poisoned".into()))
    }

    /// Runs `f` on a `query_only` reader from the pool.
    pub(crate) fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = {
            let mut pool = self
                .inner
                .readers
                .lock()
                .map_err(|_| Error::Internal("reader pool poisoned".into()))?;
            pool.pop()
        };
        let conn = match conn {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.inner.path,
                    OpenFlags::SQLITE_OPEN_READ_WRITE
                        | OpenFlags::SQLITE_OPEN_NO_MUTEX
                        | OpenFlags::SQLITE_OPEN_URI,
                )?;
                c.pragma_update(None, "query_only", "ON")?;
                c.pragma_update(None, "temp_store", 2)?;
                c.busy_timeout(std::time::Duration::from_secs(10))?;
                c
            }
        };
        let out = f(&conn);
        if let Ok(mut pool) = self.inner.readers.lock() {
            if pool.len() < 4 {
                pool.push(conn);
            }
        }
        out
    }

    pub(crate) fn table_columns(&self, table: &str) -> Result<TableColumns> {
        let tables = self
            .inner
            .tables
            .read()
            .map_err(|_| Error::Internal("catalog lock poisoned".into()))?;
        tables
            .get(table)
            .cloned()
            .ok_or_else(|| Error::Query(format!("table {table} is not in the mirror")))
    }

    fn refresh_catalog(&self, conn: &Connection) -> Result<()> {
        let fresh = migrate::read_catalog(conn)?;
        let mut tables = self
            .inner
            .tables
            .write()
            .map_err(|_| Error::Internal("catalog lock poisoned".into()))?;
        *tables = fresh;
        Ok(())
    }

    /// Rows in one mirror table.
    pub fn count(&self, table: &str) -> Result<u64> {
        self.table_columns(table)?;
        self.with_reader(|c| {
            Ok(
                c.query_row(&format!("SELECT count(*) FROM {}", q(table)), [], |r| {
                    r.get::<_, i64>(0)
                })? as u64,
            )
        })
    }

    /// Names of the mirror tables.
    pub fn tables(&self) -> Result<Vec<String>> {
        let tables = self
            .inner
            .tables
            .read()
            .map_err(|_| Error::Internal("catalog lock poisoned".into()))?;
        let mut v: Vec<String> = tables.keys().cloned().collect();
        v.sort();
        Ok(v)
    }

    /// A value of the store's key/value metadata (e.g. the signed-in user).
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        self.with_reader(|c| state::get_meta(c, key))
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        let w = self.writer()?;
        state::set_meta(&w, key, value)
    }
}
