//! The one error type of mooring-core: every failure of the profile, the
//! store, the Web API client and the sync engines, typed so callers (the
//! status machine, the shells) can tell auth from network from data problems.
//! Messages never contain tokens; URLs carry no credentials (the token
//! travels in a header only).

use std::sync::Arc;
use std::time::Duration;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An error body of the Web API: `{"error":{"code":"0x...","message":"..."}}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ODataError {
    pub code: String,
    pub message: String,
}

/// Dataverse's ExpiredVersionStamp: the delta token is too old, re-baseline.
pub const EXPIRED_VERSION_STAMP: &str = "0x80044352";

/// `Clone`: one failed sync run answers every caller waiting for it with
/// the same typed error (the SQLite and I/O errors are shared in an `Arc`).
#[derive(Clone, Debug, thiserror::Error)]
pub enum Error {
    /// The offline profile (or the app manifest) is malformed or does not
    /// match the server's schema. The message names the table/column/filter.
    #[error("profile: {0}")]
    Profile(String),

    /// The server said no with an HTTP status that retrying will not fix.
    #[error("HTTP {status} from {what}{}", odata_suffix(.odata))]
    Http {
        status: u16,
        what: String,
        odata: Option<ODataError>,
    },

    /// The token was refused even after asking the host for a fresh one.
    #[error("authentication failed: the server refused the token ({0})")]
    Auth(String),

    /// The host's token provider failed.
    #[error("could not get a token from the host: {0}")]
    TokenProvider(String),

    /// Still throttled (429) after the allowed retries.
    #[error(
        "throttled by the server (429) after {attempts} attempts; last Retry-After {retry_after:?}"
    )]
    Throttled {
        attempts: u32,
        retry_after: Option<Duration>,
    },

    /// Could not reach the server, the connection dropped or timed out, after
    /// the allowed retries.
    #[error("network: {0}")]
    Network(String),

    /// The host says the device has no network: nothing was sent. Local
    /// reads and writes work; sync runs when the network is back.
    #[error("offline: the device has no network")]
    Offline,

    /// Sync is paused by the app (`pause()`, the app in the background).
    #[error("sync is paused")]
    Paused,

    /// Sync is set to Wi-Fi only and the device is on a metered network.
    #[error("waiting for Wi-Fi: sync is set to Wi-Fi only")]
    WaitingForWifi,

    /// Another `Mooring` (in this process or another) has this database
    /// open. Nothing was read or written. `holder` says who, when the lock
    /// file says (`mooring sync` pid 1234, an app's process name).
    #[error("the local database is in use by {}", .holder.as_deref().unwrap_or("another process"))]
    InUse { holder: Option<String> },

    /// The server answered something that is not the documented protocol.
    /// `problem` classifies it for the status (HTML, cut, wrong table...).
    #[error("unexpected response from {what}: {detail}")]
    Protocol {
        what: String,
        detail: String,
        problem: crate::status::ResponseProblem,
    },

    /// The local SQLite mirror failed.
    #[error("local store: {0}")]
    Store(Arc<rusqlite::Error>),

    /// A read of the local store named a table or column the profile lacks.
    #[error("query: {0}")]
    Query(String),

    /// The server's TLS certificate is not trusted (a root this device does
    /// not know: a company CA not installed, a network in between that
    /// intercepts TLS; a wrong host name; an expired certificate) or the
    /// handshake failed. Not retried: the same certificate fails the same
    /// way. Nothing, not even the token, was sent.
    #[error("TLS: {0}")]
    Tls(String),

    /// A SQL read (`Store::sql`, `Mooring::sql`) that is not one read-only
    /// statement over the mirror's tables; nothing was read or written.
    #[error("SQL refused: {reason}")]
    SqlRefused {
        refusal: crate::store::SqlRefusal,
        reason: String,
    },

    /// A local write (create/update/delete) the profile does not allow;
    /// nothing was written.
    #[error("write refused: {0}")]
    Write(#[from] WriteError),

    #[error("I/O: {0}")]
    Io(Arc<std::io::Error>),

    /// The local database cannot be opened with the key given: a wrong key,
    /// an encrypted file opened without one, or a plain file opened with
    /// one. Nothing was read or written.
    #[error("local database: {0}")]
    WrongKey(KeyProblem),

    /// The local database was written by a newer release of the app (its
    /// schema version is above what this build knows). Nothing was read or
    /// written: updating the app opens it.
    #[error(
        "local database: written by a newer version of the app (schema {found}, this build knows up to {supported}): update the app"
    )]
    NewerDatabase { found: u32, supported: u32 },

    /// The local database belongs to another Dataverse user than the one
    /// the token signs in: nothing is synced into it. Open the signed-in
    /// user's own database (`database_path`) instead.
    #[error(
        "this local database belongs to another user than the one signed in; \
         it is not synced (open this user's own database, or sign the other user out)"
    )]
    WrongUser {
        /// The `UserId` recorded in the database at its first connection.
        expected: String,
        /// The `UserId` WhoAmI answers for the current token.
        actual: String,
    },

    /// Sign-out would delete changes not yet on the server (pending
    /// uploads and sync errors); nothing was deleted. The host shows the
    /// count and calls `sign_out(true)` once the user confirms.
    #[error(
        "signing out would lose {count} change(s) not yet saved on the server; nothing was deleted"
    )]
    PendingChangesWouldBeLost { count: u64 },

    /// A server URL (or a link the server sent) that is not HTTPS, outside
    /// loopback and without `RemoteConfig::allow_insecure_http`.
    #[error("insecure URL refused: {0}")]
    InsecureUrl(String),

    /// The database was closed by `sign_out`; this handle no longer works.
    #[error("the local database is closed (signed out)")]
    Closed,

    /// A background task died (a bug, reported instead of panicking).
    #[error("internal: {0}")]
    Internal(String),
}

/// Why an encrypted (or plain) database could not be opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyProblem {
    /// The file is encrypted and the key given does not decrypt it (or the
    /// file is not a database at all).
    Wrong,
    /// The file is encrypted (or is not a database) and no key was given.
    Missing,
    /// The file is a plain SQLite database and a key was given.
    NotEncrypted,
}

impl std::fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeyProblem::Wrong => {
                "the encryption key is wrong (or the file is not a Mooring database)"
            }
            KeyProblem::Missing => {
                "the file is encrypted (or not a database) and no encryption key was given"
            }
            KeyProblem::NotEncrypted => {
                "the file is not encrypted but an encryption key was given \
                 (sign out to start an encrypted database)"
            }
        })
    }
}

fn odata_suffix(odata: &Option<ODataError>) -> String {
    match odata {
        Some(e) if e.code.is_empty() => format!(": {}", e.message),
        Some(e) => format!(": {} ({})", e.message, e.code),
        None => String::new(),
    }
}

impl Error {
    /// Network trouble the status machine shows as "server unreachable".
    pub fn is_network(&self) -> bool {
        matches!(self, Error::Network(_))
    }

    pub fn is_auth(&self) -> bool {
        matches!(self, Error::Auth(_) | Error::TokenProvider(_))
    }

    pub fn is_throttled(&self) -> bool {
        matches!(self, Error::Throttled { .. })
    }

    /// The OData error code, when the server sent one.
    /// The server says the delta token expired (0x80044352). The engine
    /// re-baselines the table itself; this is for callers of `Remote`.
    pub fn is_expired_delta_token(&self) -> bool {
        self.odata_code()
            .is_some_and(|c| c.eq_ignore_ascii_case(EXPIRED_VERSION_STAMP))
    }

    pub fn odata_code(&self) -> Option<&str> {
        match self {
            Error::Http { odata: Some(e), .. } => Some(e.code.as_str()),
            _ => None,
        }
    }

    pub(crate) fn protocol(what: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::bad_response(what, crate::status::ResponseProblem::Unexpected, detail)
    }

    pub(crate) fn bad_response(
        what: impl Into<String>,
        problem: crate::status::ResponseProblem,
        detail: impl Into<String>,
    ) -> Self {
        Error::Protocol {
            what: what.into(),
            detail: detail.into(),
            problem,
        }
    }

    /// A stable, value-free name of the failure ("network", "http_500",
    /// "protocol_html"...): the outcome of a run in the diagnostics report.
    pub fn code(&self) -> String {
        match self {
            Error::Profile(_) => "profile".into(),
            Error::Http { status, .. } => format!("http_{status}"),
            Error::Auth(_) => "auth".into(),
            Error::TokenProvider(_) => "token_provider".into(),
            Error::Throttled { .. } => "throttled".into(),
            Error::Network(_) => "network".into(),
            Error::Tls(_) => "tls".into(),
            Error::Offline => "offline".into(),
            Error::Paused => "paused".into(),
            Error::WaitingForWifi => "waiting_for_wifi".into(),
            Error::InUse { .. } => "in_use".into(),
            Error::Protocol { problem, .. } => format!("protocol_{}", problem.as_str()),
            Error::Store(e) => match e.sqlite_error_code() {
                Some(c) => format!("storage_{c:?}").to_lowercase(),
                None => "storage".into(),
            },
            Error::Query(_) => "query".into(),
            Error::SqlRefused { refusal, .. } => format!("sql_{}", refusal.as_str()),
            Error::Write(_) => "write".into(),
            Error::Io(e) => format!("io_{:?}", e.kind()).to_lowercase(),
            Error::WrongKey(_) => "wrong_key".into(),
            Error::NewerDatabase { .. } => "newer_database".into(),
            Error::WrongUser { .. } => "wrong_user".into(),
            Error::PendingChangesWouldBeLost { .. } => "pending_changes".into(),
            Error::InsecureUrl(_) => "insecure_url".into(),
            Error::Closed => "closed".into(),
            Error::Internal(_) => "internal".into(),
        }
    }

    /// The error without what a server or a row could have put in it (an
    /// OData message may quote a value; a parse error may quote the body):
    /// what Mooring's own log lines say, so the logs a diagnostics report
    /// carries hold no row value.
    pub fn summary(&self) -> String {
        match self {
            Error::Http {
                status,
                what,
                odata,
            } => match odata.as_ref().map(|o| o.code.as_str()) {
                Some(code) if !code.is_empty() => format!("HTTP {status} from {what} ({code})"),
                _ => format!("HTTP {status} from {what}"),
            },
            Error::Auth(m) => format!(
                "authentication failed ({})",
                m.split(':').next().unwrap_or("").trim()
            ),
            Error::Protocol { what, problem, .. } => {
                format!("unexpected response from {what} ({})", problem.as_str())
            }
            Error::Write(_) => "write refused".into(),
            Error::Query(_) => "query refused".into(),
            Error::SqlRefused { refusal, .. } => format!("SQL refused ({})", refusal.as_str()),
            other => other.to_string(),
        }
    }

    /// What was wrong with a success response outside the protocol.
    pub fn response_problem(&self) -> Option<crate::status::ResponseProblem> {
        match self {
            Error::Protocol { problem, .. } => Some(*problem),
            _ => None,
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Store(Arc::new(e))
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(Arc::new(e))
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Error::Internal(format!("background task failed: {e}"))
    }
}

/// A local write the profile does not allow. Names what is wrong; nothing
/// was written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("table {0} is not in the offline profile")]
    UnknownTable(String),
    #[error("table {table}: column {column} is not in the offline profile")]
    UnknownColumn { table: String, column: String },
    #[error("table {table}: column {column} expects {expected}, got {got}")]
    WrongType {
        table: String,
        column: String,
        expected: String,
        got: String,
    },
    #[error("table {table}: column {column} is read-only")]
    ReadOnly { table: String, column: String },
    #[error("table {table}: lookup {column} points at {id}, which is not in the mirror")]
    MissingLookupTarget {
        table: String,
        column: String,
        id: String,
    },
    #[error("table {table}: no row {id}")]
    RowNotFound { table: String, id: String },
    #[error("table {table}: row {id} already exists")]
    RowExists { table: String, id: String },
    #[error("values must be a JSON object")]
    NotAnObject,
    #[error("no sync error {0}")]
    NoSuchSyncError(i64),
    /// A local transaction uploads as one `$batch` change set, and the
    /// Web API takes at most 1000 requests in one.
    #[error("a transaction holds at most {max} changes; this one has {changes}")]
    TransactionTooLarge { changes: usize, max: usize },
}
