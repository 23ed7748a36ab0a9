//! The one FFI error: flat, with the fields a UI acts on, converted from
//! core's rich `Error` in ONE place (`From<mooring_core::Error>` below).
//! Reasons are short English for logs and developer screens; they never
//! carry a token, and never a server's error text or a row's values (those
//! can echo user data): the full error goes to `tracing` at debug level.

use mooring_core::{Error as E, WriteError as W};

/// Errors of every `MooringApp` call. Kotlin: `MooringException.<Variant>`;
/// Swift: `MooringError.<variant>`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum MooringError {
    /// The device has no network, or the server cannot be reached (timeout,
    /// refused, a sign-in portal). Local reads and writes still work; sync
    /// resumes by itself.
    #[error("offline: {reason}")]
    Offline { reason: String },
    /// The server's certificate is not trusted (a network intercepting TLS,
    /// a company root not installed: `AppConfig.extra_roots_pem`) or the
    /// TLS handshake failed. Nothing was sent; local reads and writes work.
    #[error("TLS: {reason}")]
    Tls { reason: String },
    /// Sync is paused (`pause()`, or the app is in the background).
    #[error("sync is paused")]
    Paused,
    /// Sync is set to Wi-Fi only and the device is on a metered network.
    #[error("waiting for Wi-Fi")]
    WaitingForWifi,
    /// The token was refused even after a refresh, or the host's token
    /// provider failed: sign in again.
    #[error("authentication: {reason}")]
    Auth { reason: String },
    /// The server throttles (HTTP 429); sync goes on by itself later.
    #[error("throttled by the server (retry after {retry_after_secs:?} s)")]
    Throttled { retry_after_secs: Option<u64> },
    /// Bad input: a table, column or value the profile does not allow, a
    /// bad query, a malformed config. `field` names the column or config
    /// field when there is one. Nothing was written.
    #[error("invalid: {reason}")]
    Validation {
        field: Option<String>,
        reason: String,
    },
    /// The profile or app manifest is malformed or does not match the
    /// server's schema; or local writes before the first sync checked it.
    #[error("profile: {reason}")]
    Profile { reason: String },
    /// A canvas app's source cannot be read or does not parse
    /// (`profile_from_canvas_app`): `file` (relative to the app folder when
    /// inside it), and the 1-based `line` and `column` when the culprit has
    /// a place; `reason` is the whole message, place included
    /// (`Src/App.fx.yaml:8:21: g.Items: expected a value, found ")"`).
    #[error("canvas app: {reason}")]
    CanvasApp {
        file: Option<String>,
        line: Option<u32>,
        column: Option<u32>,
        reason: String,
    },
    /// A SQL read (`sql`, `watch_sql`) that is not one read-only statement
    /// over the mirror's tables: a write, a PRAGMA/ATTACH, one of Mooring's
    /// own tables, a syntax error or the wrong number of parameters.
    /// Nothing was read or written.
    #[error("SQL refused: {reason}")]
    SqlRefused { refusal: SqlRefusal, reason: String },
    /// No such row (or sync error).
    #[error("not found: {reason}")]
    NotFound { reason: String },
    /// The row already exists, or the server's row changed (HTTP 409/412).
    #[error("conflict: {reason}")]
    Conflict { reason: String },
    /// The server refused with an HTTP status retrying will not fix.
    #[error("server: HTTP {status}: {reason}")]
    Server { status: u16, reason: String },
    /// The server answered something that is not the Web API (a sign-in
    /// portal's page, a cut body, another table's rows); `problem` says
    /// which. Sync retries by itself.
    #[error("unexpected response ({problem:?}): {reason}")]
    Protocol {
        problem: ResponseProblem,
        reason: String,
    },
    /// Another process (or another open app object) has this database
    /// open; `holder` names it when known ("mooring sync (pid 4242)").
    #[error("the local database is in use")]
    InUse { holder: Option<String> },
    /// Local storage failed (disk full, corrupt file, I/O).
    #[error("storage: {reason}")]
    Storage { reason: String },
    /// The database cannot be opened with the encryption key given (wrong
    /// key, key missing, or a plain file opened with a key).
    #[error("wrong key: {reason}")]
    WrongKey { reason: String },
    /// The database belongs to another Dataverse user than the token's.
    #[error("this local database belongs to another user")]
    WrongUser,
    /// `sign_out(false)` refused: `count` changes are not on the server yet.
    #[error("signing out would lose {count} change(s) not yet on the server")]
    PendingChanges { count: u64 },
    /// The app was signed out (or closed for good): open it again.
    #[error("closed")]
    Closed,
    /// A bug or a task that died; report it.
    #[error("internal: {reason}")]
    Internal { reason: String },
}

/// Why a SQL read was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum SqlRefusal {
    /// It writes: write with create/update/delete (they queue the upload).
    Write,
    /// A PRAGMA, ATTACH or DETACH.
    NotAllowed,
    /// A table that is not the mirror's (Mooring's bookkeeping, sqlite_schema).
    HiddenTable,
    /// Not one statement, a syntax error, an unknown table or column, or
    /// the wrong number of parameters.
    Invalid,
}

impl From<mooring_core::SqlRefusal> for SqlRefusal {
    fn from(r: mooring_core::SqlRefusal) -> Self {
        use mooring_core::SqlRefusal as R;
        match r {
            R::Write => SqlRefusal::Write,
            R::NotAllowed => SqlRefusal::NotAllowed,
            R::HiddenTable => SqlRefusal::HiddenTable,
            R::Invalid => SqlRefusal::Invalid,
        }
    }
}

/// What was wrong with a response outside the protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum ResponseProblem {
    /// An HTML page instead of data: a sign-in portal or a proxy.
    Html,
    WrongContentType,
    /// The body stopped before its end.
    Truncated,
    Malformed,
    DuplicateRows,
    WrongTable,
    Unexpected,
}

impl From<mooring_core::status::ResponseProblem> for ResponseProblem {
    fn from(p: mooring_core::status::ResponseProblem) -> Self {
        use mooring_core::status::ResponseProblem as P;
        match p {
            P::Html => ResponseProblem::Html,
            P::WrongContentType => ResponseProblem::WrongContentType,
            P::Truncated => ResponseProblem::Truncated,
            P::Malformed => ResponseProblem::Malformed,
            P::DuplicateRows => ResponseProblem::DuplicateRows,
            P::WrongTable => ResponseProblem::WrongTable,
            P::Unexpected => ResponseProblem::Unexpected,
        }
    }
}

fn validation(field: Option<&str>, reason: impl Into<String>) -> MooringError {
    MooringError::Validation {
        field: field.map(str::to_string),
        reason: reason.into(),
    }
}

fn write_error(w: W) -> MooringError {
    // WriteError's texts name tables, columns, types and keys: no values.
    let reason = w.to_string();
    match w {
        W::UnknownTable(_) | W::NotAnObject | W::TransactionTooLarge { .. } => {
            validation(None, reason)
        }
        W::UnknownColumn { column, .. }
        | W::WrongType { column, .. }
        | W::ReadOnly { column, .. }
        | W::MissingLookupTarget { column, .. } => validation(Some(&column), reason),
        W::RowNotFound { .. } | W::NoSuchSyncError(_) => MooringError::NotFound { reason },
        W::RowExists { .. } => MooringError::Conflict { reason },
    }
}

impl From<E> for MooringError {
    fn from(e: E) -> Self {
        tracing::debug!(error = %e, "mooring call failed");
        match e {
            E::Profile(m) => MooringError::Profile { reason: m },
            E::Http {
                status,
                what,
                odata,
            } => {
                // The OData code is a constant; its message may quote values.
                let code = odata
                    .map(|o| o.code)
                    .filter(|c| !c.is_empty())
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default();
                let reason = format!("{what}: HTTP {status}{code}");
                match status {
                    401 | 403 => MooringError::Auth { reason },
                    404 => MooringError::NotFound { reason },
                    409 | 412 => MooringError::Conflict { reason },
                    429 => MooringError::Throttled {
                        retry_after_secs: None,
                    },
                    400 | 422 => validation(None, reason),
                    _ => MooringError::Server { status, reason },
                }
            }
            // Core's texts: "<what>: <server message>"; keep the request only.
            E::Auth(m) => MooringError::Auth {
                reason: format!(
                    "the server refused the sign-in ({})",
                    m.split(':').next().unwrap_or("").trim()
                ),
            },
            E::TokenProvider(m) => MooringError::Auth {
                reason: format!("the host's token provider failed: {m}"),
            },
            E::Throttled { retry_after, .. } => MooringError::Throttled {
                retry_after_secs: retry_after.map(|d| d.as_secs()),
            },
            E::Network(m) => MooringError::Offline { reason: m },
            E::Tls(m) => MooringError::Tls { reason: m },
            E::Offline => MooringError::Offline {
                reason: "the device has no network".into(),
            },
            E::Paused => MooringError::Paused,
            E::WaitingForWifi => MooringError::WaitingForWifi,
            E::InUse { holder } => MooringError::InUse { holder },
            E::Protocol { what, problem, .. } => MooringError::Protocol {
                problem: problem.into(),
                reason: format!("unexpected response from {what}"),
            },
            E::Store(e) => MooringError::Storage {
                reason: e.to_string(),
            },
            E::Query(m) => validation(None, m),
            // The reason names tables and SQLite's parse errors, never a
            // bound value.
            E::SqlRefused { refusal, reason } => MooringError::SqlRefused {
                refusal: refusal.into(),
                reason,
            },
            E::Write(w) => write_error(w),
            E::Io(e) => MooringError::Storage {
                reason: e.to_string(),
            },
            E::WrongKey(p) => MooringError::WrongKey {
                reason: p.to_string(),
            },
            E::NewerDatabase { found, supported } => MooringError::Storage {
                reason: format!(
                    "the local database was written by a newer version of the app \
                     (schema {found}, this build knows up to {supported}): update the app"
                ),
            },
            E::WrongUser { .. } => MooringError::WrongUser,
            E::PendingChangesWouldBeLost { count } => MooringError::PendingChanges { count },
            E::InsecureUrl(_) => validation(
                Some("server_url"),
                "the server URL must be https (plain http only on loopback)",
            ),
            E::Closed => MooringError::Closed,
            E::Internal(m) => MooringError::Internal { reason: m },
        }
    }
}

/// What the host's `TokenProvider` throws when it cannot give a token (no
/// account, MSAL needs an interactive sign-in, no network for a refresh).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, uniffi::Error)]
pub enum TokenError {
    /// `reason` must not contain the token.
    #[error("{reason}")]
    Failed { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for TokenError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        TokenError::Failed {
            reason: format!("the token provider threw: {}", e.reason),
        }
    }
}
