//! Following a chain of pages (read or delta): each page is parsed as it
//! arrives and written with the link to continue from in one transaction.
//! The next page downloads while the previous one commits, so the network
//! and SQLite overlap; memory holds at most two pages.

use std::sync::Arc;

use tokio::task::JoinHandle;

use super::progress::Tracker;
use super::{Counters, SyncEngine};
use crate::error::Result;
use crate::now_ms;
use crate::profile::ResolvedTable;
use crate::remote::PageShape;
use crate::store::{TablePhase, TableState, WriteStats};

/// What the last page of a chain means for the table's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OnLast {
    /// The baseline of a tracked table is complete: store the delta link,
    /// become Ready, sweep rows of older generations.
    Baseline,
    /// A delta chain ended: store its fresh delta link.
    Delta,
    /// One pass of a filtered table ended; the caller decides what next.
    Pass,
}

type Pending = JoinHandle<Result<(WriteStats, u64)>>;

impl SyncEngine {
    /// Follows `url` and its next links to the end. Returns the table's
    /// state as committed with the last page.
    #[allow(clippy::too_many_arguments)] // one call shape, all of it needed
    pub(crate) async fn pump(
        &self,
        t: &Arc<ResolvedTable>,
        mut state: TableState,
        url: String,
        prefer: &str,
        on_last: OnLast,
        tracker: &mut Tracker,
        counters: &mut Counters,
    ) -> Result<TableState> {
        let shape = PageShape::new(&t.key, &t.shape().wire_columns()).for_set(&t.name);
        let what = format!("GET {}", t.name);
        let mut url = url;
        let mut pending: Option<Pending> = None;
        loop {
            let page = match self.remote.get_page(&url, prefer, &shape, &what).await {
                Ok(p) => p,
                Err(e) => {
                    // What is in flight still commits: it is consistent.
                    if let Some(h) = pending.take() {
                        finish(h, t, tracker, counters).await?;
                    }
                    return Err(e);
                }
            };
            tracker.bytes(page.bytes, page.wire_bytes);
            let mut next = state.clone();
            let last = page.next_link.is_none();
            let mut sweep = false;
            next.next_link = page.next_link.clone();
            if last {
                match on_last {
                    OnLast::Baseline => {
                        next.phase = TablePhase::Ready;
                        next.delta_link = page.delta_link.clone();
                        if next.delta_link.is_none() {
                            tracing::warn!(table = %t.name, "no @odata.deltaLink at the end of a tracked read: the next delta re-baselines");
                        }
                        next.last_synced_ms = Some(now_ms());
                        sweep = true;
                    }
                    OnLast::Delta => {
                        if page.delta_link.is_some() {
                            next.delta_link = page.delta_link.clone();
                        }
                        next.last_synced_ms = Some(now_ms());
                    }
                    OnLast::Pass => {}
                }
            }
            if let Some(h) = pending.take() {
                finish(h, t, tracker, counters).await?;
            }
            let store = self.store.clone();
            let table = t.clone();
            let to_save = next.clone();
            let rows = page.rows;
            let deleted = page.deleted;
            pending = Some(tokio::task::spawn_blocking(move || {
                let n = rows.len() as u64;
                let stats = store.write_page(&table, &rows, &deleted, &to_save, sweep)?;
                Ok((stats, n))
            }));
            state = next;
            match page.next_link {
                Some(l) => url = l,
                None => break,
            }
        }
        if let Some(h) = pending.take() {
            finish(h, t, tracker, counters).await?;
        }
        Ok(state)
    }
}

async fn finish(
    h: Pending,
    t: &ResolvedTable,
    tracker: &mut Tracker,
    counters: &mut Counters,
) -> Result<()> {
    let (stats, rows) = h.await??;
    counters.deleted += stats.deleted;
    tracker.committed(&t.name, rows);
    Ok(())
}
