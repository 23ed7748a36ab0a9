//! Upload: the queue, oldest first, in `$batch` change sets of
//! `batch_size`, falling back to one request per change when a change set
//! fails, so one bad change never blocks the others: it moves to the sync
//! errors and its row returns to the server's state.
//!
//! Every request is idempotent, so the remote client's retries and a crash
//! between send and acknowledgement are safe: creates are `PATCH` upserts to
//! the client's GUID, updates `PATCH` with `If-Match` (`*`, or the ETag in
//! detect mode) so they never resurrect a row, deletes treat 404 as done.
//! Each `PATCH` asks for `return=representation`, so the server's state of
//! the row (server-set columns, the new ETag) comes back in the same round
//! trip.

use std::time::Instant;

use reqwest::Method;
use serde_json::{Map, Value as J};
use tracing::{debug, info, warn};

use super::batch::{self, PartRequest};
use super::{ConflictMode, Outbox};
use crate::error::{Error, Result};
use crate::profile::ResolvedTable;
use crate::remote::Remote;
use crate::store::{Ack, Entry, Op, Store};
use crate::value::{RowData, Value};

/// What one `upload()` did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct UploadSummary {
    /// Changes the server accepted.
    pub uploaded: u64,
    /// Changes the server refused, now sync errors.
    pub rejected: u64,
    /// HTTP requests made (a `$batch` counts one), retries not included.
    pub requests: u64,
    pub batches: u64,
    pub secs: f64,
}

/// How one change ended.
enum Outcome {
    Done(Option<RowData>),
    Rejected {
        status: u16,
        code: String,
        message: String,
        server: Option<RowData>,
    },
}

impl Outbox {
    /// Uploads every queued change (including those queued while it runs).
    /// Returns when the queue is empty, or with the error (network, auth,
    /// throttling) that stopped it; what was acknowledged stays done and
    /// the rest goes next time.
    pub async fn upload(&self) -> Result<UploadSummary> {
        let _one_at_a_time = self.inner.uploading.lock().await;
        let remote = self.inner.remote.as_ref().ok_or_else(|| {
            Error::Profile(
                "this outbox was opened for local writes only: upload needs a server".into(),
            )
        })?;
        let started = Instant::now();
        let size = self.inner.config.batch_size.clamp(1, 1000);
        let mut sum = UploadSummary::default();
        loop {
            let head = self.blocking(move |s| s.outbox_head(size)).await?;
            if head.is_empty() {
                break;
            }
            // Changes of tables or columns that left the profile cannot be
            // sent (the profile no longer says how): they wait in the sync
            // errors with their values, never silently trimmed.
            let mut entries = Vec::new();
            for e in head {
                match self.orphaned(&e) {
                    None => entries.push(e),
                    Some(msg) => {
                        let seq = e.seq;
                        warn!(table = %e.table, "change no longer fits the offline profile: moved to sync errors");
                        self.blocking(move |s| s.outbox_reject_orphan(seq, &msg))
                            .await?;
                        sum.rejected += 1;
                    }
                }
            }
            if entries.is_empty() {
                continue;
            }
            let seqs: Vec<i64> = entries.iter().map(|e| e.seq).collect();
            let entries = self.blocking(move |s| s.outbox_claim(&seqs)).await?;
            if entries.is_empty() {
                continue;
            }
            if entries.len() > 1 {
                sum.requests += 1;
                sum.batches += 1;
                if let Some(acks) = self.send_batch(remote, &entries).await? {
                    sum.uploaded += acks.len() as u64;
                    self.ack(acks).await?;
                    continue;
                }
            }
            // One by one: the failing change is found and set aside.
            for e in &entries {
                let t = self.table(&e.table)?.clone();
                sum.requests += 1;
                match self.send_one(remote, &t, e, &mut sum).await? {
                    Outcome::Done(row) => {
                        sum.uploaded += 1;
                        self.ack(vec![Ack {
                            seq: e.seq,
                            version: e.version,
                            server_row: row,
                        }])
                        .await?;
                    }
                    Outcome::Rejected {
                        status,
                        code,
                        message,
                        server,
                    } => {
                        sum.rejected += 1;
                        warn!(table = %t.name, status, %code, action = e.op.as_str(), "change refused by the server: moved to sync errors");
                        let seq = e.seq;
                        self.blocking(move |s| {
                            s.outbox_reject(&t, seq, status, &code, &message, server.as_ref())
                        })
                        .await?;
                    }
                }
            }
        }
        sum.secs = started.elapsed().as_secs_f64();
        if sum.uploaded + sum.rejected > 0 {
            info!(
                uploaded = sum.uploaded,
                rejected = sum.rejected,
                requests = sum.requests,
                "upload done"
            );
        }
        Ok(sum)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || f(store)).await?
    }

    async fn ack(&self, acks: Vec<Ack>) -> Result<()> {
        let me = self.clone();
        self.blocking(move |s| {
            let tables: Vec<&ResolvedTable> = me.inner.profile.tables.iter().collect();
            s.outbox_ack(&tables, &acks)
        })
        .await
    }

    /// The request that uploads one entry.
    fn request(&self, remote: &Remote, t: &ResolvedTable, e: &Entry) -> PartRequest {
        let detect = self.conflict_mode(&t.name) == ConflictMode::Detect;
        let if_match = || match (&e.base_etag, detect) {
            (Some(etag), true) => etag.clone(),
            _ => "*".to_string(),
        };
        let row_url = remote.url(&format!("{}({})", t.name, e.row_id));
        match e.op {
            Op::Delete => {
                let mut headers = Vec::new();
                if detect && e.base_etag.is_some() {
                    headers.push(("If-Match".to_string(), if_match()));
                }
                PartRequest {
                    method: "DELETE",
                    url: row_url,
                    headers,
                    body: None,
                }
            }
            Op::Create | Op::Update => {
                let mut headers = vec![("Prefer".to_string(), "return=representation".to_string())];
                if e.op == Op::Update {
                    // Never an upsert: an update of a row deleted on the
                    // server must fail (404), not bring it back.
                    headers.push(("If-Match".to_string(), if_match()));
                }
                let url = format!("{row_url}?$select={}", t.select_list());
                PartRequest {
                    method: "PATCH",
                    url,
                    headers,
                    body: Some(body(t, e).to_string()),
                }
            }
        }
    }

    /// One change set; Some(acks) when every change was accepted, None when
    /// it failed as a whole (then the caller goes one by one).
    async fn send_batch(&self, remote: &Remote, entries: &[Entry]) -> Result<Option<Vec<Ack>>> {
        let mut parts = Vec::with_capacity(entries.len());
        let mut tables = Vec::with_capacity(entries.len());
        for e in entries {
            let t = self.table(&e.table)?;
            parts.push(self.request(remote, t, e));
            tables.push(t);
        }
        let (content_type, body) = batch::build(&parts);
        let headers = [("Content-Type", content_type)];
        let resp = match remote
            .send(
                Method::POST,
                &remote.url("$batch"),
                &headers,
                Some(body.into_bytes().into()),
                "POST $batch",
            )
            .await
        {
            Ok(r) => r,
            // A batch the server refuses as a whole (too large, malformed to
            // its eyes): the changes go one by one.
            Err(Error::Http {
                status: 400..=499, ..
            }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let ct = resp
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let Some(mut responses) = batch::parse(&resp.body, ct) else {
            warn!("a $batch response did not parse; sending the changes one by one");
            return Ok(None);
        };
        // Responses follow the requests' order; Content-ID, when echoed,
        // says so explicitly.
        let ids: Option<Vec<usize>> = responses
            .iter()
            .map(|r| r.header("content-id").and_then(|v| v.trim().parse().ok()))
            .collect();
        if let Some(ids) = ids {
            let mut paired: Vec<_> = ids.into_iter().zip(responses).collect();
            paired.sort_by_key(|(i, _)| *i);
            responses = paired.into_iter().map(|(_, r)| r).collect();
        }
        if responses.len() != entries.len()
            || responses.iter().any(|r| !(200..300).contains(&r.status))
        {
            let failed = responses
                .iter()
                .find(|r| !(200..300).contains(&r.status))
                .map(|r| r.status);
            debug!(?failed, "change set failed; sending its changes one by one");
            return Ok(None);
        }
        let mut acks = Vec::with_capacity(entries.len());
        for ((e, t), r) in entries.iter().zip(&tables).zip(&responses) {
            let row = if e.op == Op::Delete {
                None
            } else {
                server_row(t, &r.body)
            };
            acks.push(Ack {
                seq: e.seq,
                version: e.version,
                server_row: row,
            });
        }
        Ok(Some(acks))
    }

    async fn send_one(
        &self,
        remote: &Remote,
        t: &ResolvedTable,
        e: &Entry,
        sum: &mut UploadSummary,
    ) -> Result<Outcome> {
        let p = self.request(remote, t, e);
        let method = if p.method == "DELETE" {
            Method::DELETE
        } else {
            Method::PATCH
        };
        let mut headers: Vec<(&str, String)> = p
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        if p.body.is_some() {
            headers.push(("Content-Type", "application/json".into()));
        }
        let what = format!("{} {}", p.method, t.name);
        match remote
            .send(
                method,
                &p.url,
                &headers,
                p.body.map(|b| b.into_bytes().into()),
                &what,
            )
            .await
        {
            Ok(resp) => Ok(Outcome::Done(if e.op == Op::Delete {
                None
            } else {
                server_row(t, &resp.body)
            })),
            // 408 is a timeout (retried by the client), not a refusal.
            Err(Error::Http { status, odata, .. })
                if (400..500).contains(&status) && !matches!(status, 401 | 408 | 429) =>
            {
                if e.op == Op::Delete && status == 404 {
                    return Ok(Outcome::Done(None)); // already gone: a retried delete
                }
                sum.requests += 1;
                let server = fetch_row(remote, t, &e.row_id).await?;
                // Detect mode after a crash or a lost answer: our own earlier
                // attempt changed the ETag. The same values on the server
                // mean it was applied, not a conflict.
                if status == 412 && e.op != Op::Delete {
                    if let Some(row) = &server {
                        if same_values(t, e, row) {
                            return Ok(Outcome::Done(server));
                        }
                    }
                }
                let (code, message) = odata.map(|o| (o.code, o.message)).unwrap_or_default();
                Ok(Outcome::Rejected {
                    status,
                    code,
                    message,
                    server,
                })
            }
            Err(e) => Err(e),
        }
    }
}

/// The JSON body of a create or update: changed columns by wire name,
/// lookups as `<navigation>@odata.bind`.
fn body(t: &ResolvedTable, e: &Entry) -> J {
    let mut m = Map::new();
    for (name, v) in &e.data {
        let Some(c) = t.column(name) else { continue };
        if c.is_lookup {
            let bind = e.binds.get(name).and_then(|b| b.as_array());
            let set = bind
                .and_then(|b| b.first())
                .and_then(|v| v.as_str())
                .unwrap_or("");
            let nav = bind
                .and_then(|b| b.get(1))
                .and_then(|v| v.as_str())
                .unwrap_or(name);
            let value = match v.as_str() {
                Some(id) => J::String(format!("/{set}({id})")),
                None => J::Null,
            };
            m.insert(format!("{nav}@odata.bind"), value);
        } else {
            // Through the cell rule and back: the server gets exactly what
            // the mirror stored.
            m.insert(c.wire.clone(), Value::from_json(c.sql_type, v).to_json(c));
        }
    }
    J::Object(m)
}

impl Outbox {
    /// Why a queued change cannot be uploaded under the current profile:
    /// its table, or some of its columns, left it.
    fn orphaned(&self, e: &Entry) -> Option<String> {
        let Some(t) = self.inner.profile.tables.iter().find(|t| t.name == e.table) else {
            return Some(format!(
                "table {} is no longer in the offline profile",
                e.table
            ));
        };
        let gone: Vec<&str> = e
            .data
            .keys()
            .filter(|c| t.column(c).is_none())
            .map(String::as_str)
            .collect();
        (!gone.is_empty()).then(|| {
            format!(
                "table {}: {} {} no longer in the offline profile; put {} back and retry, or discard the change",
                e.table,
                if gone.len() == 1 { "column" } else { "columns" },
                gone.join(", "),
                if gone.len() == 1 { "it" } else { "them" },
            )
        })
    }
}

/// A row in read shape (`return=representation`, or a GET) as the mirror
/// stores it. None when the body is not such a row.
fn server_row(t: &ResolvedTable, body: &[u8]) -> Option<RowData> {
    match serde_json::from_slice::<J>(body).ok()? {
        J::Object(m) => t.shape().row_from_json(&m),
        _ => None,
    }
}

/// The row as the server has it now; None when it does not exist.
async fn fetch_row(remote: &Remote, t: &ResolvedTable, id: &str) -> Result<Option<RowData>> {
    let url = remote.url(&format!("{}({})?$select={}", t.name, id, t.select_list()));
    match remote.get(&url, None, &format!("GET {}", t.name)).await {
        Ok(resp) => Ok(server_row(t, &resp.body)),
        Err(Error::Http { status: 404, .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether the server row holds exactly the entry's values.
fn same_values(t: &ResolvedTable, e: &Entry, row: &RowData) -> bool {
    let shape = t.shape();
    e.data.iter().all(|(name, v)| {
        let (Some(c), Some(have)) = (t.column(name), shape.value(row, name)) else {
            return true;
        };
        let want = Value::from_json(c.sql_type, v);
        match (&want, have) {
            (Value::Text(a), Value::Text(b)) => a.eq_ignore_ascii_case(b),
            (Value::Real(a), Value::Real(b)) => (a - b).abs() < 1e-9,
            (Value::Real(a), Value::Integer(b)) | (Value::Integer(b), Value::Real(a)) => {
                (a - *b as f64).abs() < 1e-9
            }
            _ => &want == have,
        }
    })
}
