//! `MooringApp`: the one object a Kotlin/Swift app holds, a thin wrapper
//! over `Arc<mooring_core::Mooring>`. Async calls run on the crate's
//! runtime (see runtime.rs); listeners are host objects called from
//! Mooring's threads, each call guarded so a host exception or a panic
//! never unwinds into core.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use mooring_core::remote::TokenFuture;
use mooring_core::{
    AppManifest, Mooring, MooringConfig, Profile, ProfileSource, Secret, StatusHandle,
    store::WatchHandle,
};

use crate::error::{MooringError, TokenError};
use crate::query::Query;
use crate::runtime::{run, runtime};
use crate::status::SyncStatus;
use crate::value::{Row, SqlRows, Value, params_to_core, row_from_typed, values_to_json};

/// Implemented by the host (MSAL's `acquireTokenSilent`): a Kotlin
/// `suspend fun`, a Swift `async` method. Waiting in it (for a refresh over
/// the network) holds no Mooring thread, and Mooring asks for at most one
/// refresh at a time, whatever number of requests met the refused token.
/// `force_refresh`: the last token was refused, get a new one (skip the
/// cache). No answer within 60 s counts as a failure (asked again at the
/// next sync).
#[uniffi::export(foreign)]
#[async_trait::async_trait]
pub trait TokenProvider: Send + Sync {
    async fn token(&self, force_refresh: bool) -> Result<String, TokenError>;
}

/// Gets the current status at once, then every change, in order, from one
/// Mooring thread. Return quickly (post to your UI thread).
#[uniffi::export(foreign)]
pub trait StatusListener: Send + Sync {
    fn on_status(&self, status: SyncStatus);
}

/// Gets the query's rows at once, then whenever they change.
#[uniffi::export(foreign)]
pub trait RowsListener: Send + Sync {
    fn on_rows(&self, rows: Vec<Row>);
}

/// Gets a SQL read's result at once, then whenever it changes.
#[uniffi::export(foreign)]
pub trait SqlListener: Send + Sync {
    fn on_rows(&self, rows: SqlRows);
}

/// How to open Mooring. Only the first three fields and one of
/// `profile_json`/`manifest_json` are required.
#[derive(Clone, uniffi::Record)]
pub struct AppConfig {
    /// The environment URL, `https://org.crm.dynamics.com`.
    pub server_url: String,
    /// A folder the app owns (`filesDir`, Application Support); one
    /// database file per (environment, account) goes there.
    pub data_dir: String,
    /// The host's stable id of the signed-in account (MSAL's home account
    /// id, or the UPN). Hashed into the file name, never stored in clear.
    pub account: String,
    /// The offline profile (docs/profile.md), or:
    #[uniffi(default)]
    pub profile_json: Option<String>,
    /// the app manifest the profile is generated from.
    #[uniffi(default)]
    pub manifest_json: Option<String>,
    /// The database key from the Keystore/Keychain; None: not encrypted.
    #[uniffi(default)]
    pub encryption_key: Option<String>,
    /// The OS's network state at open (then `set_host_network`).
    #[uniffi(default = true)]
    pub host_online: bool,
    #[uniffi(default)]
    pub metered: bool,
    /// Sync on unmetered networks only.
    #[uniffi(default)]
    pub wifi_only: bool,
    /// Overrides every table's delta interval (default: the profile's).
    #[uniffi(default)]
    pub delta_interval_secs: Option<u64>,
    /// While idle and reachable, re-check the server this often (default 60).
    #[uniffi(default)]
    pub probe_interval_secs: Option<u64>,
    /// Upload this long after the last local write (default 2000).
    #[uniffi(default)]
    pub upload_debounce_ms: Option<u64>,
    /// First backoff after a failed sync, doubling up to `retry_cap_ms`
    /// (defaults 5000 and 300000).
    #[uniffi(default)]
    pub retry_base_ms: Option<u64>,
    #[uniffi(default)]
    pub retry_cap_ms: Option<u64>,
    /// Rows per page of the initial sync, 1..=5000 (default 5000).
    #[uniffi(default)]
    pub page_size: Option<u32>,
    /// PEM root certificates to trust beside the built-in ones (a company
    /// CA that MDM installs), for sync and the connectivity probe alike.
    #[uniffi(default)]
    pub extra_roots_pem: Option<String>,
    /// The OS's HTTP proxy (`http://host:port`, credentials as
    /// `http://user:password@host:port`) for sync and the probe; loopback
    /// never goes through it. Phones keep it in their settings, not in
    /// environment variables: Android's `ConnectivityBridge.proxyUrl`, iOS's
    /// `CFNetworkCopySystemProxySettings()` (ios/README.md). None: direct
    /// (or the proxy variables where they are set).
    #[uniffi(default)]
    pub proxy_url: Option<String>,
}

/// Adapts the host's provider to core's trait; the token becomes a
/// `Secret` at once, so it never prints.
struct HostTokens(Arc<dyn TokenProvider>);

impl mooring_core::TokenProvider for HostTokens {
    fn token(&self, force_refresh: bool) -> TokenFuture<'_> {
        Box::pin(async move {
            // A Rust implementation (tests) could panic; a foreign one
            // throws, which uniffi turns into `TokenError`.
            match AssertUnwindSafe(self.0.token(force_refresh))
                .catch_unwind()
                .await
            {
                Ok(Ok(t)) => Ok(Secret::new(t)),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err("the token provider panicked".into()),
            }
        })
    }
}

impl AppConfig {
    fn into_core(self, tokens: Arc<dyn TokenProvider>) -> Result<MooringConfig, MooringError> {
        let profile = match (self.profile_json, self.manifest_json) {
            (Some(p), None) => ProfileSource::Profile(Profile::from_json(&p)?),
            (None, Some(m)) => ProfileSource::Manifest(AppManifest::from_json(&m)?),
            _ => {
                return Err(MooringError::Validation {
                    field: Some("profile_json".into()),
                    reason: "give exactly one of profile_json and manifest_json".into(),
                });
            }
        };
        if self.account.trim().is_empty() {
            return Err(MooringError::Validation {
                field: Some("account".into()),
                reason: "account must not be empty".into(),
            });
        }
        let mut c = MooringConfig::for_account(
            self.server_url,
            Arc::new(HostTokens(tokens)),
            &PathBuf::from(self.data_dir),
            &self.account,
            profile,
        );
        c.encryption_key = self.encryption_key.map(Secret::new);
        c.host_online = self.host_online;
        c.metered = self.metered;
        c.wifi_only = self.wifi_only;
        let s = &mut c.schedule;
        s.delta_interval = self.delta_interval_secs.map(Duration::from_secs);
        if let Some(v) = self.probe_interval_secs {
            s.probe_interval = Duration::from_secs(v);
        }
        if let Some(v) = self.upload_debounce_ms {
            s.upload_debounce = Duration::from_millis(v);
        }
        if let Some(v) = self.retry_base_ms {
            s.retry_base = Duration::from_millis(v);
        }
        if let Some(v) = self.retry_cap_ms {
            s.retry_cap = Duration::from_millis(v);
        }
        if let Some(n) = self.page_size {
            if !(1..=5000).contains(&n) {
                return Err(MooringError::Validation {
                    field: Some("page_size".into()),
                    reason: "page_size must be between 1 and 5000".into(),
                });
            }
            c.remote.page_size = n;
        }
        if let Some(pem) = self.extra_roots_pem {
            c.remote.extra_roots_pem = pem.into_bytes();
        }
        c.remote.proxy_url = self.proxy_url.map(Secret::new);
        Ok(c)
    }
}

enum Handle {
    Status(StatusHandle),
    Watch(WatchHandle),
}

/// A running listener (status or watch). `cancel()` stops it; dropping
/// the handle (Kotlin `close()`/`destroy()`, Swift deinit) does too.
#[derive(uniffi::Object)]
pub struct TaskHandle {
    inner: Mutex<Option<Handle>>,
}

impl TaskHandle {
    fn new(h: Handle) -> Arc<TaskHandle> {
        Arc::new(TaskHandle {
            inner: Mutex::new(Some(h)),
        })
    }
}

#[uniffi::export]
impl TaskHandle {
    /// Stops the listener; no call comes after this returns (except one
    /// already running). Idempotent.
    pub fn cancel(&self) {
        let taken = self.inner.lock().unwrap_or_else(|p| p.into_inner()).take();
        match taken {
            Some(Handle::Status(h)) => h.cancel(),
            Some(Handle::Watch(h)) => h.cancel(),
            None => {}
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_none()
    }
}

/// A change the server refused (Power Apps' "sync errors").
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct SyncErrorInfo {
    pub id: i64,
    /// Unix ms when it was refused.
    pub at_ms: i64,
    pub table: String,
    pub row_id: String,
    pub action: ChangeAction,
    /// The change's columns and values.
    pub values: HashMap<String, Value>,
    /// The HTTP status the server answered.
    pub http_status: u16,
    /// The OData error code (often empty on Dataverse).
    pub code: String,
    /// The server's message, for the user (may quote values).
    pub message: String,
    pub kind: SyncErrorKind,
    /// A refused transaction is one entry: every change of it, in order
    /// (the fields above are the first's). Empty for a single change.
    pub transaction: Vec<TransactionChange>,
}

/// One change of a refused transaction.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct TransactionChange {
    pub table: String,
    pub row_id: String,
    pub action: ChangeAction,
    pub values: HashMap<String, Value>,
}

/// One write of a `write_transaction`.
#[derive(Clone, Debug, PartialEq, uniffi::Enum)]
pub enum WriteOp {
    /// `id`: the GUID the app chose (so later writes of the same
    /// transaction can point at the row), or null for a new one.
    Create {
        table: String,
        id: Option<String>,
        values: HashMap<String, Value>,
    },
    Update {
        table: String,
        id: String,
        values: HashMap<String, Value>,
    },
    Delete {
        table: String,
        id: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum ChangeAction {
    Create,
    Update,
    Delete,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum SyncErrorKind {
    Conflict,
    RecordNotFound,
    Other,
}

impl From<mooring_core::store::Op> for ChangeAction {
    fn from(op: mooring_core::store::Op) -> Self {
        use mooring_core::store::Op;
        match op {
            Op::Create => ChangeAction::Create,
            Op::Update => ChangeAction::Update,
            Op::Delete => ChangeAction::Delete,
        }
    }
}

/// A change waiting for upload: which row, what kind, which columns (not
/// their values), since when.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct PendingChangeInfo {
    /// Its place in the queue: lower goes first.
    pub seq: i64,
    pub table: String,
    pub row_id: String,
    pub action: ChangeAction,
    /// The columns it sets (empty for a delete).
    pub columns: Vec<String>,
    /// Unix ms of the first local change of it.
    pub queued_at_ms: i64,
    /// Sent in an upload the server has not answered yet; it goes again.
    pub in_flight: bool,
    /// Times it was sent without an answer that settled it.
    pub attempts: u32,
    /// The local transaction it belongs to (its changes upload together).
    pub transaction: Option<i64>,
    /// Why it has not reached the server yet.
    pub waiting: UploadWait,
}

/// Why pending changes wait (core's `UploadWait`): every change for the
/// same reason, but those in flight (`Uploading`). A refused change never
/// holds others back (it goes to the sync errors).
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum UploadWait {
    Uploading,
    /// The next upload is due in this long (the debounce after a write).
    Soon {
        in_secs: u64,
    },
    Offline,
    Checking,
    ServerUnreachable,
    Paused,
    WaitingForWifi,
    Throttled {
        retry_after_secs: u64,
    },
    /// The last upload failed for a passing reason; retried in this long.
    Retrying {
        in_secs: u64,
    },
    SignInNeeded,
    WrongUser,
}

impl From<mooring_core::UploadWait> for UploadWait {
    fn from(w: mooring_core::UploadWait) -> Self {
        use mooring_core::UploadWait as W;
        match w {
            W::Uploading => UploadWait::Uploading,
            W::Soon { in_secs } => UploadWait::Soon { in_secs },
            W::Offline => UploadWait::Offline,
            W::Checking => UploadWait::Checking,
            W::ServerUnreachable => UploadWait::ServerUnreachable,
            W::Paused => UploadWait::Paused,
            W::WaitingForWifi => UploadWait::WaitingForWifi,
            W::Throttled { retry_after_secs } => UploadWait::Throttled { retry_after_secs },
            W::Retrying { in_secs } => UploadWait::Retrying { in_secs },
            W::SignInNeeded => UploadWait::SignInNeeded,
            W::WrongUser => UploadWait::WrongUser,
        }
    }
}

impl PendingChangeInfo {
    fn new(c: mooring_core::store::PendingChange, wait: mooring_core::UploadWait) -> Self {
        let waiting = if c.in_flight {
            UploadWait::Uploading
        } else {
            wait.into()
        };
        PendingChangeInfo {
            waiting,
            seq: c.seq,
            table: c.table,
            row_id: c.row_id,
            action: c.op.into(),
            columns: c.columns,
            queued_at_ms: c.queued_at_ms,
            in_flight: c.in_flight,
            attempts: c.attempts,
            transaction: c.transaction,
        }
    }
}

impl From<mooring_core::SyncError> for SyncErrorInfo {
    fn from(e: mooring_core::SyncError) -> Self {
        use mooring_core::outbox::SyncErrorKind as K;
        SyncErrorInfo {
            id: e.id,
            at_ms: e.at_ms,
            table: e.table,
            row_id: e.row_id,
            action: e.action.into(),
            values: e
                .data
                .into_iter()
                .map(|(k, v)| (k, Value::from(v)))
                .collect(),
            http_status: e.status,
            code: e.code,
            message: e.message,
            kind: match e.kind {
                K::Conflict => SyncErrorKind::Conflict,
                K::RecordNotFound => SyncErrorKind::RecordNotFound,
                K::Other => SyncErrorKind::Other,
            },
            transaction: e
                .transaction
                .into_iter()
                .map(|c| TransactionChange {
                    table: c.table,
                    row_id: c.row_id,
                    action: c.action.into(),
                    values: c
                        .data
                        .into_iter()
                        .map(|(k, v)| (k, Value::from(v)))
                        .collect(),
                })
                .collect(),
        }
    }
}

/// The app's offline data. Kotlin: `MooringApp.open(config, tokens)`
/// (suspend); Swift: `try await MooringApp.open(config:tokens:)`.
#[derive(uniffi::Object)]
pub struct MooringApp {
    inner: Arc<Mooring>,
}

impl MooringApp {
    /// Opens from Rust (the tests); the same as the exported constructor.
    pub async fn open_with(
        config: AppConfig,
        tokens: Arc<dyn TokenProvider>,
    ) -> Result<Arc<MooringApp>, MooringError> {
        let config = config.into_core(tokens)?;
        run(async move {
            if let Some(dir) = config.database.parent() {
                std::fs::create_dir_all(dir).map_err(|e| MooringError::Storage {
                    reason: format!("cannot create the data folder: {e}"),
                })?;
            }
            let app = Mooring::open(config).await?;
            Ok(Arc::new(MooringApp {
                inner: Arc::new(app),
            }))
        })
        .await
    }

    fn app(&self) -> Arc<Mooring> {
        self.inner.clone()
    }
}

#[uniffi::export]
impl MooringApp {
    /// Opens (or creates) this account's mirror and starts syncing in the
    /// background. Works offline: reads answer at once from the mirror.
    #[uniffi::constructor]
    pub async fn open(
        config: AppConfig,
        tokens: Arc<dyn TokenProvider>,
    ) -> Result<Arc<MooringApp>, MooringError> {
        Self::open_with(config, tokens).await
    }

    /// One row by key (GUID, any case), local changes included; None if
    /// there is no such row.
    pub async fn get(&self, table: String, id: String) -> Result<Option<Row>, MooringError> {
        let app = self.app();
        run(async move { Ok(app.get_typed(&table, &id).await?.map(row_from_typed)) }).await
    }

    pub async fn query(&self, query: Query) -> Result<Vec<Row>, MooringError> {
        let app = self.app();
        let query = mooring_core::Query::try_from(query)?;
        run(async move {
            Ok(app
                .query_typed(query)
                .await?
                .into_iter()
                .map(row_from_typed)
                .collect())
        })
        .await
    }

    /// Calls `listener` with the query's rows now, then each time they
    /// change, until the handle is cancelled or dropped. Async because the
    /// first read happens before it returns (bad queries throw here).
    pub async fn watch(
        &self,
        query: Query,
        listener: Arc<dyn RowsListener>,
    ) -> Result<Arc<TaskHandle>, MooringError> {
        let app = self.app();
        let query = mooring_core::Query::try_from(query)?;
        run(async move {
            let typer = app.typer();
            let table = query.table.clone();
            let handle = tokio::task::spawn_blocking(move || {
                app.watch(query, move |rows| {
                    // Typing reads the mirror (lookup names): a failure
                    // (the mirror closing) skips this delivery, never a
                    // half-typed list.
                    match typer.rows(&table, rows.to_vec()) {
                        Ok(rows) => {
                            let rows = rows.into_iter().map(row_from_typed).collect();
                            guarded("rows listener", || listener.on_rows(rows));
                        }
                        Err(e) => tracing::warn!("watch: rows not delivered: {e}"),
                    }
                })
            })
            .await
            .map_err(mooring_core::Error::from)??;
            Ok(TaskHandle::new(Handle::Watch(handle)))
        })
        .await
    }

    /// One read-only SQL statement over the mirror's tables (joins,
    /// aggregates, CTEs), local changes included, with `?`/`?N` parameters
    /// bound from `params`. Tables and columns are the profile's logical
    /// names (docs/profile.md). A write, a PRAGMA, one of Mooring's own
    /// tables or bad SQL throws `SqlRefused`.
    pub async fn sql(&self, sql: String, params: Vec<Value>) -> Result<SqlRows, MooringError> {
        let app = self.app();
        let params = params_to_core(params)?;
        run(async move { Ok(SqlRows::from(&app.sql(&sql, params).await?)) }).await
    }

    /// Calls `listener` with the SQL read's result now, then each time a
    /// write to a table it reads changes the result (at most every 50 ms),
    /// until the handle is cancelled or dropped. Bad SQL throws here.
    pub async fn watch_sql(
        &self,
        sql: String,
        params: Vec<Value>,
        listener: Arc<dyn SqlListener>,
    ) -> Result<Arc<TaskHandle>, MooringError> {
        let app = self.app();
        let params = params_to_core(params)?;
        run(async move {
            let handle = tokio::task::spawn_blocking(move || {
                app.watch_sql(&sql, params, move |rows| {
                    let rows = SqlRows::from(rows);
                    guarded("SQL listener", || listener.on_rows(rows));
                })
            })
            .await
            .map_err(mooring_core::Error::from)??;
            Ok(TaskHandle::new(Handle::Watch(handle)))
        })
        .await
    }

    /// Creates a row; returns its new GUID. `values`: column logical names
    /// to values; a lookup takes the target row's GUID as `Text`.
    pub async fn create(
        &self,
        table: String,
        values: HashMap<String, Value>,
    ) -> Result<String, MooringError> {
        let app = self.app();
        let values = values_to_json(values)?;
        run(async move { Ok(app.create(&table, values).await?) }).await
    }

    /// Changes the given columns of a row.
    pub async fn update(
        &self,
        table: String,
        id: String,
        values: HashMap<String, Value>,
    ) -> Result<(), MooringError> {
        let app = self.app();
        let values = values_to_json(values)?;
        run(async move { Ok(app.update(&table, &id, values).await?) }).await
    }

    pub async fn delete(&self, table: String, id: String) -> Result<(), MooringError> {
        let app = self.app();
        run(async move { Ok(app.delete(&table, &id).await?) }).await
    }

    /// Several writes as one: applied to the mirror and the outbox together
    /// or not at all (the first refused write cancels all of them, with its
    /// error), and uploaded as one `$batch` change set the server applies
    /// whole or not at all. Returns each write's row id, in order (a
    /// create's new GUID). Kotlin's `writeTransaction { }` and Swift's
    /// `writeTransaction { tx in }` build `ops`.
    pub async fn write_transaction(&self, ops: Vec<WriteOp>) -> Result<Vec<String>, MooringError> {
        /// A `WriteOp` with its values checked for JSON (before the
        /// writer is taken).
        enum Write {
            Create(
                String,
                Option<String>,
                serde_json::Map<String, serde_json::Value>,
            ),
            Update(String, String, serde_json::Map<String, serde_json::Value>),
            Delete(String, String),
        }
        let app = self.app();
        let writes = ops
            .into_iter()
            .map(|op| {
                Ok(match op {
                    WriteOp::Create { table, id, values } => {
                        Write::Create(table, id, values_to_json(values)?)
                    }
                    WriteOp::Update { table, id, values } => {
                        Write::Update(table, id, values_to_json(values)?)
                    }
                    WriteOp::Delete { table, id } => Write::Delete(table, id),
                })
            })
            .collect::<Result<Vec<_>, MooringError>>()?;
        run(async move {
            Ok(app
                .write_transaction(move |tx| {
                    writes
                        .into_iter()
                        .map(|w| match w {
                            Write::Create(table, None, values) => tx.create(&table, &values),
                            Write::Create(table, Some(id), values) => {
                                tx.create_with_id(&table, &id, &values)
                            }
                            Write::Update(table, id, values) => {
                                tx.update(&table, &id, &values).map(|()| id)
                            }
                            Write::Delete(table, id) => tx.delete(&table, &id).map(|()| id),
                        })
                        .collect()
                })
                .await?)
        })
        .await
    }

    /// Changes waiting for upload.
    pub async fn pending_count(&self) -> Result<u64, MooringError> {
        let app = self.app();
        run(async move { Ok(app.pending_count().await?) }).await
    }

    /// The changes waiting for upload, oldest first, at most `limit`.
    pub async fn pending_changes(
        &self,
        limit: u32,
    ) -> Result<Vec<PendingChangeInfo>, MooringError> {
        let app = self.app();
        run(async move {
            let changes = app.pending_changes(limit as usize).await?;
            let wait = app.upload_wait().await?;
            Ok(changes
                .into_iter()
                .map(|c| PendingChangeInfo::new(c, wait))
                .collect())
        })
        .await
    }

    /// "3 changes waiting for 2 h: no connection" (English), for an outbox
    /// screen or the status sheet; null when nothing waits.
    pub async fn pending_summary(&self) -> Result<Option<String>, MooringError> {
        let app = self.app();
        run(async move { Ok(app.pending_summary().await?) }).await
    }

    /// Syncs now and returns when that run ended (throws why it could not
    /// run or failed). The status shows each step meanwhile.
    pub async fn sync_now(&self) -> Result<(), MooringError> {
        let app = self.app();
        run(async move { Ok(app.sync_now().await?) }).await
    }

    /// Uploads pending changes now, without downloading.
    pub async fn upload_now(&self) -> Result<(), MooringError> {
        let app = self.app();
        run(async move { Ok(app.upload_now().await?) }).await
    }

    /// The diagnostics report as text the app can share with support:
    /// versions, the profile, each table's sync state, the outbox, sync
    /// errors (codes, no values), the recent status changes and sync runs,
    /// the database's size and integrity, and recent log records. No token,
    /// key or row value in it.
    pub async fn diagnostics(&self) -> Result<String, MooringError> {
        let app = self.app();
        run(async move { Ok(app.diagnostics().await?.to_text()) }).await
    }

    /// Asks for a sync without waiting (pull-to-refresh).
    pub fn request_sync(&self) {
        self.inner.request_sync();
    }

    /// The status now.
    pub fn status(&self) -> SyncStatus {
        SyncStatus::from(&self.inner.status())
    }

    /// `listener` gets the current status at once, then every change,
    /// until the handle is cancelled or dropped (or the app closes).
    pub fn observe_status(
        &self,
        listener: Arc<dyn StatusListener>,
    ) -> Result<Arc<TaskHandle>, MooringError> {
        // The hub delivers on the runtime it was opened on; make sure it exists.
        let _rt = runtime()?.enter();
        let handle = self.inner.observe_status(move |s| {
            let status = SyncStatus::from(s);
            guarded("status listener", || listener.on_status(status));
        });
        Ok(TaskHandle::new(Handle::Status(handle)))
    }

    /// Changes the server refused, oldest first.
    pub async fn sync_errors(&self) -> Result<Vec<SyncErrorInfo>, MooringError> {
        let app = self.app();
        run(async move {
            Ok(app
                .sync_errors()
                .await?
                .into_iter()
                .map(Into::into)
                .collect())
        })
        .await
    }

    /// Queues a refused change again (with the row's current values).
    pub async fn retry_sync_error(&self, id: i64) -> Result<(), MooringError> {
        let app = self.app();
        run(async move { Ok(app.retry_sync_error(id).await?) }).await
    }

    /// Drops a refused change; the row keeps the server's state.
    pub async fn discard_sync_error(&self, id: i64) -> Result<(), MooringError> {
        let app = self.app();
        run(async move { Ok(app.discard_sync_error(id).await?) }).await
    }

    /// What the OS says (ConnectivityManager, NWPathMonitor). Offline stops
    /// a running sync at once.
    pub fn set_host_network(&self, online: bool, metered: bool) {
        self.inner.set_host_network(online, metered);
    }

    pub fn set_wifi_only(&self, on: bool) {
        self.inner.set_wifi_only(on);
    }

    /// The app went to the background: stop syncing.
    pub fn pause(&self) {
        self.inner.pause();
    }

    /// The app came to the foreground: check the server and sync.
    pub fn resume(&self) {
        self.inner.resume();
    }

    /// Stops syncing and every listener (core's `close`). Reads still work
    /// until the object is released. Not named `close`: Kotlin's
    /// `AutoCloseable.close()` (releasing the object) owns that name.
    pub async fn shutdown(&self) {
        let app = self.app();
        let _ = run(async move {
            app.close().await;
            Ok(())
        })
        .await;
    }

    /// Signs out: deletes this account's local data. With changes not yet
    /// on the server and `discard_pending == false`, throws
    /// `PendingChanges { count }` and deletes nothing. Afterwards every
    /// call throws `Closed`.
    pub async fn sign_out(&self, discard_pending: bool) -> Result<(), MooringError> {
        let app = self.app();
        run(async move { Ok(app.sign_out(discard_pending).await?) }).await
    }
}

/// Calls host code; a panic (a Kotlin/Swift exception surfacing as one)
/// is logged and swallowed, so it never unwinds into core's threads.
fn guarded(what: &str, f: impl FnOnce()) {
    if catch_unwind(AssertUnwindSafe(f)).is_err() {
        tracing::warn!("{what} failed; ignored");
    }
}
