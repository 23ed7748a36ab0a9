//! The local SQLite mirror: one table per profile table (typed columns, key,
//! ETag, generation), the sync state of each table, reads for the app and
//! watches. WAL; one writer connection behind a mutex; `query_only` readers
//! that never block it. Knows nothing of the network.
//!
//! Encryption at rest: with a key, every connection (writer, readers, the
//! checkpointer) is keyed right after it opens and proves the key by reading
//! the schema before anything else runs (docs/security.md).

/// The keys of the store's key/value metadata, in one place.
mod meta_keys {
    pub const USER_ID: &str = "whoami.user_id";
    pub const RESOLVED_PROFILE: &str = "profile.resolved";
    pub const LOG: &str = "diagnostics.log";
}

mod checkpoint;
mod journal;
mod lock;
mod migrate;
mod query;
mod queue;
mod sql;
mod state;
mod sync_errors;
mod typed;
mod upsert;
mod version;
mod watch;
mod write;

pub use migrate::Migration;
pub use query::{Filter, Query, Row, Sort};
pub(crate) use queue::{Ack, Entry, LocalWrite, Refusal, local_write_tx, row_exists_on};
pub use queue::{Op, PendingChange};
pub use sql::{SqlRefusal, SqlRows};
pub use state::{TablePhase, TableState};
pub(crate) use sync_errors::SyncErrorRecord;
pub use version::CURRENT as SCHEMA_VERSION;
pub use watch::WatchHandle;
pub use write::WriteStats;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use rusqlite::{Connection, ErrorCode, OpenFlags};

use crate::error::{Error, KeyProblem, Result};
use crate::profile::ResolvedProfile;
use crate::secret::Secret;

/// Columns Mooring adds to every mirror table.
pub(crate) const META_COLUMNS: [&str; 3] = ["_etag", "_gen", "_pending"];

/// The mirror. Cheap to clone (shared inside).
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    path: PathBuf,
    key: Option<Secret>,
    /// Set by `close`: no connection is handed out or opened after it.
    closed: AtomicBool,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    /// Mirror table → its key and columns (as in SQLite), for query checks.
    tables: RwLock<HashMap<String, TableColumns>>,
    watches: watch::Registry,
    checkpointer: checkpoint::Checkpointer,
    /// This store's hold on `<db>-lock` (released by `close` or drop).
    lock: Mutex<Option<lock::FileLock>>,
    /// The last log record (of `diagnostics::log_ring`) moved into the
    /// mirror; held while moving, so no record goes in twice.
    log_cursor: Mutex<u64>,
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

/// Page size of every mirror. 8 KiB pages: ~20% faster bulk inserts of
/// Dataverse-sized rows than 4 KiB (docs/benchmarks.md).
const PAGE_SIZE: u32 = 8192;

/// The first 16 bytes of every plain SQLite file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// The raw SQLCipher key for a host key: SHA-256 of the key, as 64 hex
/// digits. A raw key skips SQLCipher's PBKDF2 (256,000 rounds at every
/// connection open); the host's key is random bytes from the Keystore or
/// Keychain, never a password a person chose, so a slow KDF adds nothing.
fn raw_key(key: &Secret) -> Secret {
    let mut input = b"mooring-sqlcipher-v1\0".to_vec();
    input.extend_from_slice(key.expose().as_bytes());
    let digest = ring::digest::digest(&ring::digest::SHA256, &input);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    Secret::new(hex)
}

/// Opens one connection to the mirror: keyed first when there is a key,
/// then proven able to read the schema, so a wrong key fails here and
/// never later as an empty or "corrupt" database. Nothing is written
/// before that proof.
fn connect(path: &Path, flags: Option<OpenFlags>, key: Option<&Secret>) -> Result<Connection> {
    let conn = match flags {
        Some(flags) => Connection::open_with_flags(path, flags)?,
        None => Connection::open(path)?,
    };
    if let Some(key) = key {
        // SQLCipher writes its own lines to stderr ("hmac check failed")
        // on a wrong key; the typed error below says it instead.
        let _ = conn.execute_batch("PRAGMA cipher_log_level = NONE;");
        let raw = raw_key(key);
        // One keying at a time in the process: concurrent first keyings
        // failed now and then (SQLITE_ERROR from `PRAGMA key`) in the Swift
        // tests, where SQLCipher runs on another OpenSSL 3 than it was built
        // with; raw keys skip the KDF, so the lock costs microseconds.
        static KEYING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _keying = KEYING
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // The statement holds the key: its errors are reported without
        // SQLite's text, which might quote it.
        conn.execute_batch(&format!(
            "PRAGMA key = \"x'{}'\"; PRAGMA cipher_page_size = {PAGE_SIZE};",
            raw.expose()
        ))
        .map_err(|e| {
            Error::Internal(format!(
                "could not set the database key (SQLite code {:?})",
                e.sqlite_error_code()
            ))
        })?;
    }
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => Ok(conn),
        Err(e) if e.sqlite_error_code() == Some(ErrorCode::NotADatabase) => {
            drop(conn);
            Err(Error::WrongKey(match key {
                None => KeyProblem::Missing,
                Some(_) if is_plain_sqlite(path) => KeyProblem::NotEncrypted,
                Some(_) => KeyProblem::Wrong,
            }))
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether the file starts with the plain SQLite header.
fn is_plain_sqlite(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && &head == SQLITE_HEADER
}

impl Store {
    /// Opens (or creates) the plain (unencrypted) mirror at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Self::open_with_key(path, None)
    }

    /// Opens (or creates) the mirror at `path`, encrypted with `key` when
    /// given (SQLCipher). A key that does not open the file is
    /// `Error::WrongKey`, and the file is left untouched.
    pub fn open_with_key(path: impl AsRef<Path>, key: Option<Secret>) -> Result<Store> {
        let path = path.as_ref().to_path_buf();
        // First: a mirror another store has open is not touched at all.
        let file_lock = lock::FileLock::acquire(&path)?;
        let mut writer = connect(&path, None, key.as_ref())?;
        // Before anything writes: a newer release's file stays untouched.
        let version = version::check(&writer)?;
        // Only takes effect on a new file (an encrypted one has its page
        // size set with the key, in `connect`).
        writer.pragma_update(None, "page_size", PAGE_SIZE)?;
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
        version::upgrade(&mut writer, version)?;
        let tables = migrate::read_catalog(&writer)?;
        let checkpointer = checkpoint::Checkpointer::start(&path, key.clone());
        Ok(Store {
            inner: Arc::new(Inner {
                path,
                key,
                closed: AtomicBool::new(false),
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
                tables: RwLock::new(tables),
                watches: watch::Registry::default(),
                checkpointer,
                lock: Mutex::new(Some(file_lock)),
                log_cursor: Mutex::new(0),
            }),
        })
    }

    /// The files of the mirror at `path` besides the database itself.
    pub const FILE_SUFFIXES: [&'static str; 4] = ["-wal", "-shm", "-journal", "-lock"];

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Whether the mirror is encrypted (opened with a key).
    pub fn is_encrypted(&self) -> bool {
        self.inner.key.is_some()
    }

    /// Closes every connection to the file (writer, pooled readers, the
    /// checkpointer, which checkpoints one last time), so the files can be
    /// deleted. Every later call on any clone of this store fails with
    /// `Error::Closed`. A reader in use right now is dropped when it is
    /// handed back.
    pub fn close(&self) -> Result<()> {
        self.inner.closed.store(true, Ordering::SeqCst);
        {
            let mut w = self
                .inner
                .writer
                .lock()
                .map_err(|_| Error::Internal("the store's writer lock is poisoned".into()))?;
            // Swapping in a connection to nothing closes the file's.
            let old = std::mem::replace(&mut *w, Connection::open_in_memory()?);
            old.close().map_err(|(_, e)| Error::from(e))?;
        }
        if let Ok(mut pool) = self.inner.readers.lock() {
            pool.clear();
        }
        self.inner.checkpointer.stop();
        if let Ok(mut lock) = self.inner.lock.lock() {
            lock.take();
        }
        Ok(())
    }

    /// Lets another opener have the file (the app closed): reads through
    /// this store still work, but it no longer claims the mirror.
    pub(crate) fn release_lock(&self) {
        if let Ok(mut lock) = self.inner.lock.lock() {
            lock.take();
        }
    }

    fn check_open(&self) -> Result<()> {
        if self.inner.closed.load(Ordering::SeqCst) {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// Tells the background checkpointer the WAL grew.
    pub(crate) fn committed(&self) {
        self.inner.checkpointer.poke();
    }

    pub(crate) fn writer(&self) -> Result<MutexGuard<'_, Connection>> {
        self.check_open()?;
        // A panic while the writer was held (an app's closure inside
        // `write_transaction`) dropped its open transaction, which rolls
        // back: the connection is consistent, so the lock is taken anyway.
        Ok(self
            .inner
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Runs `f` on a `query_only` reader from the pool.
    pub(crate) fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.with_reader_mut(|c| f(c))
    }

    /// `with_reader` for what needs the connection itself (the SQL reads'
    /// authorizer).
    pub(crate) fn with_reader_mut<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T>,
    ) -> Result<T> {
        self.check_open()?;
        let conn = {
            let mut pool = self
                .inner
                .readers
                .lock()
                .map_err(|_| Error::Internal("reader pool poisoned".into()))?;
            pool.pop()
        };
        let mut conn = match conn {
            Some(c) => c,
            None => {
                let c = connect(
                    &self.inner.path,
                    Some(
                        OpenFlags::SQLITE_OPEN_READ_WRITE
                            | OpenFlags::SQLITE_OPEN_NO_MUTEX
                            | OpenFlags::SQLITE_OPEN_URI,
                    ),
                    self.inner.key.as_ref(),
                )?;
                c.pragma_update(None, "query_only", "ON")?;
                c.pragma_update(None, "temp_store", 2)?;
                c.busy_timeout(std::time::Duration::from_secs(10))?;
                c
            }
        };
        let out = f(&mut conn);
        if let Ok(mut pool) = self.inner.readers.lock() {
            if pool.len() < 4 && !self.inner.closed.load(Ordering::SeqCst) {
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

    /// A value of the store's key/value metadata (keys: `meta_keys`).
    fn meta(&self, key: &str) -> Result<Option<String>> {
        self.with_reader(|c| state::get_meta(c, key))
    }

    fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        let w = self.writer()?;
        state::set_meta(&w, key, value)
    }

    /// The Dataverse user (WhoAmI `UserId`) this mirror belongs to, once a
    /// connection recorded it.
    pub fn user_id(&self) -> Result<Option<String>> {
        self.meta(meta_keys::USER_ID)
    }

    pub(crate) fn set_user_id(&self, id: &str) -> Result<()> {
        self.set_meta(meta_keys::USER_ID, id)
    }

    /// The profile as last resolved against the server, so an app reopened
    /// offline can validate and queue writes. None when never resolved, or
    /// written by a build whose shape this one cannot read (the next
    /// connection resolves it again).
    pub(crate) fn resolved_profile(&self) -> Result<Option<ResolvedProfile>> {
        Ok(self
            .meta(meta_keys::RESOLVED_PROFILE)?
            .and_then(|json| match serde_json::from_str(&json) {
                Ok(p) => Some(p),
                Err(e) => {
                    tracing::warn!("the remembered profile cannot be read ({e}): resolved again at the next connection");
                    None
                }
            }))
    }

    pub(crate) fn set_resolved_profile(&self, profile: &ResolvedProfile) -> Result<()> {
        let json = serde_json::to_string(profile)
            .map_err(|e| Error::Internal(format!("cannot serialize the resolved profile: {e}")))?;
        self.set_meta(meta_keys::RESOLVED_PROFILE, &json)
    }
}
