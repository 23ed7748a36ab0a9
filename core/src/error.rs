//! The one error type of mooring-core: every failure of the profile, the
//! store, the Web API client and the sync engines, typed so callers (the
//! status machine, the shells) can tell auth from network from data problems.
//! Messages never contain tokens; URLs carry no credentials (the token
//! travels in a header only).

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

#[derive(Debug, thiserror::Error)]
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
    Store(#[from] rusqlite::Error),

    /// A read of the local store named a table or column the profile lacks.
    #[error("query: {0}")]
    Query(String),

    /// A local write (create/update/delete) the profile does not allow;
    /// nothing was written.
    #[error("write refused: {0}")]
    Write(#[from] crate::outbox::WriteError),

    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),

    /// A background task died (a bug, reported instead of panicking).
    #[error("internal: {0}")]
    Internal(String),
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

    /// What was wrong with a success response outside the protocol.
    pub fn response_problem(&self) -> Option<crate::status::ResponseProblem> {
        match self {
            Error::Protocol { problem, .. } => Some(*problem),
            _ => None,
        }
    }
}

impl From<tokio::task::JoinError> for Error {
    fn from(e: tokio::task::JoinError) -> Self {
        Error::Internal(format!("background task failed: {e}"))
    }
}
