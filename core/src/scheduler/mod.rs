//! When sync runs. Three parts, each in its own file:
//! - `policy.rs`: the decisions as plain data (probe when the OS says
//!   online, after failures with backoff and now and then; resume an
//!   unfinished initial sync; delta each table at its interval, on
//!   reconnect, on foreground and on demand; upload soon after local writes;
//!   one job at a time). No tokio, no clock: table-driven tests.
//! - `runner.rs`: one tokio task per open app that feeds the policy and
//!   performs its actions.
//! - `job.rs`: the probe and the sync run themselves (the I/O).
//!
//! Every step is reported to the status hub (`hub.rs`), so the status is
//! true at every moment. Rules: docs/status.md.

pub mod hub;
mod job;
mod policy;
mod runner;
mod upload_wait;

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub use hub::{StatusHandle, StatusHub, StatusListener};
pub(crate) use job::counts;
pub use policy::ScheduleConfig;
pub(crate) use policy::StatusView;
pub(crate) use runner::Command;
pub use upload_wait::{UploadWait, describe_pending};

use crate::connectivity::Prober;
use crate::error::Result;
use crate::outbox::OutboxSlot;
use crate::profile::{AppManifest, Profile};
use crate::remote::Remote;
use crate::store::Store;

/// What the jobs need to prepare a sync engine when the server answers.
pub(crate) struct Source {
    /// The one Web API client of the app: every job (and the outbox) uses
    /// clones of it, which share one connection pool.
    pub remote: Remote,
    pub store: Store,
    pub profile: ProfileSource,
    /// The app's outbox: uploaded by the jobs, installed by the first
    /// prepare when the mirror remembered no profile.
    pub writes: OutboxSlot,
}

/// The offline profile, or an app manifest it is generated from (which
/// needs the server's schema, so it is resolved at the first connection).
#[derive(Clone, Debug)]
pub enum ProfileSource {
    Profile(Profile),
    Manifest(AppManifest),
}

pub(crate) struct RunnerParts {
    pub hub: Arc<StatusHub>,
    pub cfg: ScheduleConfig,
    pub source: Source,
}

/// Starts the runner on the current runtime; commands go through the sender.
pub(crate) fn spawn(
    parts: RunnerParts,
) -> Result<(mpsc::UnboundedSender<Command>, JoinHandle<()>)> {
    let base = parts.source.remote.base_url().to_string();
    let prober = Prober::new(
        &base,
        parts.source.remote.tokens().clone(),
        parts.cfg.probe_timeout,
        parts.source.remote.config(),
    )?;
    let (tx, rx) = mpsc::unbounded_channel();
    let runner = runner::Runner::new(
        parts.hub,
        policy::Policy::new(parts.cfg, fastrand::u64(..)),
        prober,
        parts.source,
        rx,
    );
    Ok((tx, tokio::spawn(runner.run())))
}
