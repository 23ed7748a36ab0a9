//! Tables with a row filter (owned by me, a custom filter, related rows).
//! Dataverse refuses `$filter` together with change tracking, so these are
//! read with the filter (no delta link) and kept current by:
//! 1. a `modifiedon ge <high-water mark>` read of the filter (new/changed),
//! 2. a key-only read of the filter: rows not listed left the filter or the
//!    server, and are swept,
//! 3. for related rows: the keys the other tables' lookups point at,
//!    fetched in chunks.
//!
//! All rows touched by one refresh get a new generation; the sweep at the
//! end removes the rest, so a refresh killed half-way removes nothing.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tracing::{debug, info};

use super::pages::OnLast;
use super::progress::Tracker;
use super::{Counters, SyncEngine};
use crate::error::Result;
use crate::now_ms;
use crate::profile::{ResolvedTable, Rows};
use crate::remote::{PageShape, encode_query_value};
use crate::store::{TablePhase, TableState};

/// Ids per request when fetching rows by key (keeps URLs short).
const ID_CHUNK: usize = 50;
/// Re-read rows modified this long before the high-water mark: protects
/// against late commits and clock jitter on the server. Re-reads are
/// idempotent upserts.
const HIGH_WATER_MARGIN: Duration = Duration::from_secs(60);

impl SyncEngine {
    /// The server-side part of the filter (owned / custom), ORed.
    fn server_filter(&self, t: &ResolvedTable) -> Option<String> {
        let Rows::Some { owned, filter, .. } = &t.rows else {
            return None;
        };
        let mut parts = Vec::new();
        if *owned {
            if let Some(uid) = &self.user_id {
                parts.push(format!("_ownerid_value eq {uid}"));
            }
        }
        if let Some(f) = filter {
            parts.push(format!("({f})"));
        }
        (!parts.is_empty()).then(|| parts.join(" or "))
    }

    fn filtered_prefer(&self) -> String {
        format!("odata.maxpagesize={}", self.remote.page_size())
    }

    fn filtered_url(&self, t: &ResolvedTable, select: &str, filter: &str) -> String {
        self.remote.url(&format!(
            "{}?$select={}&$filter={}",
            t.name,
            select,
            encode_query_value(filter)
        ))
    }

    pub(crate) async fn initial_filtered(
        &self,
        t: &Arc<ResolvedTable>,
        mut state: TableState,
        tracker: &mut Tracker,
        counters: &mut Counters,
    ) -> Result<()> {
        let prefer = self.filtered_prefer();
        // `high_water` set while Initial = the filter pass is done.
        if state.high_water.is_none() {
            if let Some(f) = self.server_filter(t) {
                let url = state
                    .next_link
                    .clone()
                    .unwrap_or_else(|| self.filtered_url(t, &t.select_list(), &f));
                state = match self
                    .pump(
                        t,
                        state.clone(),
                        url,
                        &prefer,
                        OnLast::Pass,
                        tracker,
                        counters,
                    )
                    .await
                {
                    Ok(s) => s,
                    Err(e)
                        if state.next_link.is_some()
                            && matches!(
                                e,
                                crate::Error::Http {
                                    status: 400..=499,
                                    ..
                                }
                            )
                            && !e.is_auth() =>
                    {
                        info!(table = %t.name, error = %e.summary(), "stored next link refused; restarting the filter pass");
                        let mut s = self.state(t).await?;
                        s.next_link = None;
                        let url = self.filtered_url(t, &t.select_list(), &f);
                        self.pump(t, s.clone(), url, &prefer, OnLast::Pass, tracker, counters)
                            .await?
                    }
                    Err(e) => return Err(e),
                };
            }
            state.next_link = None;
            state.high_water = Some(String::new());
            self.save_state(state.clone()).await?;
        }
        if t.rows.is_related() {
            self.related_pass(t, &state, None, tracker, counters)
                .await?;
        }
        self.finish_refresh(t, state, counters).await
    }

    pub(crate) async fn delta_filtered(
        &self,
        t: &Arc<ResolvedTable>,
        state: TableState,
        tracker: &mut Tracker,
        counters: &mut Counters,
    ) -> Result<()> {
        let prefer = self.filtered_prefer();
        let hw = state.high_water.as_deref().and_then(high_water_with_margin);
        let mut st = state.clone();
        st.generation += 1;
        st.next_link = None;
        if let Some(f) = self.server_filter(t) {
            let changed = match &hw {
                Some(h) => format!("({f}) and modifiedon ge {h}"),
                None => f.clone(),
            };
            let url = self.filtered_url(t, &t.select_list(), &changed);
            st = self
                .pump(t, st, url, &prefer, OnLast::Pass, tracker, counters)
                .await?;
            st.next_link = None;
            self.key_pass(t, &f, st.generation, tracker).await?;
        }
        if t.rows.is_related() {
            self.related_pass(t, &st, hw.as_deref(), tracker, counters)
                .await?;
        }
        self.finish_refresh(t, st, counters).await
    }

    /// Sweeps rows the refresh did not touch, stores the new high-water
    /// mark and marks the table Ready, in one transaction.
    async fn finish_refresh(
        &self,
        t: &Arc<ResolvedTable>,
        mut state: TableState,
        counters: &mut Counters,
    ) -> Result<()> {
        let table = t.clone();
        let deleted = self
            .blocking(move |s| {
                // The sweep runs first so the mark ignores rows about to go.
                let mut probe = state.clone();
                probe.phase = TablePhase::Initial;
                let stats = s.write_page(&table, &[], &[], &probe, true)?;
                state.high_water = s.max_text(&table.name, "modifiedon")?;
                state.phase = TablePhase::Ready;
                state.next_link = None;
                state.last_synced_ms = Some(now_ms());
                s.save_state(&state)?;
                Ok(stats.deleted)
            })
            .await?;
        counters.deleted += deleted;
        Ok(())
    }

    /// Lists the keys the filter matches now; marks those rows current.
    async fn key_pass(
        &self,
        t: &Arc<ResolvedTable>,
        filter: &str,
        generation: i64,
        tracker: &mut Tracker,
    ) -> Result<()> {
        let shape = PageShape::new(&t.key, &[]).for_set(&t.name);
        let what = format!("GET {} (keys)", t.name);
        let prefer = self.filtered_prefer();
        let mut url = self.filtered_url(t, &t.key, filter);
        loop {
            let page = self.remote.get_page(&url, &prefer, &shape, &what).await?;
            tracker.bytes(page.bytes, page.wire_bytes);
            let keys: Vec<String> = page.rows.into_iter().map(|r| r.key).collect();
            let table = t.clone();
            self.blocking(move |s| s.mark_present(&table, &keys, generation))
                .await?;
            match page.next_link {
                Some(l) => url = l,
                None => return Ok(()),
            }
        }
    }

    /// Rows other profile tables point at. `since`: None = fetch every
    /// referenced row not yet in this generation (initial); Some(hw) = fetch
    /// new ones fully, and known ones only if modified since `hw` (delta).
    async fn related_pass(
        &self,
        t: &Arc<ResolvedTable>,
        state: &TableState,
        since: Option<&str>,
        tracker: &mut Tracker,
        counters: &mut Counters,
    ) -> Result<()> {
        let mut ids = BTreeSet::new();
        for (table, column) in &t.referenced_by {
            let (table, column) = (table.clone(), column.clone());
            let values = self
                .blocking(move |s| s.lookup_values(&table, &column))
                .await?;
            ids.extend(
                values
                    .into_iter()
                    .filter(|v| v.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')),
            );
        }
        let ids: Vec<String> = ids.into_iter().collect();
        let generation = state.generation;
        let table = t.clone();
        let ids2 = ids.clone();
        let min_gen = if since.is_some() { 0 } else { generation };
        let present: BTreeSet<String> = self
            .blocking(move |s| s.existing_keys(&table, &ids2, min_gen))
            .await?
            .into_iter()
            .collect();
        let missing: Vec<String> = ids
            .iter()
            .filter(|i| !present.contains(*i))
            .cloned()
            .collect();
        debug!(table = %t.name, referenced = ids.len(), missing = missing.len(), "related rows");
        let prefer = self.filtered_prefer();
        let select = t.select_list();
        let mut st = state.clone();
        for chunk in missing.chunks(ID_CHUNK) {
            let f = id_filter(&t.key, chunk);
            st = self
                .pump(
                    t,
                    st,
                    self.filtered_url(t, &select, &f),
                    &prefer,
                    OnLast::Pass,
                    tracker,
                    counters,
                )
                .await?;
        }
        if let Some(hw) = since {
            let known: Vec<String> = present.into_iter().collect();
            let table = t.clone();
            let known2 = known.clone();
            self.blocking(move |s| s.mark_present(&table, &known2, generation))
                .await?;
            for chunk in known.chunks(ID_CHUNK) {
                let f = format!("({}) and modifiedon ge {hw}", id_filter(&t.key, chunk));
                st = self
                    .pump(
                        t,
                        st,
                        self.filtered_url(t, &select, &f),
                        &prefer,
                        OnLast::Pass,
                        tracker,
                        counters,
                    )
                    .await?;
            }
        }
        Ok(())
    }
}

fn id_filter(key: &str, ids: &[String]) -> String {
    ids.iter()
        .map(|id| format!("{key} eq {id}"))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The stored mark minus the margin, as an OData date-time literal; None
/// (a full re-read) if it is not a date-time we can trust.
fn high_water_with_margin(hw: &str) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    let t = time::OffsetDateTime::parse(hw, &Rfc3339).ok()?;
    let t = t - HIGH_WATER_MARGIN;
    t.to_offset(time::UtcOffset::UTC).format(&Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn high_water_margin() {
        assert_eq!(
            high_water_with_margin("2024-05-01T10:00:30Z").as_deref(),
            Some("2024-05-01T09:59:30Z")
        );
        assert_eq!(high_water_with_margin(""), None);
        assert_eq!(high_water_with_margin("x') or (1 eq 1"), None);
    }
}
