//! `Mooring`: the one object an app holds. It opens the local mirror, starts
//! the scheduler (connectivity probe, initial/delta sync, upload) and offers
//! everything a shell needs: reads, queries and watches on the mirror, sync
//! now, pause/resume, the host's network state, the status (current value
//! and a listener with a cancellable handle), close and sign-out. The FFI
//! crate wraps this type thinly; keep it the complete app API.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value as J};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::cell::TypedRow;
use crate::error::{Error, Result};
use crate::outbox::{Outbox, OutboxConfig, OutboxSlot, SyncError};
use crate::profile::{AppManifest, Profile};
use crate::remote::{Remote, RemoteConfig, TokenProvider};
use crate::scheduler::{
    self, Command, ProfileSource, RunnerParts, ScheduleConfig, Source, StatusHandle, StatusHub,
    UploadWait, describe_pending,
};
use crate::secret::Secret;
use crate::status::{Event, SyncStatus};
use crate::store::TablePhase;
use crate::store::{PendingChange, Query, Row, SqlRows, Store, WatchHandle};
use crate::value::Value;

/// How to open Mooring.
#[derive(Clone)]
pub struct MooringConfig {
    /// The Web API client's settings; `server_url` is the environment URL
    /// (`https://org.crm.dynamics.com`).
    pub remote: RemoteConfig,
    /// Implemented by the host (MSAL on a phone).
    pub tokens: Arc<dyn TokenProvider>,
    /// The SQLite file of this user and environment (created if missing):
    /// `database_path` names it (`for_account` does that).
    pub database: PathBuf,
    /// The database key from the host's Keystore/Keychain (random bytes,
    /// not a password). None: a plain SQLite file. Some: SQLCipher; a key
    /// that does not open the file is `Error::WrongKey`.
    pub encryption_key: Option<Secret>,
    pub profile: ProfileSource,
    pub schedule: ScheduleConfig,
    /// Upload batch size and per-table conflict modes.
    pub outbox: OutboxConfig,
    /// The host's network state at open (later: `set_host_network`), so a
    /// first launch offline never tries the network.
    pub host_online: bool,
    pub metered: bool,
    /// Sync on unmetered networks only.
    pub wifi_only: bool,
}

impl MooringConfig {
    pub fn new(
        server_url: impl Into<String>,
        tokens: Arc<dyn TokenProvider>,
        database: impl Into<PathBuf>,
        profile: Profile,
    ) -> Self {
        Self::with_source(
            server_url,
            tokens,
            database,
            ProfileSource::Profile(profile),
        )
    }

    pub fn from_manifest(
        server_url: impl Into<String>,
        tokens: Arc<dyn TokenProvider>,
        database: impl Into<PathBuf>,
        manifest: AppManifest,
    ) -> Self {
        Self::with_source(
            server_url,
            tokens,
            database,
            ProfileSource::Manifest(manifest),
        )
    }

    /// The config of one signed-in user of one environment: the database
    /// file is `database_path(data_dir, server_url, account)`. `account`
    /// is the host's stable id of the signed-in account (MSAL's home
    /// account id, or the UPN).
    pub fn for_account(
        server_url: impl Into<String>,
        tokens: Arc<dyn TokenProvider>,
        data_dir: &Path,
        account: &str,
        profile: ProfileSource,
    ) -> Self {
        let server_url = server_url.into();
        let database = database_path(data_dir, &server_url, account);
        Self::with_source(server_url, tokens, database, profile)
    }

    fn with_source(
        server_url: impl Into<String>,
        tokens: Arc<dyn TokenProvider>,
        database: impl Into<PathBuf>,
        profile: ProfileSource,
    ) -> Self {
        let mut remote = RemoteConfig::new(server_url);
        // The scheduler retries whole syncs with its own backoff and shows
        // it in the status; long silent retries inside one request would
        // keep the icon on "syncing" while the server is gone.
        remote.max_retries = 3;
        remote.connect_timeout = std::time::Duration::from_secs(10);
        MooringConfig {
            remote,
            tokens,
            database: database.into(),
            encryption_key: None,
            profile,
            schedule: ScheduleConfig::default(),
            outbox: OutboxConfig::default(),
            host_online: true,
            metered: false,
            wifi_only: false,
        }
    }
}

/// The mirror's file for one user of one environment:
/// `<data_dir>/mooring-<32 hex>.db`, the hex a SHA-256 of the normalized
/// environment URL (scheme and host lowercase, no trailing slash) and the
/// account (trimmed, lowercase). No user name in clear on disk; the same
/// pair always gives the same file, another pair another file.
pub fn database_path(data_dir: &Path, server_url: &str, account: &str) -> PathBuf {
    let url = normalize_url(server_url);
    let account = account.trim().to_lowercase();
    let mut input = Vec::with_capacity(url.len() + account.len() + 24);
    input.extend_from_slice(b"mooring-database-v1\0");
    input.extend_from_slice(url.as_bytes());
    input.push(0);
    input.extend_from_slice(account.as_bytes());
    let digest = ring::digest::digest(&ring::digest::SHA256, &input);
    let hex: String = digest.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    data_dir.join(format!("mooring-{hex}.db"))
}

/// Scheme and host lowercase (the URL parser does it), default port
/// dropped, no trailing slash. Text that is no URL is only trimmed and
/// lowercased.
fn normalize_url(server_url: &str) -> String {
    let trimmed = server_url.trim();
    match reqwest::Url::parse(trimmed) {
        Ok(url) => url.as_str().trim_end_matches('/').to_string(),
        Err(_) => trimmed.trim_end_matches('/').to_lowercase(),
    }
}

/// Types rows for the app (`Cell`): see [`Mooring::typer`]. Cheap to clone.
#[derive(Clone)]
pub struct Typer {
    store: Store,
    writes: OutboxSlot,
}

impl Typer {
    /// Blocking: lookups are named from the mirror.
    pub fn rows(&self, table: &str, rows: Vec<Row>) -> Result<Vec<TypedRow>> {
        let outbox = self.writes.current();
        self.store
            .type_rows(outbox.as_ref().map(|o| o.profile()), table, rows)
    }
}

/// The app's handle on its offline data. Cheap to share behind an `Arc`.
pub struct Mooring {
    store: Store,
    hub: Arc<StatusHub>,
    writes: OutboxSlot,
    tx: mpsc::UnboundedSender<Command>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Mooring {
    /// Opens the mirror and starts syncing in the background (on the
    /// current tokio runtime). Works offline: reads answer from the mirror
    /// at once; the status says what is missing.
    pub async fn open(config: MooringConfig) -> Result<Mooring> {
        let runtime = tokio::runtime::Handle::current();
        let path = config.database.clone();
        let key = config.encryption_key.clone();
        let store = tokio::task::spawn_blocking(move || Store::open_with_key(path, key)).await??;
        let hub = Arc::new(StatusHub::new(runtime));
        let opened = opened_event(&store).await?;
        hub.apply(opened);
        hub.apply(Event::HostNetwork {
            online: config.host_online,
            metered: config.metered,
        });
        hub.apply(Event::WifiOnly(config.wifi_only));
        // The write side works offline from the profile resolved at an
        // earlier connection; a mirror never synced gets it at the first.
        let remote = Remote::new(config.remote.clone(), config.tokens.clone())?;
        let writes = {
            let (store, cfg) = (store.clone(), config.outbox.clone());
            let remote = remote.clone();
            tokio::task::spawn_blocking(move || OutboxSlot::open(store, cfg, remote)).await??
        };
        let (tx, task) = scheduler::spawn(RunnerParts {
            hub: hub.clone(),
            cfg: config.schedule.clone(),
            source: Source {
                remote,
                store: store.clone(),
                profile: config.profile.clone(),
                writes: writes.clone(),
            },
        })?;
        Ok(Mooring {
            store,
            hub,
            writes,
            tx,
            task: Mutex::new(Some(task)),
        })
    }

    /// The mirror, for reads the methods below do not cover.
    pub fn store(&self) -> &Store {
        &self.store
    }

    // Reads: always local, online or not.

    /// One row by key, as the app sees it (local changes included).
    pub async fn get(&self, table: &str, id: &str) -> Result<Option<Row>> {
        let (store, table, id) = (self.store.clone(), table.to_string(), id.to_string());
        tokio::task::spawn_blocking(move || store.get(&table, &id)).await?
    }

    pub async fn query(&self, query: Query) -> Result<Vec<Row>> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.query(&query)).await?
    }

    /// [`Mooring::get`] with typed cells (dates, booleans, choices with
    /// labels, lookups with the related row's table and name).
    pub async fn get_typed(&self, table: &str, id: &str) -> Result<Option<TypedRow>> {
        let typer = self.typer();
        let Some(row) = self.get(table, id).await? else {
            return Ok(None);
        };
        let table = table.to_string();
        let mut rows = tokio::task::spawn_blocking(move || typer.rows(&table, vec![row])).await??;
        Ok(rows.pop())
    }

    /// [`Mooring::query`] with typed cells.
    pub async fn query_typed(&self, query: Query) -> Result<Vec<TypedRow>> {
        let typer = self.typer();
        let table = query.table.clone();
        let rows = self.query(query).await?;
        tokio::task::spawn_blocking(move || typer.rows(&table, rows)).await?
    }

    /// Types rows of the plain reads (and of `watch` callbacks) by the
    /// profile as resolved now.
    pub fn typer(&self) -> Typer {
        Typer {
            store: self.store.clone(),
            writes: self.writes.clone(),
        }
    }

    /// The query's rows now, then whenever they change.
    pub fn watch(
        &self,
        query: Query,
        callback: impl Fn(&[Row]) + Send + Sync + 'static,
    ) -> Result<WatchHandle> {
        self.store.watch(query, callback)
    }

    /// One read-only SQL statement over the mirror's tables (joins,
    /// aggregates), parameters bound from `params`; local changes included.
    /// Anything else is `Error::SqlRefused` (see `Store::sql`).
    pub async fn sql(&self, sql: &str, params: Vec<Value>) -> Result<SqlRows> {
        let (store, sql) = (self.store.clone(), sql.to_string());
        tokio::task::spawn_blocking(move || store.sql(&sql, &params)).await?
    }

    /// The SQL read's result now, then whenever a write to a table it reads
    /// changes it (throttled). Blocking for the first read.
    pub fn watch_sql(
        &self,
        sql: &str,
        params: Vec<Value>,
        callback: impl Fn(&SqlRows) + Send + Sync + 'static,
    ) -> Result<WatchHandle> {
        self.store.watch_sql(sql, params, callback)
    }

    // Writes: applied to the mirror at once, queued, uploaded when
    // reachable (debounced). Offline or online alike.

    /// Creates a row (client-generated GUID, returned). `values`: column
    /// logical names to values; lookups take the target row's GUID.
    pub async fn create(&self, table: &str, values: Map<String, J>) -> Result<String> {
        let table = table.to_string();
        self.write(move |ob| ob.create(&table, &values)).await
    }

    /// Changes the given columns of a row.
    pub async fn update(&self, table: &str, id: &str, values: Map<String, J>) -> Result<()> {
        let (table, id) = (table.to_string(), id.to_string());
        self.write(move |ob| ob.update(&table, &id, &values)).await
    }

    pub async fn delete(&self, table: &str, id: &str) -> Result<()> {
        let (table, id) = (table.to_string(), id.to_string());
        self.write(move |ob| ob.delete(&table, &id)).await
    }

    /// Several writes as one: `f` creates, updates and deletes through the
    /// handle; when it returns `Ok` they reach the mirror and the outbox
    /// together (not at all on `Err`), and they upload as one `$batch`
    /// change set, which the server applies whole or not at all. A refused
    /// transaction is one sync error (retry, discard). `f` runs on a
    /// blocking thread holding the writer: keep it to the writes.
    ///
    /// ```no_run
    /// # async fn demo(app: &mooring_core::Mooring) -> mooring_core::Result<()> {
    /// use serde_json::json;
    /// let obj = |v: serde_json::Value| v.as_object().cloned().unwrap();
    /// let contact = app
    ///     .write_transaction(move |tx| {
    ///         let account = tx.create("accounts", &obj(json!({"name": "Fabrikam"})))?;
    ///         tx.create("contacts", &obj(json!({"lastname": "Ito", "parentcustomerid": account})))
    ///     })
    ///     .await?;
    /// # let _ = contact; Ok(()) }
    /// ```
    pub async fn write_transaction<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut crate::WriteTransaction<'_>) -> Result<T> + Send + 'static,
    {
        self.write(move |ob| ob.write_transaction(f)).await
    }

    /// The changes waiting for upload, oldest first (at most `limit`):
    /// table, row, kind, columns (no values), since when, in flight.
    pub async fn pending_changes(&self, limit: usize) -> Result<Vec<PendingChange>> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.pending_changes(limit)).await?
    }

    /// Why the pending changes wait now (no connection, paused, Wi-Fi only,
    /// backoff...); a change already sent is `Uploading` whatever this says.
    /// `Error::Closed` once closed (the scheduler that knows has stopped).
    pub async fn upload_wait(&self) -> Result<UploadWait> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Command::UploadWait(reply))
            .map_err(|_| Error::Closed)?;
        answer.await.map_err(|_| Error::Closed)
    }

    /// "3 changes waiting for 2 h: no connection", for the app's outbox
    /// screen or the status sheet; None when nothing waits.
    pub async fn pending_summary(&self) -> Result<Option<String>> {
        let wait = self.upload_wait().await?;
        let store = self.store.clone();
        let (count, oldest) = tokio::task::spawn_blocking(move || -> Result<_> {
            let oldest = store.pending_changes(1)?.first().map(|c| c.queued_at_ms);
            Ok((store.pending_count()?, oldest))
        })
        .await??;
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let age_secs = oldest.map_or(0, |t| (now_ms - t).max(0) as u64 / 1000);
        Ok(describe_pending(count, age_secs, wait))
    }

    /// Changes waiting for upload (changes, not rows, as Power Apps counts).
    pub async fn pending_count(&self) -> Result<u64> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.pending_count()).await?
    }

    /// Changes the server refused, newest last.
    pub async fn sync_errors(&self) -> Result<Vec<SyncError>> {
        let outbox = self.outbox()?;
        tokio::task::spawn_blocking(move || outbox.sync_errors()).await?
    }

    /// Queues a refused change again (with the row's current values).
    pub async fn retry_sync_error(&self, id: i64) -> Result<()> {
        self.write(move |ob| ob.retry_sync_error(id)).await
    }

    /// Drops a refused change; the row keeps the server's state.
    pub async fn discard_sync_error(&self, id: i64) -> Result<()> {
        let outbox = self.outbox()?;
        let ob = outbox.clone();
        tokio::task::spawn_blocking(move || ob.discard_sync_error(id)).await??;
        self.refresh_counts(&outbox).await
    }

    fn outbox(&self) -> Result<Outbox> {
        self.writes.get()
    }

    /// Runs a blocking outbox call, then updates the status and schedules
    /// the debounced upload.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Outbox) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let outbox = self.outbox()?;
        let ob = outbox.clone();
        let out = tokio::task::spawn_blocking(move || f(&ob)).await??;
        self.refresh_counts(&outbox).await?;
        let _ = self.send(Command::LocalWrite);
        Ok(out)
    }

    async fn refresh_counts(&self, outbox: &Outbox) -> Result<()> {
        let (pending, errors) = scheduler::counts(outbox).await?;
        self.hub.apply(Event::PendingChanged(pending));
        self.hub.apply(Event::SyncErrorsChanged(errors));
        Ok(())
    }

    // Sync control.

    /// Syncs now (probing the server first if needed) and returns when that
    /// run ended: Ok, or why it could not run or failed. The status shows
    /// every step meanwhile.
    pub async fn sync_now(&self) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::SyncNow(Some(reply)))?;
        answer
            .await
            .map_err(|_| Error::Internal("the scheduler stopped".into()))?
    }

    /// Asks for a sync without waiting for it.
    pub fn request_sync(&self) {
        let _ = self.send(Command::SyncNow(None));
    }

    /// Uploads pending local changes now, without downloading.
    pub async fn upload_now(&self) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::UploadNow(Some(reply)))?;
        answer
            .await
            .map_err(|_| Error::Internal("the scheduler stopped".into()))?
    }

    /// What the OS says about the network (ConnectivityManager,
    /// NWPathMonitor). Offline stops a running sync at once.
    pub fn set_host_network(&self, online: bool, metered: bool) {
        let event = Event::HostNetwork { online, metered };
        if online {
            self.hub.apply(event);
        } else {
            // Offline and "not syncing" in one step: the runner aborts the
            // job right after, but the status must not wait for it.
            self.hub.stop_job(Some(event));
        }
        let _ = self.send(Command::NetworkChanged);
    }

    /// Sync only on unmetered networks.
    pub fn set_wifi_only(&self, on: bool) {
        self.hub.apply(Event::WifiOnly(on));
        let _ = self.send(Command::NetworkChanged);
    }

    /// The app went to the background: stop syncing (a running sync is
    /// cancelled; what it committed stays, the rest resumes later).
    pub fn pause(&self) {
        self.hub.stop_job(None);
        let _ = self.send(Command::Pause);
    }

    /// The app came to the foreground: check the server and sync.
    pub fn resume(&self) {
        let _ = self.send(Command::Resume);
    }

    // Status.

    pub fn status(&self) -> SyncStatus {
        self.hub.status()
    }

    /// The diagnostics report (`diagnostics::Report`): what the mirror
    /// remembers plus what this app saw since it opened. No token, key or
    /// row value in it; `to_text()` for the user to share.
    pub async fn diagnostics(&self) -> Result<crate::diagnostics::Report> {
        let store = self.store.clone();
        let report = tokio::task::spawn_blocking(move || {
            store.flush_log()?;
            crate::diagnostics::Report::from_store(&store)
        })
        .await??;
        Ok(report.with_live(&self.hub.status(), self.hub.history()))
    }

    /// `listener` gets the current status at once, then every change, until
    /// the handle is cancelled or dropped.
    pub fn observe_status(
        &self,
        listener: impl Fn(&SyncStatus) + Send + Sync + 'static,
    ) -> StatusHandle {
        self.hub.observe(Arc::new(listener))
    }

    /// Stops syncing and listeners, and lets another opener have the file.
    /// Reads still work until dropped.
    pub async fn close(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Command::Close(done)).is_ok() {
            let _ = wait.await;
        }
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            let _ = task.await;
        }
        self.hub.clear();
        let store = self.store.clone();
        let _ = tokio::task::spawn_blocking(move || store.flush_log()).await;
        // Closed: the next `Mooring::open` of this file (this process or
        // another) may have it, even while this handle is still around.
        self.store.release_lock();
    }

    /// Signs the user out: stops everything and deletes this user's local
    /// data (the mirror and its WAL, shared-memory and journal files).
    /// Changes not yet on the server (pending uploads and sync errors) would
    /// be lost: unless `discard_pending`, that is refused with
    /// `Error::PendingChangesWouldBeLost { count }` and nothing is deleted.
    /// The host shows `pending_count()`, asks, then calls `sign_out(true)`.
    /// After it, every call on this handle fails (`Error::Closed`).
    pub async fn sign_out(&self, discard_pending: bool) -> Result<()> {
        let store = self.store.clone();
        let count = tokio::task::spawn_blocking(move || {
            Ok::<_, Error>(store.pending_count()? + store.sync_error_count()?)
        })
        .await??;
        if count > 0 && !discard_pending {
            return Err(Error::PendingChangesWouldBeLost { count });
        }
        self.close().await;
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.close()).await??;
        let path = self.store.path().to_path_buf();
        for suffix in std::iter::once("").chain(Store::FILE_SUFFIXES) {
            let mut p = path.clone().into_os_string();
            p.push(suffix);
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::from(e)),
            }
        }
        Ok(())
    }

    fn send(&self, cmd: Command) -> Result<()> {
        self.tx
            .send(cmd)
            .map_err(|_| Error::Internal("the scheduler stopped (closed?)".into()))
    }
}

impl Drop for Mooring {
    fn drop(&mut self) {
        // Without close(): stop the runner anyway (it aborts its job).
        if let Ok(mut t) = self.task.lock() {
            if let Some(task) = t.take() {
                task.abort();
            }
        }
        // And give the file up now, not when the aborted runner's last
        // clone of the store goes (later, on a runtime thread): the app
        // that dropped this handle may open the mirror again at once (a
        // Kotlin `close()` then `open`). A write of the old runner still
        // finishing meets the new one in SQLite's own locking.
        self.store.release_lock();
    }
}

/// What the mirror remembers, for the status at open (and `mooring status`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DatabaseFacts {
    /// Every profile table has a complete baseline. A mirror with no tables
    /// has never synced.
    pub initial_sync_complete: bool,
    pub last_synced_at_ms: Option<i64>,
    pub pending_changes: u64,
    pub sync_errors: u64,
}

impl DatabaseFacts {
    pub fn read(store: &Store) -> Result<DatabaseFacts> {
        let tables = store.tables()?;
        let mut complete = !tables.is_empty();
        let mut last: Option<i64> = None;
        for t in &tables {
            if let Some(s) = store.table_state(t)? {
                complete &= s.phase == TablePhase::Ready;
                if let Some(ms) = s.last_synced_ms {
                    last = Some(last.map_or(ms, |l| l.max(ms)));
                }
            }
        }
        Ok(DatabaseFacts {
            initial_sync_complete: complete,
            last_synced_at_ms: last,
            pending_changes: store.pending_count()?,
            sync_errors: store.sync_error_count()?,
        })
    }

    pub fn opened_event(&self) -> Event {
        Event::Opened {
            initial_sync_complete: self.initial_sync_complete,
            pending_changes: self.pending_changes,
            sync_errors: self.sync_errors,
            last_synced_at_ms: self.last_synced_at_ms,
        }
    }
}

async fn opened_event(store: &Store) -> Result<Event> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || DatabaseFacts::read(&store).map(|f| f.opened_event()))
        .await?
}
