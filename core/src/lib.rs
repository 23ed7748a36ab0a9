//! mooring-core: the local SQLite mirror of a Dataverse environment and the
//! engines that fill it (initial sync), keep it current (delta sync) and push
//! local writes (upload). No uniffi here: bindings live in `bindings/`.

pub mod cell;
pub mod connectivity;
pub mod diagnostics;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod mooring;
pub mod outbox;
pub mod profile;
pub mod remote;
pub mod scheduler;
pub mod secret;
pub mod status;
pub mod store;
pub mod sync;
pub mod value;

pub use cell::{CalendarDate, Cell, Choice, LookupValue, TypedRow};
pub use error::{Error, KeyProblem, Result};
pub use mooring::{Mooring, MooringConfig, Typer, database_path};
pub use outbox::{
    ConflictMode, Outbox, OutboxConfig, SyncError, TransactionChange, UploadSummary, WriteError,
    WriteTransaction,
};
pub use profile::{AppManifest, ColumnType, Profile, Rows};
pub use remote::{Remote, RemoteConfig, StaticToken, TokenFuture, TokenProvider};
pub use scheduler::{ProfileSource, ScheduleConfig, StatusHandle, UploadWait};
pub use secret::Secret;
pub use status::{Icon, SyncStatus};
pub use store::{Filter, Query, Row, Sort, SqlRefusal, SqlRows, Store};
pub use sync::{Progress, ProgressFn, Summary, SyncEngine, SyncKind, profile_from_manifest};
pub use value::Value;

/// Wall-clock Unix milliseconds: the one clock of the stored timestamps
/// (sync state, queue entries, sync errors). 0 before 1970.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
