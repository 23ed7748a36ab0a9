//! mooring-devserver: a Dataverse Web API emulator (OData v4) on loopback.
//!
//! Start it in-process with [`start`]; control it (faults, server-side edits,
//! counters) with [`Admin`]. `devserver/README.md` lists what is emulated.

mod api;
mod batch;
mod cookie;
mod filter;
#[doc(hidden)]
pub mod fuzzing;
mod http;
mod metadata;
mod nonsense;
mod read;
mod schema;
mod seed;
mod store;
mod write;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use uuid::Uuid;

pub use nonsense::Nonsense;
pub use schema::SAMPLE_SCHEMA;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("configuration: {0}")]
    Config(String),
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// A request the emulator refused (bad values, missing row...): HTTP status and Dataverse message.
    #[error("{status} {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error("internal: {0}")]
    Internal(String),
}

impl From<api::ApiError> for Error {
    fn from(e: api::ApiError) -> Error {
        Error::Api {
            status: e.status,
            code: e.code,
            message: e.message,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// 0 picks a free port.
    pub port: u16,
    /// None keeps everything in memory.
    pub db_path: Option<PathBuf>,
    /// Rows seeded per table (into empty tables only).
    pub seed_rows: usize,
    /// Entity sets to seed; empty seeds every table (but systemusers, which
    /// hold the users).
    pub seed_tables: Vec<String>,
    pub seed: u64,
    /// The default user's bearer token.
    pub token: String,
    /// The default user's full name.
    pub user_name: String,
    /// More users: (full name, token).
    pub extra_users: Vec<(String, String)>,
    /// None = the built-in sample schema.
    pub schema: Option<PathBuf>,
    /// Delta tokens older than this fail with 0x80044352.
    pub delta_retention: Duration,
    /// Largest page served (Dataverse: 5000).
    pub max_page_size: usize,
    /// (requests, window) per user; past it, 429.
    pub request_budget: Option<(u32, Duration)>,
    /// Concurrent requests per user (Dataverse: 52); past it, 429 with 0x80072326.
    pub max_concurrent: Option<u32>,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Compress answers whose request asks for it (`Accept-Encoding: gzip`),
    /// as Dataverse does. Never when not asked.
    pub compression: bool,
    /// HTTPS with the built-in test certificate (`devserver/tls/`: for
    /// localhost and 127.0.0.1, signed by [`TEST_CA_PEM`]), offering HTTP/2
    /// and HTTP/1.1 by ALPN as Dataverse does. Plain HTTP/1.1 (and h2c)
    /// otherwise.
    pub tls: bool,
    /// The host name its links (`@odata.nextLink`, delta links) carry, as
    /// Dataverse's carry its own (`org.crm.dynamics.com`): an emulator
    /// reached by another name (through a proxy, a DNS entry) names itself
    /// so. Default: 127.0.0.1.
    pub public_host: Option<String>,
}

/// The certificate authority that signed the emulator's test certificate.
/// Its key is public: trust it in tests and development only.
pub const TEST_CA_PEM: &[u8] = include_bytes!("../tls/test-ca.pem");

impl Default for Config {
    fn default() -> Config {
        Config {
            port: 0,
            db_path: None,
            seed_rows: 0,
            seed_tables: vec![],
            seed: 1,
            token: "dev-token".into(),
            user_name: "Dev User".into(),
            extra_users: vec![],
            schema: None,
            delta_retention: Duration::from_secs(7 * 86_400),
            max_page_size: 5000,
            request_budget: None,
            max_concurrent: None,
            max_body_bytes: 16 * 1024 * 1024,
            compression: true,
            tls: false,
            public_host: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct User {
    pub id: Uuid,
    pub name: String,
    /// Empty for seeded users that cannot log in.
    pub token: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// HTTP requests under /api/data (a $batch counts once).
    pub requests: u64,
    /// Rows (and deleted-entity entries) sent in responses.
    pub rows_served: u64,
    /// The same, per entity set.
    pub rows_served_by_table: std::collections::BTreeMap<String, u64>,
    /// $batch requests.
    pub batch_requests: u64,
    /// Bytes of API answer bodies before compression (the JSON).
    pub body_bytes: u64,
    /// Bytes the server wrote on its connections: status lines, headers and
    /// bodies as sent (compressed when asked, encrypted under TLS), admin
    /// answers included.
    pub wire_bytes: u64,
    /// Connections accepted (TLS: handshakes completed).
    pub connections: u64,
    /// TLS handshakes that failed (a client that does not trust the
    /// certificate hangs up in the handshake).
    pub tls_handshake_failures: u64,
    /// /api/data requests that came over HTTP/2.
    pub http2_requests: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub requests: AtomicU64,
    pub rows_served: AtomicU64,
    pub batch_requests: AtomicU64,
    pub body_bytes: AtomicU64,
    pub wire_bytes: AtomicU64,
    pub connections: AtomicU64,
    pub tls_handshake_failures: AtomicU64,
    pub http2_requests: AtomicU64,
    pub rows_by_table: std::sync::Mutex<std::collections::BTreeMap<String, u64>>,
}

impl Counters {
    pub fn add_rows(&self, entity_set: &str, n: u64) {
        self.rows_served.fetch_add(n, Ordering::Relaxed);
        let mut by = self.rows_by_table.lock().unwrap_or_else(|p| p.into_inner());
        *by.entry(entity_set.to_string()).or_default() += n;
    }
}

/// Fault injection state, read by the HTTP layer and the handler.
#[derive(Default)]
pub(crate) struct Faults {
    pub latency_ms: AtomicU64,
    pub fail_count: AtomicU32,
    pub fail_status: AtomicU32,
    pub truncate_after: Mutex<Option<usize>>,
    pub token_generation: AtomicU64,
    pub refusing: std::sync::atomic::AtomicBool,
    /// The next N successful entity reads answer this instead.
    /// (kind, how many, only reads of this entity set).
    pub nonsense: Mutex<Option<(Nonsense, u32, Option<String>)>>,
    /// Bearer tokens /api/data refuses with 401 (revoked) until restored.
    pub revoked: Mutex<std::collections::HashSet<String>>,
}

impl Faults {
    /// Consumes one injected nonsense answer, if any is pending.
    pub(crate) fn take_nonsense(&self, entity_set: &str) -> Option<Nonsense> {
        let mut g = self.nonsense.lock().unwrap_or_else(|p| p.into_inner());
        let (kind, n, only) = g.take()?;
        if only.as_deref().is_some_and(|o| o != entity_set) {
            *g = Some((kind, n, only));
            return None;
        }
        *g = (n > 1).then(|| (kind, n - 1, only));
        Some(kind)
    }

    pub(crate) fn is_revoked(&self, token: &str) -> bool {
        self.revoked
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(token)
    }
}

/// Everything the handlers share.
pub(crate) struct Shared {
    pub schema: schema::Schema,
    pub db: Mutex<store::Db>,
    pub base_url: String,
    pub users: Vec<User>,
    pub max_page_size: usize,
    pub delta_retention: Duration,
    pub request_budget: Option<(u32, Duration)>,
    pub max_concurrent: Option<u32>,
    pub in_flight: Mutex<std::collections::HashMap<Uuid, u32>>,
    pub max_body_bytes: usize,
    pub compression: bool,
    pub tls: bool,
    pub organization_id: Uuid,
    pub business_unit_id: Uuid,
    pub faults: Faults,
    pub stats: Counters,
    pub budgets: Mutex<std::collections::HashMap<Uuid, (std::time::Instant, u32)>>,
}

impl Shared {
    pub fn user_by_token(&self, token: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| !u.token.is_empty() && u.token == token)
    }

    /// Runs `f` with the database locked, as `user`.
    pub fn with_ctx<R>(
        &self,
        user: &User,
        f: impl FnOnce(&mut api::Ctx<'_>) -> R,
    ) -> Result<R, Error> {
        // A panic while locked cannot leave SQLite half-written (statements
        // and savepoints are atomic), so a poisoned lock is still usable.
        let mut db = self.db.lock().unwrap_or_else(|p| p.into_inner());
        let mut ctx = api::Ctx {
            sh: self,
            db: &mut db,
            user,
            content_ids: Default::default(),
        };
        Ok(f(&mut ctx))
    }
}

/// A running emulator. Dropping it without `shutdown` leaves the server
/// running until the runtime stops.
pub struct RunningServer {
    shared: Arc<Shared>,
    port: u16,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl RunningServer {
    pub fn port(&self) -> u16 {
        self.port
    }
    pub fn root_url(&self) -> String {
        let scheme = if self.shared.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }
    pub fn admin(&self) -> Admin {
        Admin {
            shared: self.shared.clone(),
        }
    }
    /// Stops accepting, lets requests in flight finish (at most 2 s).
    pub async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        let abort = self.task.abort_handle();
        if tokio::time::timeout(Duration::from_secs(2), &mut self.task)
            .await
            .is_err()
        {
            abort.abort();
        }
    }
}

/// Starts the emulator on 127.0.0.1 (in the current tokio runtime).
pub async fn start(config: Config) -> Result<RunningServer, Error> {
    let schema = schema::Schema::load(config.schema.as_deref())?;
    if let Some(set) = config
        .seed_tables
        .iter()
        .find(|s| schema.by_set(s).is_none())
    {
        return Err(Error::Config(format!(
            "seed tables: no entity set {set} in the schema"
        )));
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port)).await?;
    let port = listener.local_addr()?.port();
    let mut users = vec![User {
        id: seed::user_id(&config.user_name),
        name: config.user_name.clone(),
        token: config.token.clone(),
    }];
    for (name, token) in &config.extra_users {
        users.push(User {
            id: seed::user_id(name),
            name: name.clone(),
            token: token.clone(),
        });
    }
    // Seeded owners that nobody logs in as, so "owned by me" is a real subset.
    for name in ["Avery Quinn", "Jordan Blake"] {
        if !users.iter().any(|u| u.name == name) {
            users.push(User {
                id: seed::user_id(name),
                name: name.into(),
                token: String::new(),
            });
        }
    }
    let cfg = config.clone();
    let users2 = users.clone();
    let schema2 = schema.clone();
    let db = tokio::task::spawn_blocking(move || -> Result<store::Db, Error> {
        let mut db = store::Db::open(cfg.db_path.as_deref(), &schema2)?;
        let pairs: Vec<(Uuid, String)> = users2.iter().map(|u| (u.id, u.name.clone())).collect();
        seed::ensure_users(&mut db, &schema2, &pairs)?;
        let owners: Vec<Uuid> = users2.iter().map(|u| u.id).collect();
        let t0 = std::time::Instant::now();
        seed::seed(
            &mut db,
            &schema2,
            cfg.seed_rows,
            &cfg.seed_tables,
            cfg.seed,
            &owners,
        )?;
        if cfg.seed_rows > 0 {
            tracing::info!(
                rows = cfg.seed_rows,
                elapsed_ms = t0.elapsed().as_millis() as u64,
                "seeded"
            );
        }
        Ok(db)
    })
    .await
    .map_err(|e| Error::Internal(format!("seeding task failed: {e}")))??;
    let shared = Arc::new(Shared {
        schema,
        db: Mutex::new(db),
        base_url: format!(
            "{}://{}:{port}/api/data/v9.2/",
            if config.tls { "https" } else { "http" },
            config.public_host.as_deref().unwrap_or("127.0.0.1")
        ),
        tls: config.tls,
        users,
        max_page_size: config.max_page_size.clamp(1, api::MAX_PAGE),
        delta_retention: config.delta_retention,
        request_budget: config.request_budget,
        max_concurrent: config.max_concurrent,
        in_flight: Mutex::new(Default::default()),
        max_body_bytes: config.max_body_bytes,
        compression: config.compression,
        organization_id: seed::user_id("organization"),
        business_unit_id: seed::user_id("business unit"),
        faults: Faults::default(),
        stats: Counters::default(),
        budgets: Mutex::new(Default::default()),
    });
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(http::serve(listener, shared.clone(), rx));
    Ok(RunningServer {
        shared,
        port,
        stop: Some(tx),
        task,
    })
}

/// In-process control of a running emulator: faults, server-side edits as
/// another user, counters. Cheap to clone.
#[derive(Clone)]
pub struct Admin {
    shared: Arc<Shared>,
}

impl Admin {
    pub(crate) fn new(shared: Arc<Shared>) -> Admin {
        Admin { shared }
    }
    /// Delay before every /api/data answer.
    pub fn set_latency(&self, d: Duration) {
        self.shared
            .faults
            .latency_ms
            .store(d.as_millis() as u64, Ordering::SeqCst);
    }
    /// The next `n` /api/data requests answer `status` with a Dataverse error body.
    pub fn fail_next(&self, n: u32, status: u16) {
        self.shared
            .faults
            .fail_status
            .store(status as u32, Ordering::SeqCst);
        self.shared.faults.fail_count.store(n, Ordering::SeqCst);
    }
    /// The next collection or delta page sends `rows` rows, then the
    /// connection is cut mid-body.
    pub fn truncate_next_page_after(&self, rows: usize) {
        if let Ok(mut g) = self.shared.faults.truncate_after.lock() {
            *g = Some(rows);
        }
    }
    /// The next `n` successful collection or delta reads (`GET <set>`)
    /// answer `kind` instead of their page (`n` = 0 switches it off).
    pub fn nonsense_next(&self, kind: Nonsense, n: u32) {
        self.nonsense_next_for(kind, n, None);
    }
    /// The same, counting only reads of one entity set (the others answer
    /// as usual): aims the fault at one table of a parallel download.
    pub fn nonsense_next_for(&self, kind: Nonsense, n: u32, entity_set: Option<&str>) {
        let mut g = self
            .shared
            .faults
            .nonsense
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        *g = (n > 0).then(|| (kind, n, entity_set.map(str::to_string)));
    }
    /// Every delta token issued so far now fails with 0x80044352.
    pub fn expire_delta_tokens(&self) {
        self.shared
            .faults
            .token_generation
            .fetch_add(1, Ordering::SeqCst);
    }
    /// Accept-and-drop every connection, and cut open ones on their next read.
    pub fn set_refusing_connections(&self, on: bool) {
        self.shared.faults.refusing.store(on, Ordering::SeqCst);
    }
    /// Revokes (`on`) or restores a user's bearer token: while revoked,
    /// every /api/data request with it answers 401 like an unknown token.
    /// The admin API keeps accepting it, so it can be restored.
    pub fn set_token_revoked(&self, token: &str, on: bool) {
        let mut g = self
            .shared
            .faults
            .revoked
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if on {
            g.insert(token.to_string());
        } else {
            g.remove(token);
        }
    }
    /// Switches every injected fault off: latency, pending failures,
    /// truncation and nonsense, refused connections, revoked tokens.
    /// Expired delta tokens stay expired (that is server state).
    pub fn clear_faults(&self) {
        let f = &self.shared.faults;
        f.latency_ms.store(0, Ordering::SeqCst);
        f.fail_count.store(0, Ordering::SeqCst);
        *f.truncate_after.lock().unwrap_or_else(|p| p.into_inner()) = None;
        *f.nonsense.lock().unwrap_or_else(|p| p.into_inner()) = None;
        f.refusing.store(false, Ordering::SeqCst);
        f.revoked.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
    pub fn users(&self) -> Vec<User> {
        self.shared.users.clone()
    }
    fn user(&self, id: Uuid) -> Result<User, Error> {
        self.shared
            .users
            .iter()
            .find(|u| u.id == id)
            .cloned()
            .ok_or_else(|| Error::Api {
                status: 400,
                code: String::new(),
                message: format!("no user {id}"),
            })
    }
    fn table(&self, set: &str) -> Result<&schema::Table, Error> {
        self.shared.schema.by_set(set).ok_or_else(|| Error::Api {
            status: 404,
            code: "0x8006088a".into(),
            message: format!("Resource not found for the segment '{set}'."),
        })
    }
    /// Creates a row as `as_user` (values in Web API write shape, `@odata.bind` included).
    pub fn create_row(
        &self,
        entity_set: &str,
        as_user: Uuid,
        values: serde_json::Value,
    ) -> Result<Uuid, Error> {
        let t = self.table(entity_set)?;
        let user = self.user(as_user)?;
        self.shared
            .with_ctx(&user, |ctx| write::admin_write(ctx, t, None, &values))?
            .map_err(Error::from)
    }
    pub fn update_row(
        &self,
        entity_set: &str,
        id: Uuid,
        as_user: Uuid,
        values: serde_json::Value,
    ) -> Result<(), Error> {
        let t = self.table(entity_set)?;
        let user = self.user(as_user)?;
        self.shared
            .with_ctx(&user, |ctx| write::admin_write(ctx, t, Some(id), &values))?
            .map(|_| ())
            .map_err(Error::from)
    }
    pub fn delete_row(&self, entity_set: &str, id: Uuid) -> Result<(), Error> {
        let t = self.table(entity_set)?;
        let user = self.shared.users[0].clone();
        self.shared
            .with_ctx(&user, |ctx| write::admin_delete(ctx, t, &id))?
            .map_err(Error::from)
    }
    /// Every row in Web API read shape, ordered by key.
    pub fn rows(
        &self,
        entity_set: &str,
    ) -> Result<Vec<serde_json::Map<String, serde_json::Value>>, Error> {
        let t = self.table(entity_set)?;
        let user = self.shared.users[0].clone();
        self.shared
            .with_ctx(&user, |ctx| read::all_rows(ctx, t))?
            .map_err(Error::from)
    }
    /// One row in read shape, None when missing.
    pub fn row(
        &self,
        entity_set: &str,
        id: Uuid,
    ) -> Result<Option<serde_json::Map<String, serde_json::Value>>, Error> {
        let t = self.table(entity_set)?;
        let user = self.shared.users[0].clone();
        self.shared
            .with_ctx(&user, |ctx| read::row_json(ctx, t, &id))?
            .map_err(Error::from)
    }
    pub fn stats(&self) -> Stats {
        let s = &self.shared.stats;
        Stats {
            requests: s.requests.load(Ordering::Relaxed),
            rows_served: s.rows_served.load(Ordering::Relaxed),
            rows_served_by_table: s
                .rows_by_table
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            batch_requests: s.batch_requests.load(Ordering::Relaxed),
            body_bytes: s.body_bytes.load(Ordering::Relaxed),
            wire_bytes: s.wire_bytes.load(Ordering::Relaxed),
            connections: s.connections.load(Ordering::Relaxed),
            tls_handshake_failures: s.tls_handshake_failures.load(Ordering::Relaxed),
            http2_requests: s.http2_requests.load(Ordering::Relaxed),
        }
    }
    pub fn reset_stats(&self) {
        let s = &self.shared.stats;
        s.requests.store(0, Ordering::Relaxed);
        s.rows_served.store(0, Ordering::Relaxed);
        s.rows_by_table
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        s.batch_requests.store(0, Ordering::Relaxed);
        s.body_bytes.store(0, Ordering::Relaxed);
        s.wire_bytes.store(0, Ordering::Relaxed);
        s.connections.store(0, Ordering::Relaxed);
        s.http2_requests.store(0, Ordering::Relaxed);
    }
}
