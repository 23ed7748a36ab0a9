//! Tables with all rows: Dataverse change tracking. The baseline is a paged
//! read with `Prefer: odata.track-changes`; its last page carries the delta
//! link that delta sync follows. An expired token (0x80044352) or a link the
//! server no longer accepts re-baselines only this table, keeping its rows
//! readable until the new baseline sweeps the stale ones.

use std::sync::Arc;

use tracing::{info, warn};

use super::pages::OnLast;
use super::progress::Tracker;
use super::{Counters, SyncEngine};
use crate::error::{EXPIRED_VERSION_STAMP, Error, Result};
use crate::profile::ResolvedTable;
use crate::store::{TablePhase, TableState};

/// Errors that mean "this link is dead, start the table over", not "stop".
fn link_rejected(e: &Error) -> bool {
    match e {
        Error::Http { status, odata, .. } => {
            odata
                .as_ref()
                .is_some_and(|o| o.code.eq_ignore_ascii_case(EXPIRED_VERSION_STAMP))
                || (matches!(status, 400 | 404 | 410 | 412 | 422))
        }
        _ => false,
    }
}

fn is_expired(e: &Error) -> bool {
    e.is_expired_delta_token()
}

impl SyncEngine {
    fn tracked_prefer(&self) -> String {
        format!(
            "odata.track-changes,odata.maxpagesize={}",
            self.remote.page_size()
        )
    }

    fn first_url(&self, t: &ResolvedTable) -> String {
        self.remote
            .url(&format!("{}?$select={}", t.name, t.select_list()))
    }

    pub(crate) async fn initial_tracked(
        &self,
        t: &Arc<ResolvedTable>,
        mut state: TableState,
        tracker: &mut Tracker,
        counters: &mut Counters,
    ) -> Result<()> {
        let prefer = self.tracked_prefer();
        let mut restarted = false;
        loop {
            let resuming = state.next_link.is_some();
            let url = state.next_link.clone().unwrap_or_else(|| self.first_url(t));
            match self
                .pump(
                    t,
                    state.clone(),
                    url,
                    &prefer,
                    OnLast::Baseline,
                    tracker,
                    counters,
                )
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) if resuming && !restarted && link_rejected(&e) => {
                    warn!(table = %t.name, error = %e.summary(), "the server refused the stored next link; restarting this table");
                    restarted = true;
                    // Reload: pages of the failed attempt may have committed.
                    state = self.state(t).await?;
                    state.generation += 1;
                    state.next_link = None;
                    self.save_state(state.clone()).await?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    pub(crate) async fn delta_tracked(
        &self,
        t: &Arc<ResolvedTable>,
        state: TableState,
        tracker: &mut Tracker,
        counters: &mut Counters,
    ) -> Result<()> {
        let url = match (&state.next_link, &state.delta_link) {
            (Some(next), _) => next.clone(),
            (None, Some(delta)) => delta.clone(),
            (None, None) => {
                return self
                    .rebaseline(t, tracker, counters, "no delta link stored")
                    .await;
            }
        };
        let prefer = self.tracked_prefer();
        match self
            .pump(t, state, url, &prefer, OnLast::Delta, tracker, counters)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_expired(&e) => {
                self.rebaseline(t, tracker, counters, "the delta token expired (0x80044352)")
                    .await
            }
            Err(e) => Err(e),
        }
    }

    /// Starts this table's baseline over under a new generation; its rows
    /// stay readable until the new baseline completes.
    async fn rebaseline(
        &self,
        t: &Arc<ResolvedTable>,
        tracker: &mut Tracker,
        counters: &mut Counters,
        why: &str,
    ) -> Result<()> {
        info!(table = %t.name, "re-baselining: {why}");
        let mut state = self.state(t).await?;
        state.generation += 1;
        state.phase = TablePhase::Initial;
        state.next_link = None;
        state.delta_link = None;
        self.save_state(state.clone()).await?;
        self.initial_tracked(t, state, tracker, counters).await
    }
}
