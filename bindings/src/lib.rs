//! mooring-ffi: the uniffi layer over mooring-core, for the Kotlin and Swift
//! shells. Thin: every object wraps a core type; this crate owns only the
//! FFI shapes (records, enums, the flat error), their conversions, the one
//! tokio runtime of the process and the logging setup. The exported API is
//! listed in bindings/README.md.

mod app;
mod canvas;
mod error;
mod logging;
mod query;
mod runtime;
mod status;
mod value;

pub use app::{
    AppConfig, ChangeAction, MooringApp, PendingChangeInfo, RowsListener, SqlListener,
    StatusListener, SyncErrorInfo, SyncErrorKind, TaskHandle, TokenProvider, TransactionChange,
    UploadWait, WriteOp,
};
pub use canvas::{
    CanvasAppProfile, CanvasRows, CanvasTable, CanvasWarning, CanvasWarningKind,
    profile_from_canvas_app,
};
pub use error::{MooringError, ResponseProblem, SqlRefusal, TokenError};
pub use logging::{LogLevel, LogRecord, LogSink, clear_log_sink, init_logging, set_log_sink};
pub use query::{Filter, Query, SortKey};
pub use status::{
    CanvasSync, Connectivity, InitialSyncProgress, StatusWarning, SyncFailure, SyncIcon, SyncPhase,
    SyncStatus, UnreachableReason,
};
pub use value::{Row, SqlRows, Value};

uniffi::setup_scaffolding!("mooring");
