//! The sync engines: initial sync (resumable at page granularity) and delta
//! sync, per table, reporting progress events. Tables without a row filter
//! use Dataverse change tracking (`tracked.rs`); filtered tables are read
//! with their filter and refreshed by a `modifiedon` high-water mark plus a
//! key-only pass (`filtered.rs`). Decisions: docs/sync.md.

mod filtered;
mod labels;
mod pages;
mod progress;
mod tracked;

pub use progress::{Progress, ProgressFn, SyncKind};

use std::collections::HashMap;
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
    /// JSON bytes received (decoded).
    pub bytes: u64,
    /// The same responses' bytes on the network (compressed).
    pub wire_bytes: u64,
    pub secs: f64,
}

impl Summary {
    fn add(&mut self, other: &Summary) {
        self.downloaded_rows += other.downloaded_rows;
        self.deleted_rows += other.deleted_rows;
        self.bytes += other.bytes;
        self.wire_bytes += other.wire_bytes;
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
    /// Row totals fetched with the schema (by logical name), used by the
    /// first initial sync instead of asking again.
    prefetched_counts: std::sync::Mutex<HashMap<String, u64>>,
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
        // Tables that will need a baseline total: asked for together with
        // the schema, so the first page is the next round trip.
        let count_sets = {
            let (store, names) = (store.clone(), names.clone());
            tokio::task::spawn_blocking(move || -> Result<Vec<String>> {
                let mut out = Vec::new();
                for n in names {
                    let needs = match store.table_state(&n)? {
                        None => true,
                        Some(s) => s.phase == TablePhase::Initial && s.rows_total.is_none(),
                    };
                    if needs {
                        out.push(n);
                    }
                }
                Ok(out)
            })
            .await??
        };
        let (schema, counts) = remote.schema_and_counts(&names, &count_sets).await?;
        let resolved = labels::fill(&remote, &store, profile.resolve(&schema)?).await?;
        let needs_user = resolved
            .tables
            .iter()
            .any(|t| matches!(t.rows, crate::profile::Rows::Some { owned: true, .. }));
        let user_id = if needs_user {
            // The scheduler's probe records the WhoAmI user in the mirror
            // (and checks it at every probe): reuse it, no second WhoAmI.
            let recorded = {
                let store = store.clone();
                tokio::task::spawn_blocking(move || store.user_id()).await??
            };
            let id = match recorded {
                Some(id) => id,
                None => remote.who_am_i().await?.user_id,
            };
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
                prefetched_counts: std::sync::Mutex::new(counts),
            },
            migration,
        ))
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Remembers the resolved profile in the mirror, so local writes work
    /// offline from the next open on (`Outbox::local`, `Mooring::open`).
    /// Blocking (one small write).
    pub fn remember_profile(&self) -> Result<()> {
        self.store.set_resolved_profile(&self.profile)
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
    /// delta sync of the tables that were complete before: a baseline that
    /// just finished is current, its delta would be a wasted round trip.
    pub async fn sync(&self, progress: ProgressFn) -> Result<Summary> {
        let started = Instant::now();
        let mut ready = Vec::new();
        for t in &self.profile.tables {
            if self.state(t).await?.phase == TablePhase::Ready {
                ready.push(t.name.clone());
            }
        }
        let mut total = self.initial(progress.clone()).await?;
        let delta = self.delta_tables(Some(&ready), progress).await?;
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
        let mut counts = std::mem::take(
            &mut *self
                .prefetched_counts
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        let unknown: Vec<String> = missing
            .iter()
            .filter(|n| !counts.contains_key(*n))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            counts.extend(self.remote.total_counts(&unknown).await?);
        }
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
        let deleted = self
            .each_table(pending, &tracker, |t, s, mut tracker| async move {
                let mut counters = Counters::default();
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
                Ok(counters.deleted)
            })
            .await?;
        self.finish(tracker, Counters { deleted }, started).await
    }

    /// Runs `job` for every table: change-tracked tables at once (up to the
    /// client's concurrency, lowered by every 429 of this run), then the
    /// filtered ones one by one in profile order (related rows need their
    /// referrers' lookups in the mirror first). Each table's pages still
    /// commit in order, with the link that continues them, so every table
    /// resumes exactly; the one writer takes pages as they arrive. Returns
    /// the deleted rows summed.
    async fn each_table<'a, F, Fut>(
        &'a self,
        tables: Vec<(Arc<ResolvedTable>, TableState)>,
        tracker: &Tracker,
        job: F,
    ) -> Result<u64>
    where
        F: Fn(Arc<ResolvedTable>, TableState, Tracker) -> Fut,
        Fut: std::future::Future<Output = Result<u64>> + 'a,
    {
        use futures_util::StreamExt;
        let (parallel, ordered): (Vec<_>, Vec<_>) =
            tables.into_iter().partition(|(t, _)| t.tracks_changes());
        let mut deleted = 0;
        let limit = self.remote.concurrency();
        let throttled_before = self.remote.throttle_count();
        let mut queue = parallel.into_iter();
        let mut running = futures_util::stream::FuturesUnordered::new();
        loop {
            let allowed = lowered(limit, self.remote.throttle_count() - throttled_before);
            while running.len() < allowed {
                match queue.next() {
                    Some((t, s)) => running.push(job(t, s, tracker.clone())),
                    None => break,
                }
            }
            match running.next().await {
                // The first failure ends the run; pages of the other tables
                // already handed to the writer still commit (consistent).
                Some(r) => deleted += r?,
                None => break,
            }
        }
        for (t, s) in ordered {
            deleted += job(t, s, tracker.clone()).await?;
        }
        Ok(deleted)
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
        let deleted = self
            .each_table(ready, &tracker, |t, s, mut tracker| async move {
                let mut counters = Counters::default();
                tracker.start_table(&t.name);
                if t.tracks_changes() {
                    self.delta_tracked(&t, s, &mut tracker, &mut counters)
                        .await?;
                } else {
                    self.delta_filtered(&t, s, &mut tracker, &mut counters)
                        .await?;
                }
                tracker.table_done(&t.name);
                Ok(counters.deleted)
            })
            .await?;
        self.finish(tracker, Counters { deleted }, started).await
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
            wire_bytes: snapshot.wire_bytes,
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

/// Parallelism after `throttles` 429 answers: halved by each, at least 1.
fn lowered(limit: usize, throttles: u64) -> usize {
    (limit >> throttles.min(16)).max(1)
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

#[cfg(test)]
mod tests {
    #[test]
    fn each_429_halves_the_parallelism_down_to_one() {
        assert_eq!(super::lowered(4, 0), 4);
        assert_eq!(super::lowered(4, 1), 2);
        assert_eq!(super::lowered(4, 2), 1);
        assert_eq!(super::lowered(4, 200), 1);
        assert_eq!(super::lowered(1, 0), 1);
    }
}
