//! The jobs the runner spawns: the connectivity probe (with the check that
//! the server's user is the mirror's) and one sync run (prepare if needed,
//! initial sync or its resumption, delta of the tables due, upload). They do
//! the I/O and report progress to the status hub; what runs when is the
//! policy's (`policy.rs`).

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info};

use super::policy::Plan;
use super::{ProfileSource, Source, StatusHub};
use crate::connectivity::Prober;
use crate::error::{Error, Result};
use crate::outbox::Outbox;
use crate::status::{self, Activity, Connectivity, Event};
use crate::store::Store;
use crate::sync::{Progress, ProgressFn, SyncEngine, SyncKind};

use crate::now_ms;

/// How a job ended.
pub(crate) enum Outcome {
    /// The probe's verdict and, when the server answered WhoAmI, whether
    /// its user is the mirror's (`Err(WrongUser)`, or a store error).
    Probe {
        connectivity: Connectivity,
        user: Option<Result<()>>,
    },
    Sync {
        id: u64,
        engine: Option<Arc<SyncEngine>>,
        result: Result<Option<Instant>>,
    },
}

/// Probes the server and, when it answers, checks its user.
pub(crate) fn probe(prober: Arc<Prober>, store: Store) -> JoinHandle<Outcome> {
    tokio::spawn(async move {
        let (connectivity, user) = prober.probe_user().await;
        let user = match user {
            Some(user) if connectivity == Connectivity::Reachable => {
                Some(check_user(store, user).await)
            }
            _ => None,
        };
        Outcome::Probe { connectivity, user }
    })
}

/// Everything one sync job needs, moved into its task.
pub(crate) struct JobCtx {
    pub id: u64,
    pub hub: Arc<StatusHub>,
    pub source: Arc<Source>,
    pub engine: Option<Arc<SyncEngine>>,
    pub delta_interval: Option<Duration>,
}

impl JobCtx {
    pub(crate) async fn run(self, plan: Plan) -> Outcome {
        let mut engine = self.engine.clone();
        let result = self.steps(plan, &mut engine).await;
        Outcome::Sync {
            id: self.id,
            engine,
            result,
        }
    }

    /// One run: prepare if needed, initial sync (or resume), delta of the
    /// tables due, upload. Steps hand over with `SyncStarted(next)` and the
    /// run ends with one `SyncSucceeded`, so the icon stays "syncing" from
    /// the first step to the last (no flash of another state in between).
    async fn steps(
        &self,
        plan: Plan,
        engine_slot: &mut Option<Arc<SyncEngine>>,
    ) -> Result<Option<Instant>> {
        let initial_done = self.hub.status().initial_sync_complete;
        if !initial_done && plan.download {
            // Validating the profile is part of the first download.
            self.hub
                .apply_job(self.id, Event::SyncStarted(Activity::InitialSync));
        }
        let engine = match engine_slot.clone() {
            Some(e) => e,
            None => {
                let e = self.prepare().await?;
                *engine_slot = Some(e.clone());
                e
            }
        };
        let mut last: Option<Activity> = None;
        let mut completes_initial = false;
        if plan.download {
            let ran_initial = engine.needs_initial().await?;
            if ran_initial {
                self.hub
                    .apply_job(self.id, Event::SyncStarted(Activity::InitialSync));
                let hub = self.hub.clone();
                let id = self.id;
                let progress: ProgressFn = Arc::new(move |p: &Progress| {
                    if p.phase == SyncKind::Initial {
                        hub.apply_job(id, Event::InitialProgress(to_status_progress(p)));
                    }
                });
                engine.initial(progress).await?;
                last = Some(Activity::InitialSync);
            }
            // Also when the mirror was complete already (a profile check).
            completes_initial = ran_initial || !initial_done;
            // Tables just baselined are current: only the others.
            let tables = self
                .tables_to_refresh(&engine, plan.full && !ran_initial)
                .await?;
            if !tables.is_empty() {
                self.hub
                    .apply_job(self.id, Event::SyncStarted(Activity::DeltaSync));
                let quiet: ProgressFn = Arc::new(|_: &Progress| {});
                let summary = engine.delta_tables(Some(&tables), quiet).await?;
                debug!(
                    tables = tables.len(),
                    downloaded = summary.downloaded_rows,
                    deleted = summary.deleted_rows,
                    "delta sync done"
                );
                last = Some(Activity::DeltaSync);
            }
        }
        if plan.upload && self.upload_step().await? {
            last = Some(Activity::Upload);
        }
        let end = if completes_initial {
            // The event that marks the first sync complete.
            Some(Activity::InitialSync)
        } else {
            last
        };
        match end {
            Some(phase) => {
                self.hub.apply_job(
                    self.id,
                    Event::SyncSucceeded {
                        phase,
                        at_ms: now_ms(),
                    },
                );
            }
            // Nothing was due after all: close the "syncing" said up front.
            None => {
                self.hub.apply_job(self.id, Event::SyncStopped);
            }
        }
        Ok(Some(self.next_due(&engine).await?))
    }

    /// Validates the profile against the server, migrates the mirror, and
    /// makes (and remembers) the write side.
    async fn prepare(&self) -> Result<Arc<SyncEngine>> {
        let remote = self.source.remote.clone();
        let profile = match &self.source.profile {
            ProfileSource::Profile(p) => p.clone(),
            ProfileSource::Manifest(m) => crate::sync::profile_from_manifest(&remote, m).await?,
        };
        let (engine, migration) =
            SyncEngine::prepare(remote, self.source.store.clone(), &profile).await?;
        if !migration.created.is_empty() || !migration.rebaselined.is_empty() {
            info!(?migration, "profile applied to the mirror");
        }
        let (writes, resolved) = (self.source.writes.clone(), engine.profile().clone());
        tokio::task::spawn_blocking(move || writes.install(resolved)).await??;
        Ok(Arc::new(engine))
    }

    /// Uploads pending changes; whether there were any.
    async fn upload_step(&self) -> Result<bool> {
        let Some(outbox) = self.source.writes.current() else {
            return Ok(false);
        };
        let (n, _) = counts(&outbox).await?;
        self.hub.apply(Event::PendingChanged(n));
        if n == 0 {
            return Ok(false);
        }
        self.hub
            .apply_job(self.id, Event::SyncStarted(Activity::Upload));
        let result = outbox.upload().await;
        let (left, errors) = counts(&outbox).await?;
        self.hub.apply(Event::PendingChanged(left));
        self.hub.apply(Event::SyncErrorsChanged(errors));
        let summary = result?;
        debug!(
            uploaded = summary.uploaded,
            rejected = summary.rejected,
            requests = summary.requests,
            "upload done"
        );
        Ok(true)
    }

    fn interval(&self, table_minutes: u32) -> i64 {
        match self.delta_interval {
            Some(d) => d.as_millis() as i64,
            None => i64::from(table_minutes) * 60_000,
        }
    }

    /// Every table (full), or those whose interval has elapsed.
    async fn tables_to_refresh(&self, engine: &SyncEngine, full: bool) -> Result<Vec<String>> {
        let now = now_ms();
        let mut out = Vec::new();
        for t in &engine.profile().tables {
            if full {
                out.push(t.name.clone());
                continue;
            }
            let last = self.last_synced(&t.name).await?;
            if last.is_none_or(|l| now - l >= self.interval(t.interval_minutes)) {
                out.push(t.name.clone());
            }
        }
        Ok(out)
    }

    /// When the next table falls due.
    async fn next_due(&self, engine: &SyncEngine) -> Result<Instant> {
        let now = now_ms();
        let mut soonest = i64::MAX;
        for t in &engine.profile().tables {
            let last = self.last_synced(&t.name).await?.unwrap_or(now);
            soonest = soonest.min(last + self.interval(t.interval_minutes));
        }
        let wait = if soonest == i64::MAX {
            0
        } else {
            (soonest - now).max(0) as u64
        };
        // Never spin: at least a second between two timed runs.
        Ok(Instant::now() + Duration::from_millis(wait.max(1000)))
    }

    async fn last_synced(&self, table: &str) -> Result<Option<i64>> {
        let store = self.source.store.clone();
        let name = table.to_string();
        tokio::task::spawn_blocking(move || store.table_state(&name))
            .await?
            .map(|s| s.and_then(|s| s.last_synced_ms))
    }
}

/// Records the WhoAmI user in a mirror that has none yet (its first
/// connection); refuses a mirror recorded for another user.
async fn check_user(store: Store, user: String) -> Result<()> {
    tokio::task::spawn_blocking(move || match store.user_id()? {
        None => store.set_user_id(&user),
        Some(recorded) if recorded.eq_ignore_ascii_case(&user) => Ok(()),
        Some(recorded) => Err(Error::WrongUser {
            expected: recorded,
            actual: user,
        }),
    })
    .await?
}

/// (pending changes, sync errors) of the outbox, off the async threads.
pub(crate) async fn counts(outbox: &Outbox) -> Result<(u64, u64)> {
    let ob = outbox.clone();
    tokio::task::spawn_blocking(move || Ok((ob.pending_count()?, ob.sync_error_count()?))).await?
}

fn to_status_progress(p: &Progress) -> status::Progress {
    status::Progress {
        tables_done: p.tables_done,
        tables_total: p.tables_total,
        rows_done: p.rows_done,
        rows_total: p.rows_total,
        bytes: p.bytes,
        eta_secs: p.eta.map(|d| d.as_secs()),
    }
}
