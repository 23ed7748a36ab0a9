//! The one tokio runtime of the process, built on first use.
//!
//! Why our own runtime rather than uniffi's `async_runtime = "tokio"`: that
//! option polls each call inside async-compat's hidden runtime, so the
//! scheduler `Mooring::open` spawns (it captures `Handle::current()`) would
//! live on a runtime we neither size nor name. Instead every async export
//! spawns its work here and awaits the `JoinHandle`, which any executor can
//! poll (Kotlin's coroutines, Swift's tasks): the caller's thread never
//! blocks, and blocking SQLite work goes on this runtime's blocking pool
//! (core uses `spawn_blocking`). Two workers: sync is I/O-bound and a phone
//! has other things to do.

use std::future::Future;
use std::sync::OnceLock;

use crate::error::MooringError;

static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();

pub(crate) fn runtime() -> Result<&'static tokio::runtime::Runtime, MooringError> {
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .max_blocking_threads(8)
                .thread_name("mooring")
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the runtime: {e}"))
        })
        .as_ref()
        .map_err(|e| MooringError::Internal { reason: e.clone() })
}

/// Runs `work` on the runtime and waits for it without blocking a thread.
/// A panic inside becomes `MooringError::Internal`. If the caller stops
/// waiting (a cancelled coroutine), the work still finishes: a write is
/// never left half-done.
pub(crate) async fn run<T, F>(work: F) -> Result<T, MooringError>
where
    T: Send + 'static,
    F: Future<Output = Result<T, MooringError>> + Send + 'static,
{
    runtime()?
        .spawn(work)
        .await
        .map_err(|e| MooringError::Internal {
            reason: if e.is_panic() {
                "a background task panicked".into()
            } else {
                "a background task was cancelled".into()
            },
        })?
}
