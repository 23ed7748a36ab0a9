//! The sync engines: initial sync (resumable at page granularity) and delta
//! sync, per table, reporting progress events. Tables without a row filter
//! use Dataverse change tracking (`tracked.rs`); filtered tables are read
//! with their filter and refreshed by a `modifiedon` high-water mark plus a
//! key-only pass (`filtered.rs`). Decisions: docs/sync.md.

mod filtered;
mod pages;
mod progress;
mod tracked;

pub use progress::{Progress, ProgressFn, SyncKind};

use std::sync::Arc;
use std::time::Instant;

use tracing::info;

use crate::error::{Error, Result};
use crate::profile::{Profile, ResolvedProfile, ResolvedTable};
use crate::remote::Remote;
use crate::store::{Migration, Store, TablePhase, TableState};
use progress::Tracker;

/// What one run did; the CLI prints it as its summary line.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub tables: u32,
    /// Rows in the mirror after the run.
    pub rows: u64,
    pub downloaded_rows: u64,
    pub deleted_rows: u64,
    pub bytes: u64,
    pub secs: f64,
}

impl Summary {
    fn add(&mut self, other: &Summary) {
        self.downloaded_rows += other.downloaded_rows;
        self.deleted_rows += other.deleted_rows;
        self.bytes += other.bytes;
    }
}

/// Counters a table's sync adds to.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) deleted: u64,
}

/// Syncs one store with one server for one profile.
pub struct SyncEngine {
    remote: Arc<Remote>,
    store: Store,
    profile: ResolvedProfile,
    /// The signed-in user (for "owned" rows), when the profile needs it.
    user_id: Option<String>,
}

impl SyncEngine {
    /// Validates the profile against the server's schema (before any
    /// download), migrates the mirror to it, and learns who the user is if
    /// the profile has "owned" rows.
    pub async fn prepare(
        remote: Remote,
        store: Store,
        profile: &Profile,
    ) -> Result<(SyncEngine, Migration)> {
        profile.check_shape()?;
        let names: Vec<String> = profile.tables.iter().map(|t| t.name.clone()).collect();
        let schema = remote.schema_for(&names).await?;
        let resolved = profile.resolve(&schema)?;
        let needs_user = resolved
            .tables
            .iter()
            .any(|t| matches!(t.rows, crate::profile::Rows::Some { owned: true, .. }));
        let user_id = if needs_user {
            let id = remote.who_am_i().await?.user_id;
            if !id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-') {
                return Err(Error::protocol("GET WhoAmI", "UserId is not a GUID"));
            }
            let store2 = store.clone();
            let id2 = id.clone();
            tokio::task::spawn_blocking(move || store2.set_user_id(&id2)).await??;
            Some(id)
        } else {
            None
        };
        let store2 = store.clone();
        let resolved2 = resolved.clone();
        let migration =
            tokio::task::spawn_blocking(move || store2.apply_profile(&resolved2)).await??;
        Ok((
            SyncEngine {
                remote: Arc::new(remote),
                store,
                profile: resolved,
                user_id,
            },
            migration,
        ))
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn profile(&self) -> &ResolvedProfile {
        &self.profile
    }

    /// The Web API client (the outbox's upload uses it too).
    pub fn remote(&self) -> &Remote {
        &self.remote
    }

    /// The write side of this mirror for the resolved profile.
    pub fn outbox(&self, config: crate::outbox::OutboxConfig) -> crate::outbox::Outbox {
        crate::outbox::Outbox::new(
            self.store.clone(),
            self.profile.clone(),
            config,
            (*self.remote).clone(),
        )
    }

    /// Initial sync of every table that needs one (or resumes it), then one
    /// delta sync of every table.
    pub async fn sync(&self, progress: ProgressFn) -> Result<Summary> {
        let started = Instant::now();
        let mut total = self.initial(progress.clone()).await?;
        let delta = self.delta(progress).await?;
        total.add(&delta);
        total.rows = delta.rows;
        total.secs = started.elapsed().as_secs_f64();
        Ok(total)
    }

    /// True when some table has no complete baseline yet.
    pub async fn needs_initial(&self) -> Result<bool> {
        for t in &self.profile.tables {
            if self.state(t).await?.phase == TablePhase::Initial {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Downloads (or resumes) the baseline of every table not yet complete.
    pub async fn initial(&self, progress: ProgressFn) -> Result<Summary> {
        let started = Instant::now();
        let mut tracker = Tracker::new(progress, SyncKind::Initial);
        let mut pending: Vec<(Arc<ResolvedTable>, TableState)> = Vec::new();
        for t in &self.profile.tables {
            let s = self.state(t).await?;
            if s.phase == TablePhase::Initial {
                pending.push((Arc::new(t.clone()), s));
            }
        }
        // Totals before any download, kept in the state so a resumed run
        // shows the same denominator.
        let missing: Vec<String> = pending
            .iter()
            .filter(|(_, s)| s.rows_total.is_none())
            .map(|(t, _)| t.logical_name.clone())
            .collect();
        let counts = if missing.is_empty() {
            Default::default()
        } else {
            self.remote.total_counts(&missing).await?
        };
        for (t, s) in &mut pending {
            if s.rows_total.is_none() {
                if let Some(&n) = counts.get(&t.logical_name) {
                    s.rows_total = Some(n);
                    self.save_state(s.clone()).await?;
                }
            }
            let already = self.count_generation(&t.name, s.generation).await?;
            tracker.add_table(&t.name, s.rows_total.unwrap_or(0), already);
        }
        let mut counters = Counters::default();
        for (t, s) in pending {
            tracker.start_table(&t.name);
            info!(table = %t.name, "initial sync");
            if t.tracks_changes() {
                self.initial_tracked(&t, s, &mut tracker, &mut counters)
                    .await?;
            } else {
                self.initial_filtered(&t, s, &mut tracker, &mut counters)
                    .await?;
            }
            tracker.table_done(&t.name);
        }
        self.finish(tracker, counters, started).await
    }

    /// One delta sync of every table with a complete baseline. A table whose
    /// token expired is re-baselined on its own.
    pub async fn delta(&self, progress: ProgressFn) -> Result<Summary> {
        self.delta_tables(None, progress).await
    }

    /// Tables whose `interval_minutes` has elapsed since their last
    /// completed sync at `now_ms` (Unix ms), for a scheduler.
    pub async fn due_tables(&self, now_ms: i64) -> Result<Vec<String>> {
        let mut due = Vec::new();
        for t in &self.profile.tables {
            let s = self.state(t).await?;
            let interval_ms = i64::from(t.interval_minutes) * 60_000;
            if s.phase == TablePhase::Initial
                || s.last_synced_ms
                    .is_none_or(|last| now_ms - last >= interval_ms)
            {
                due.push(t.name.clone());
            }
        }
        Ok(due)
    }

    /// Delta sync of the named tables only (`None`: every table).
    pub async fn delta_tables(
        &self,
        only: Option<&[String]>,
        progress: ProgressFn,
    ) -> Result<Summary> {
        let started = Instant::now();
        let mut tracker = Tracker::new(progress, SyncKind::Delta);
        let mut ready = Vec::new();
        for t in &self.profile.tables {
            if only.is_some_and(|names| !names.contains(&t.name)) {
                continue;
            }
            let s = self.state(t).await?;
            if s.phase == TablePhase::Ready {
                tracker.add_table(&t.name, 0, 0);
                ready.push((Arc::new(t.clone()), s));
            }
        }
        let mut counters = Counters::default();
        for (t, s) in ready {
            tracker.start_table(&t.name);
            if t.tracks_changes() {
                self.delta_tracked(&t, s, &mut tracker, &mut counters)
                    .await?;
            } else {
                self.delta_filtered(&t, s, &mut tracker, &mut counters)
                    .await?;
            }
            tracker.table_done(&t.name);
        }
        self.finish(tracker, counters, started).await
    }

    // Blocking store calls, off the async threads.

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(store)).await?
    }

    async fn state(&self, t: &ResolvedTable) -> Result<TableState> {
        let name = t.name.clone();
        self.blocking(move |s| s.table_state(&name))
            .await?
            .ok_or_else(|| {
                Error::Internal(format!(
                    "table {} has no sync state (profile not applied?)",
                    t.name
                ))
            })
    }

    async fn save_state(&self, st: TableState) -> Result<()> {
        self.blocking(move |s| s.save_state(&st)).await
    }

    async fn count_generation(&self, table: &str, generation: i64) -> Result<u64> {
        let name = table.to_string();
        self.blocking(move |s| s.count_generation(&name, generation))
            .await
    }

    /// Closes a run's progress and sums it up for the caller.
    async fn finish(
        &self,
        mut tracker: Tracker,
        counters: Counters,
        started: Instant,
    ) -> Result<Summary> {
        tracker.finish();
        let snapshot = tracker.snapshot();
        Ok(Summary {
            tables: self.profile.tables.len() as u32,
            rows: self.mirror_rows().await?,
            downloaded_rows: tracker.rows_downloaded(),
            deleted_rows: counters.deleted,
            bytes: snapshot.bytes,
            secs: started.elapsed().as_secs_f64(),
        })
    }

    async fn mirror_rows(&self) -> Result<u64> {
        let names: Vec<String> = self.profile.tables.iter().map(|t| t.name.clone()).collect();
        self.blocking(move |s| {
            let mut n = 0;
            for t in &names {
                n += s.count(t)?;
            }
            Ok(n)
        })
        .await
    }
}

/// The profile an app manifest asks for, generated against the server's
/// schema (lookup targets and their primary names come from it).
pub async fn profile_from_manifest(
    remote: &Remote,
    manifest: &crate::profile::AppManifest,
) -> Result<Profile> {
    let mut names: Vec<String> = Vec::new();
    for s in &manifest.screens {
        for r in &s.reads {
            if !names.contains(&r.table) {
                names.push(r.table.clone());
            }
        }
    }
    let schema = remote.schema_for(&names).await?;
    manifest.to_profile(&schema)
}
