//! Upload: the queue, oldest first, in `$batch` change sets of
//! `batch_size`, falling back to one request per change when a change set
//! fails, so one bad change never blocks the others: it moves to the sync
//! errors and its row returns to the server's state. A local transaction
//! (`transaction.rs`) is its own change set, never split and never sent
//! one by one: the server applies all of it or none, and a refusal makes
//! it one sync error.
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
use crate::store::{Ack, Entry, Op, Refusal, Store};
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
        refusal: Refusal,
        server: Option<RowData>,
    },
}

/// How the server answered one change set.
enum ChangeSet {
    /// Every change applied.
    Applied(Vec<Ack>),
    /// Refused as a whole: none of it applied (one change of it failed,
    /// or the server refused the batch).
    Refused(Refusal),
    /// One part failed in a way retrying may fix (5xx, 429): nothing was
    /// applied. Single changes then go one by one (with the client's
    /// retries); a transaction waits for the next upload.
    Transient(Error),
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
            // errors with their values, never silently trimmed (a
            // transaction: all of it).
            if let Some((e, msg)) = head.iter().find_map(|e| self.orphaned(e).map(|m| (e, m))) {
                warn!(table = %e.table, "change no longer fits the offline profile: moved to sync errors");
                let seqs = match e.txn {
                    Some(txn) => {
                        let all = self.blocking(move |s| s.outbox_transaction(txn)).await?;
                        all.iter().map(|m| m.seq).collect()
                    }
                    None => vec![e.seq],
                };
                sum.rejected += 1;
                self.blocking(move |s| {
                    seqs.iter()
                        .try_for_each(|seq| s.outbox_reject_orphan(*seq, &msg))
                })
                .await?;
                continue;
            }
            if let Some(txn) = head[0].txn {
                self.upload_transaction(remote, txn, &mut sum).await?;
                continue;
            }
            // The single changes before the next transaction.
            let entries: Vec<Entry> = head.into_iter().take_while(|e| e.txn.is_none()).collect();
            let seqs: Vec<i64> = entries.iter().map(|e| e.seq).collect();
            let entries = self.blocking(move |s| s.outbox_claim(&seqs)).await?;
            if entries.is_empty() {
                continue;
            }
            if entries.len() > 1 {
                sum.requests += 1;
                sum.batches += 1;
                if let ChangeSet::Applied(acks) = self.send_batch(remote, &entries).await? {
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
                    Outcome::Rejected { refusal, server } => {
                        sum.rejected += 1;
                        warn!(table = %t.name, status = refusal.status, code = %refusal.code, action = e.op.as_str(), "change refused by the server: moved to sync errors");
                        let seq = e.seq;
                        self.blocking(move |s| s.outbox_reject(&t, seq, &refusal, server.as_ref()))
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

    /// One change set: applied whole, refused whole, or failed whole for
    /// now.
    async fn send_batch(&self, remote: &Remote, entries: &[Entry]) -> Result<ChangeSet> {
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
            // its eyes).
            Err(Error::Http {
                status: status @ 400..=499,
                odata,
                ..
            }) => {
                let (code, message) = odata.map(|o| (o.code, o.message)).unwrap_or_default();
                return Ok(ChangeSet::Refused(Refusal {
                    status,
                    code,
                    message,
                }));
            }
            Err(e) => return Err(e),
        };
        let ct = resp
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let Some(mut responses) = batch::parse(&resp.body, ct) else {
            warn!("a $batch response did not parse");
            return Ok(ChangeSet::Refused(Refusal {
                status: resp.status,
                code: String::new(),
                message: "the server's answer to the change set could not be read".into(),
            }));
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
        if let Some(failed) = responses.iter().find(|r| !(200..300).contains(&r.status)) {
            debug!(status = failed.status, "change set failed");
            let odata = crate::remote::parse_error_body(&failed.body);
            if failed.status == 429 {
                return Ok(ChangeSet::Transient(Error::Throttled {
                    attempts: 1,
                    retry_after: None,
                }));
            }
            if failed.status >= 500 || failed.status == 408 {
                return Ok(ChangeSet::Transient(Error::Http {
                    status: failed.status,
                    what: "POST $batch".into(),
                    odata,
                }));
            }
            let (code, message) = odata.map(|o| (o.code, o.message)).unwrap_or_default();
            return Ok(ChangeSet::Refused(Refusal {
                status: failed.status,
                code,
                message,
            }));
        }
        if responses.len() != entries.len() {
            return Ok(ChangeSet::Refused(Refusal {
                status: resp.status,
                code: String::new(),
                message: format!(
                    "the server answered {} of the change set's {} requests",
                    responses.len(),
                    entries.len()
                ),
            }));
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
        Ok(ChangeSet::Applied(acks))
    }

    /// A local transaction: its changes as one change set. Refused, it is
    /// one sync error and its rows return to the server's state; unless
    /// the rows show an earlier attempt of it was applied (its answer lost
    /// to a cut or a kill: a retried delete is then a 404, an update in
    /// detect mode a 412), then it is done.
    async fn upload_transaction(
        &self,
        remote: &Remote,
        txn: i64,
        sum: &mut UploadSummary,
    ) -> Result<()> {
        let group = self.blocking(move |s| s.outbox_transaction(txn)).await?;
        let seqs: Vec<i64> = group.iter().map(|e| e.seq).collect();
        let group = self.blocking(move |s| s.outbox_claim(&seqs)).await?;
        if group.is_empty() {
            return Ok(());
        }
        sum.requests += 1;
        sum.batches += 1;
        let refusal = match self.send_batch(remote, &group).await? {
            ChangeSet::Applied(acks) => {
                sum.uploaded += acks.len() as u64;
                return self.ack(acks).await;
            }
            ChangeSet::Refused(r) => r,
            ChangeSet::Transient(e) => return Err(e),
        };
        let mut parts = Vec::with_capacity(group.len());
        let mut applied = true;
        for e in &group {
            let t = self.table(&e.table)?;
            sum.requests += 1;
            let row = fetch_row(remote, t, &e.row_id).await?;
            applied &= match (e.op, &row) {
                (Op::Delete, row) => row.is_none(),
                (_, Some(row)) => same_values(t, e, row),
                (_, None) => false,
            };
            parts.push((e.seq, e.version, row));
        }
        if applied {
            debug!(txn, "the transaction was applied by an earlier attempt");
            sum.uploaded += parts.len() as u64;
            let acks = parts
                .into_iter()
                .map(|(seq, version, server_row)| Ack {
                    seq,
                    version,
                    server_row,
                })
                .collect();
            return self.ack(acks).await;
        }
        warn!(
            txn,
            changes = parts.len(),
            status = refusal.status,
            code = %refusal.code,
            "transaction refused by the server: moved to sync errors as one"
        );
        sum.rejected += 1;
        let me = self.clone();
        self.blocking(move |s| {
            let tables: Vec<&ResolvedTable> = me.inner.profile.tables.iter().collect();
            let parts: Vec<(i64, Option<RowData>)> =
                parts.into_iter().map(|(seq, _, row)| (seq, row)).collect();
            s.outbox_reject_transaction(&tables, &parts, &refusal)
        })
        .await
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
                    refusal: Refusal {
                        status,
                        code,
                        message,
                    },
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
