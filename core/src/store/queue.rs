//! The queue of local changes (`mooring_outbox`), the storage half of the
//! outbox (the logic half is `outbox/`), and every transaction that touches
//! it together with the mirror: a local write (mirror row +
//! queue entry, merged with earlier entries of the row), an acknowledged
//! upload (entry gone, server state in), a rejected change (moved to the
//! errors, `sync_errors.rs`, row back to the server's state). Also the
//! overlay that keeps pending local values over downloaded rows. The rules
//! are in docs/outbox.md; the validation and the network are in `outbox/`.

use std::collections::{BTreeMap, HashSet};

use rusqlite::{Connection, OptionalExtension, params};
use serde_json::{Map, Value as J};

use super::upsert::{self, Generation};
use super::{Store, q};
use crate::error::Result;
use crate::error::WriteError;
use crate::profile::ResolvedTable;
use crate::value::{RowData, Value};

/// What one queue entry does to its row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    Create,
    Update,
    Delete,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Delete => "delete",
        }
    }
    pub(super) fn parse(s: &str) -> Op {
        match s {
            "create" => Op::Create,
            "delete" => Op::Delete,
            _ => Op::Update,
        }
    }
}

/// One queue entry: the merged change of one row (a row has two only when
/// a later edit points a lookup at a row created after the first entry,
/// so the parent's create goes first).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry {
    pub seq: i64,
    pub table: String,
    pub row_id: String,
    pub op: Op,
    /// Changed columns → values (app JSON: text, integer, real, null).
    pub data: Map<String, J>,
    /// Lookup column → [target entity set, navigation property].
    pub binds: Map<String, J>,
    /// The row's ETag when the first local change was made: what detect
    /// mode sends in `If-Match`.
    pub base_etag: Option<String>,
    /// Bumped by every merge: an upload acknowledges only what it sent.
    pub version: i64,
    /// Sent at least once: the server may hold it, so a later local delete
    /// must reach the server (create+delete = nothing only if never sent).
    pub sent: bool,
    pub created_ms: i64,
    /// The local transaction it belongs to (`Outbox::write_transaction`):
    /// its entries upload as one change set, all or none. Entries of a
    /// transaction merge only with each other.
    pub txn: Option<i64>,
    /// Times it was sent without an answer that settled it.
    pub attempts: i64,
}

/// One change waiting for upload, as the app lists it: which row, what
/// kind of change, which columns (not their values), since when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingChange {
    /// Its place in the queue: lower goes first.
    pub seq: i64,
    pub table: String,
    pub row_id: String,
    pub op: Op,
    /// The columns it sets (empty for a delete).
    pub columns: Vec<String>,
    /// When the first local change of it was made (Unix ms).
    pub queued_at_ms: i64,
    /// Sent in an upload the server has not answered (a cut or a kill
    /// mid-upload); the next upload sends it again, idempotently.
    pub in_flight: bool,
    /// Times it was sent without an answer that settled it (a cut, a kill,
    /// a server error): the upload retries it until the server answers.
    pub attempts: u32,
    /// The local transaction it belongs to: its changes upload together,
    /// as one change set.
    pub transaction: Option<i64>,
}

/// A local write, validated by `outbox/` against the profile.
#[derive(Clone, Debug)]
pub(crate) struct LocalWrite {
    pub op: Op,
    pub row_id: String,
    pub data: Map<String, J>,
    pub binds: Map<String, J>,
}

/// Schema step 2: the local transaction of an entry (and of a refused
/// one), and how often an entry was sent.
pub(crate) fn add_transactions_and_attempts(c: &Connection) -> Result<()> {
    c.execute_batch(
        "ALTER TABLE mooring_outbox ADD COLUMN txn INTEGER;
         ALTER TABLE mooring_outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE mooring_sync_errors ADD COLUMN txn INTEGER;
         CREATE INDEX mooring_outbox_txn ON mooring_outbox (txn) WHERE txn IS NOT NULL;",
    )?;
    Ok(())
}

/// A new local transaction's id: never one the queue or the sync errors
/// hold (a refused transaction keeps its id there).
pub(crate) fn next_txn(c: &Connection) -> Result<i64> {
    Ok(c.query_row(
        "SELECT 1 + max(coalesce((SELECT max(txn) FROM mooring_outbox), 0),
                        coalesce((SELECT max(txn) FROM mooring_sync_errors), 0))",
        [],
        |r| r.get(0),
    )?)
}

/// Whether a row exists in a mirror table, as `c` (maybe inside a
/// transaction) sees it.
pub(crate) fn row_exists_on(c: &Connection, table: &str, key: &str, id: &str) -> Result<bool> {
    Ok(c.prepare_cached(&format!(
        "SELECT EXISTS (SELECT 1 FROM {} WHERE {} = ?1)",
        q(table),
        q(key)
    ))?
    .query_row([id], |r| r.get(0))?)
}

pub(crate) fn create_tables(c: &Connection) -> Result<()> {
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS mooring_outbox (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            tbl TEXT NOT NULL,
            row_id TEXT NOT NULL,
            op TEXT NOT NULL,
            data TEXT NOT NULL,
            binds TEXT NOT NULL,
            base_etag TEXT,
            version INTEGER NOT NULL DEFAULT 1,
            sent INTEGER NOT NULL DEFAULT 0,
            created_ms INTEGER NOT NULL
        );
        CREATE INDEX IF NOT EXISTS mooring_outbox_row ON mooring_outbox (tbl, row_id);
        CREATE TABLE IF NOT EXISTS mooring_sync_errors (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at_ms INTEGER NOT NULL,
            tbl TEXT NOT NULL,
            row_id TEXT NOT NULL,
            action TEXT NOT NULL,
            data TEXT NOT NULL,
            binds TEXT NOT NULL,
            status INTEGER NOT NULL,
            code TEXT NOT NULL,
            message TEXT NOT NULL
        );",
    )?;
    Ok(())
}

pub(super) fn to_map(text: &str) -> Map<String, J> {
    // Written by this module from a Map: anything else is treated as empty
    // rather than failing the whole queue.
    serde_json::from_str(text).unwrap_or_default()
}

fn to_text(m: &Map<String, J>) -> String {
    J::Object(m.clone()).to_string()
}

const ENTRY_COLS: &str =
    "seq, tbl, row_id, op, data, binds, base_etag, version, sent, created_ms, txn, attempts";

fn read_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<Entry> {
    Ok(Entry {
        seq: r.get(0)?,
        table: r.get(1)?,
        row_id: r.get(2)?,
        op: Op::parse(&r.get::<_, String>(3)?),
        data: to_map(&r.get::<_, String>(4)?),
        binds: to_map(&r.get::<_, String>(5)?),
        base_etag: r.get(6)?,
        version: r.get(7)?,
        sent: r.get::<_, i64>(8)? != 0,
        created_ms: r.get(9)?,
        txn: r.get(10)?,
        attempts: r.get(11)?,
    })
}

fn entry_by_seq(c: &Connection, seq: i64) -> Result<Option<Entry>> {
    Ok(c.prepare_cached(&format!(
        "SELECT {ENTRY_COLS} FROM mooring_outbox WHERE seq = ?1"
    ))?
    .query_row([seq], read_entry)
    .optional()?)
}

fn entries_for_row(c: &Connection, table: &str, id: &str) -> Result<Vec<Entry>> {
    let mut stmt = c.prepare_cached(&format!(
        "SELECT {ENTRY_COLS} FROM mooring_outbox WHERE tbl = ?1 AND row_id = ?2 ORDER BY seq"
    ))?;
    let rows = stmt.query_map(params![table, id], read_entry)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn insert_entry(c: &Connection, e: &Entry) -> Result<i64> {
    c.prepare_cached(
        "INSERT INTO mooring_outbox (tbl, row_id, op, data, binds, base_etag, version, sent, created_ms, txn)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        e.table,
        e.row_id,
        e.op.as_str(),
        to_text(&e.data),
        to_text(&e.binds),
        e.base_etag,
        e.version,
        e.sent as i64,
        e.created_ms,
        e.txn
    ])?;
    Ok(c.last_insert_rowid())
}

/// Applies an entry's values to the mirror row (creating it for a create
/// the row of which is missing, removing it for a delete).
fn apply_entry(
    c: &Connection,
    t: &ResolvedTable,
    op: Op,
    id: &str,
    data: &Map<String, J>,
) -> Result<()> {
    match op {
        Op::Delete => {
            c.prepare_cached(&format!(
                "DELETE FROM {} WHERE {} = ?1",
                q(&t.name),
                q(&t.key)
            ))?
            .execute([id])?;
            return Ok(());
        }
        Op::Create => {
            c.prepare_cached(&format!(
                "INSERT OR IGNORE INTO {} ({}, \"_gen\", \"_pending\") VALUES (?1, ?2, 1)",
                q(&t.name),
                q(&t.key)
            ))?
            .execute(params![id, new_row_generation(c, &t.name)?])?;
        }
        Op::Update => {}
    }
    let mut sets = vec!["\"_pending\" = 1".to_string()];
    let mut vals: Vec<Value> = Vec::new();
    for (name, v) in data {
        // Only the profile's columns: a column that left the profile is
        // simply not applied.
        let Some(col) = t.column(name) else { continue };
        vals.push(Value::from_json(col.sql_type, v));
        sets.push(format!("{} = ?{}", q(&col.name), vals.len() + 1));
    }
    let sql = format!(
        "UPDATE {} SET {} WHERE {} = ?1",
        q(&t.name),
        sets.join(", "),
        q(&t.key)
    );
    let mut stmt = c.prepare_cached(&sql)?;
    stmt.raw_bind_parameter(1, id)?;
    for (i, v) in vals.iter().enumerate() {
        stmt.raw_bind_parameter(i + 2, v)?;
    }
    stmt.raw_execute()?;
    Ok(())
}

/// Re-applies the queue entries of the row over whatever the mirror holds
/// now, then sets `_pending` from whether entries remain.
fn reapply_row(c: &Connection, t: &ResolvedTable, id: &str) -> Result<()> {
    let entries = entries_for_row(c, &t.name, id)?;
    for e in &entries {
        apply_entry(c, t, e.op, id, &e.data)?;
    }
    c.prepare_cached(&format!(
        "UPDATE {} SET \"_pending\" = ?2 WHERE {} = ?1",
        q(&t.name),
        q(&t.key)
    ))?
    .execute(params![id, !entries.is_empty() as i64])?;
    Ok(())
}

/// After a downloaded page is written: rows of the page (or deleted by it)
/// that have pending local changes get their local values back, so a
/// download never loses a local change (last write wins per column, the
/// local write being the later one until it is uploaded).
pub(crate) fn overlay_pending(
    c: &Connection,
    t: &ResolvedTable,
    rows: &[RowData],
    deleted: &[String],
) -> Result<()> {
    let any: bool = c
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM mooring_outbox WHERE tbl = ?1)")?
        .query_row([&t.name], |r| r.get(0))?;
    if !any {
        return Ok(());
    }
    let keys: HashSet<&str> = rows
        .iter()
        .map(|r| r.key.as_str())
        .chain(deleted.iter().map(|k| k.as_str()))
        .collect();
    let pending: Vec<String> = {
        let mut stmt =
            c.prepare_cached("SELECT DISTINCT row_id FROM mooring_outbox WHERE tbl = ?1")?;
        let ids = stmt.query_map([&t.name], |r| r.get::<_, String>(0))?;
        ids.collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .filter(|id| keys.contains(id.as_str()))
            .collect()
    };
    for id in pending {
        reapply_row(c, t, &id)?;
    }
    Ok(())
}

/// The generation of a row no download brought (a local create, or a
/// server row written after an upload that the mirror lacked). While the
/// table waits for a baseline that has not started yet (a new table, a
/// re-baseline after a profile change), one below it: only that baseline
/// can tell whether the row still exists, and its sweep must remove it if
/// not, since the delta link it ends with starts after a delete made
/// before it (found by the chaos soak, docs/robustness.md). Once the
/// baseline runs (a next link stored) or is done, the current one: the
/// server got the row after the baseline's snapshot, so the next delta
/// brings whatever happens to it.
fn new_row_generation(c: &Connection, table: &str) -> Result<i64> {
    Ok(c.prepare_cached(
        "SELECT coalesce((SELECT CASE WHEN phase = 'initial' AND next_link IS NULL
                                      THEN generation - 1 ELSE generation END
                          FROM mooring_tables WHERE name = ?1), 1)",
    )?
    .query_row([table], |r| r.get(0))?)
}

/// Upserts a row as the server has it (after an upload or a revert); a new
/// row gets `new_row_generation`, an existing one keeps its own.
fn write_server_row(c: &Connection, t: &ResolvedTable, row: &RowData) -> Result<()> {
    let generation = new_row_generation(c, &t.name)?;
    let mut stmt = c.prepare_cached(&upsert::sql(t, 1, Generation::KeepExisting))?;
    upsert::bind(&mut stmt, 0, t, row, generation)?;
    stmt.raw_execute()?;
    Ok(())
}

pub(super) fn row_etag(
    c: &Connection,
    t: &ResolvedTable,
    id: &str,
) -> Result<Option<Option<String>>> {
    Ok(c.prepare_cached(&format!(
        "SELECT \"_etag\" FROM {} WHERE {} = ?1",
        q(&t.name),
        q(&t.key)
    ))?
    .query_row([id], |r| r.get::<_, Option<String>>(0))
    .optional()?)
}

/// The newest pending create of a row, if any (parent-before-child order).
fn pending_create_seq(c: &Connection, table: &str, id: &str) -> Result<Option<i64>> {
    Ok(c.prepare_cached(
        "SELECT max(seq) FROM mooring_outbox WHERE tbl = ?1 AND row_id = ?2 AND op = 'create'",
    )?
    .query_row(params![table, id], |r| r.get::<_, Option<i64>>(0))?)
}

/// The mirror + queue part of a local write, inside `c`'s transaction;
/// `txn` is the local transaction it belongs to, if any.
pub(crate) fn local_write_tx(
    c: &Connection,
    t: &ResolvedTable,
    w: &LocalWrite,
    now: i64,
    txn: Option<i64>,
) -> Result<()> {
    let entries = entries_for_row(c, &t.name, &w.row_id)?;
    let etag = row_etag(c, t, &w.row_id)?;
    match w.op {
        Op::Create => {
            if etag.is_some() || !entries.is_empty() {
                return Err(WriteError::RowExists {
                    table: t.name.clone(),
                    id: w.row_id.clone(),
                }
                .into());
            }
            apply_entry(c, t, Op::Create, &w.row_id, &w.data)?;
            insert_entry(
                c,
                &Entry {
                    seq: 0,
                    table: t.name.clone(),
                    row_id: w.row_id.clone(),
                    op: Op::Create,
                    data: w.data.clone(),
                    binds: w.binds.clone(),
                    base_etag: None,
                    version: 1,
                    sent: false,
                    created_ms: now,
                    txn,
                    attempts: 0,
                },
            )?;
        }
        Op::Update => {
            let Some(etag) = etag else {
                return Err(WriteError::RowNotFound {
                    table: t.name.clone(),
                    id: w.row_id.clone(),
                }
                .into());
            };
            apply_entry(c, t, Op::Update, &w.row_id, &w.data)?;
            // Never across a transaction's edge: a transaction uploads as
            // its own change set, with exactly its own changes.
            let mut merge_into = entries
                .last()
                .filter(|e| e.op != Op::Delete && e.txn == txn)
                .cloned();
            if let Some(last) = &merge_into {
                // A lookup pointing at a row created after `last` must not
                // travel before that create: queue it as its own entry.
                for (col, target) in &w.binds {
                    let Some(target_set) = target.get(0).and_then(|v| v.as_str()) else {
                        continue;
                    };
                    let Some(id) = w.data.get(col).and_then(|v| v.as_str()) else {
                        continue;
                    };
                    if pending_create_seq(c, target_set, id)?.is_some_and(|s| s > last.seq) {
                        merge_into = None;
                        break;
                    }
                }
            }
            match merge_into {
                Some(mut e) => {
                    for (k, v) in &w.data {
                        e.data.insert(k.clone(), v.clone());
                    }
                    for (k, v) in &w.binds {
                        e.binds.insert(k.clone(), v.clone());
                    }
                    c.prepare_cached("UPDATE mooring_outbox SET data = ?2, binds = ?3, version = version + 1 WHERE seq = ?1")?
                        .execute(params![e.seq, to_text(&e.data), to_text(&e.binds)])?;
                }
                None => {
                    let base_etag = entries.first().map(|e| e.base_etag.clone()).unwrap_or(etag);
                    insert_entry(
                        c,
                        &Entry {
                            seq: 0,
                            table: t.name.clone(),
                            row_id: w.row_id.clone(),
                            op: Op::Update,
                            data: w.data.clone(),
                            binds: w.binds.clone(),
                            base_etag,
                            version: 1,
                            sent: false,
                            created_ms: now,
                            txn,
                            attempts: 0,
                        },
                    )?;
                }
            }
        }
        Op::Delete => {
            let Some(etag) = etag else {
                return Err(WriteError::RowNotFound {
                    table: t.name.clone(),
                    id: w.row_id.clone(),
                }
                .into());
            };
            apply_entry(c, t, Op::Delete, &w.row_id, &w.data)?;
            let unsent_create = entries
                .first()
                .is_some_and(|e| e.op == Op::Create && !e.sent);
            let base_etag = entries.first().map(|e| e.base_etag.clone()).unwrap_or(etag);
            c.prepare_cached("DELETE FROM mooring_outbox WHERE tbl = ?1 AND row_id = ?2")?
                .execute(params![t.name, w.row_id])?;
            if !unsent_create {
                insert_entry(
                    c,
                    &Entry {
                        seq: 0,
                        table: t.name.clone(),
                        row_id: w.row_id.clone(),
                        op: Op::Delete,
                        data: Map::new(),
                        binds: Map::new(),
                        base_etag,
                        version: 1,
                        sent: false,
                        created_ms: now,
                        txn,
                        attempts: 0,
                    },
                )?;
            }
        }
    }
    Ok(())
}

/// Why the server refused a change (or a transaction).
#[derive(Clone, Debug, Default)]
pub(crate) struct Refusal {
    pub status: u16,
    pub code: String,
    pub message: String,
}

/// Moves entry `e` (still in the queue) to the sync errors.
fn record_refusal(c: &Connection, e: &Entry, r: &Refusal, now: i64) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO mooring_sync_errors (at_ms, tbl, row_id, action, data, binds, status, code, message, txn)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        now,
        e.table,
        e.row_id,
        e.op.as_str(),
        to_text(&e.data),
        to_text(&e.binds),
        r.status,
        r.code,
        r.message,
        e.txn
    ])?;
    c.prepare_cached("DELETE FROM mooring_outbox WHERE seq = ?1")?
        .execute([e.seq])?;
    Ok(())
}

/// A refused change's row back to the server's state (`server_row`, or
/// gone), with the row's other pending entries over it.
fn revert_row(
    c: &Connection,
    t: &ResolvedTable,
    id: &str,
    server_row: Option<&RowData>,
) -> Result<()> {
    match server_row {
        Some(row) => write_server_row(c, t, row)?,
        None => {
            c.prepare_cached(&format!(
                "DELETE FROM {} WHERE {} = ?1",
                q(&t.name),
                q(&t.key)
            ))?
            .execute([id])?;
        }
    }
    reapply_row(c, t, id)
}

/// What the upload learned about one sent entry.
#[derive(Clone, Debug)]
pub(crate) struct Ack {
    pub seq: i64,
    /// The entry's version when it was sent.
    pub version: i64,
    /// The row as the server now has it (None: deleted or unknown).
    pub server_row: Option<RowData>,
}

impl Store {
    /// A validated local write: mirror row and queue entry in one
    /// transaction, merged with the row's earlier entries.
    pub(crate) fn local_write(&self, t: &ResolvedTable, w: &LocalWrite) -> Result<()> {
        {
            let mut conn = self.writer()?;
            let tx = conn.transaction()?;
            local_write_tx(&tx, t, w, crate::now_ms(), None)?;
            tx.commit()?;
        }
        self.committed();
        self.inner.watches.notify(self, &t.name);
        Ok(())
    }

    /// Runs `f` inside one writer transaction, committed when `f` returns
    /// Ok (and rolled back otherwise): the writes of an app's local
    /// transaction. `f` gets the connection and a new transaction id, and
    /// returns the mirror tables it touched (their watches fire after the
    /// commit).
    pub(crate) fn local_transaction<T>(
        &self,
        f: impl FnOnce(&Connection, i64) -> Result<(T, Vec<String>)>,
    ) -> Result<T> {
        let (out, touched) = {
            let mut conn = self.writer()?;
            let tx = conn.transaction()?;
            let txn = next_txn(&tx)?;
            let out = f(&tx, txn)?;
            tx.commit()?;
            out
        };
        self.committed();
        let touched: std::collections::BTreeSet<String> = touched.into_iter().collect();
        for name in &touched {
            self.inner.watches.notify(self, name);
        }
        Ok(out)
    }

    /// Changes waiting for upload (merged entries: changes, not rows).
    pub fn pending_count(&self) -> Result<u64> {
        self.with_reader(|c| {
            Ok(c.query_row("SELECT count(*) FROM mooring_outbox", [], |r| {
                r.get::<_, i64>(0)
            })? as u64)
        })
    }

    /// The outbox by kind of change and age, for the diagnostics report.
    pub(crate) fn outbox_report(&self, now_ms: i64) -> Result<crate::diagnostics::OutboxReport> {
        self.with_reader(|c| {
            Ok(c.query_row(
                "SELECT count(*),
                        coalesce(sum(op = 'create'), 0),
                        coalesce(sum(op = 'update'), 0),
                        coalesce(sum(op = 'delete'), 0),
                        coalesce(sum(sent), 0),
                        min(created_ms)
                 FROM mooring_outbox",
                [],
                |r| {
                    let n = |i: usize| r.get::<_, i64>(i).map(|v| v.max(0) as u64);
                    Ok(crate::diagnostics::OutboxReport {
                        pending: n(0)?,
                        creates: n(1)?,
                        updates: n(2)?,
                        deletes: n(3)?,
                        in_flight: n(4)?,
                        oldest_pending_age_secs: r
                            .get::<_, Option<i64>>(5)?
                            .map(|t| ((now_ms - t).max(0) / 1000) as u64),
                    })
                },
            )?)
        })
    }

    /// The changes waiting for upload, oldest first (at most `limit`):
    /// what they are, never their values.
    pub fn pending_changes(&self, limit: usize) -> Result<Vec<PendingChange>> {
        Ok(self
            .outbox_head(limit)?
            .into_iter()
            .map(|e| PendingChange {
                seq: e.seq,
                columns: e.data.keys().cloned().collect(),
                table: e.table,
                row_id: e.row_id,
                op: e.op,
                queued_at_ms: e.created_ms,
                in_flight: e.sent,
                attempts: e.attempts.clamp(0, u32::MAX as i64) as u32,
                transaction: e.txn,
            })
            .collect())
    }

    /// The queue, oldest first, at most `limit` entries.
    pub(crate) fn outbox_head(&self, limit: usize) -> Result<Vec<Entry>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {ENTRY_COLS} FROM mooring_outbox ORDER BY seq LIMIT ?1"
            ))?;
            let rows = stmt.query_map([limit as i64], read_entry)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Marks entries as sent before they go out (see `Entry::sent`) and
    /// returns them as they are now, in one transaction: an entry merged
    /// away meanwhile (a create deleted before it was ever sent) is not
    /// returned, so it is never sent.
    pub(crate) fn outbox_claim(&self, seqs: &[i64]) -> Result<Vec<Entry>> {
        let mut conn = self.writer()?;
        let tx = conn.transaction()?;
        let mut out = Vec::with_capacity(seqs.len());
        {
            let mut mark = tx.prepare_cached(
                "UPDATE mooring_outbox SET sent = 1, attempts = attempts + 1 WHERE seq = ?1",
            )?;
            let mut read = tx.prepare_cached(&format!(
                "SELECT {ENTRY_COLS} FROM mooring_outbox WHERE seq = ?1"
            ))?;
            for s in seqs {
                if mark.execute([s])? == 1 {
                    if let Some(e) = read.query_row([s], read_entry).optional()? {
                        out.push(e);
                    }
                }
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// Uploaded entries: each leaves the queue unless it changed since it
    /// was sent (then it goes again, idempotently); the server's state of
    /// the row comes in with pending values kept over it.
    pub(crate) fn outbox_ack(&self, tables: &[&ResolvedTable], acks: &[Ack]) -> Result<()> {
        let mut touched = BTreeMap::new();
        {
            let mut conn = self.writer()?;
            let tx = conn.transaction()?;
            for a in acks {
                let Some(e) = entry_by_seq(&tx, a.seq)? else {
                    continue;
                };
                let Some(t) = tables.iter().find(|t| t.name == e.table) else {
                    continue;
                };
                if e.version == a.version {
                    tx.prepare_cached("DELETE FROM mooring_outbox WHERE seq = ?1")?
                        .execute([a.seq])?;
                }
                if let Some(row) = &a.server_row {
                    write_server_row(&tx, t, row)?;
                }
                reapply_row(&tx, t, &e.row_id)?;
                touched.insert(t.name.clone(), ());
            }
            tx.commit()?;
        }
        self.committed();
        for name in touched.keys() {
            self.inner.watches.notify(self, name);
        }
        Ok(())
    }

    /// A change the server refused: it moves to the sync errors and the
    /// mirror row returns to the server's state (`server_row`, or gone).
    pub(crate) fn outbox_reject(
        &self,
        t: &ResolvedTable,
        seq: i64,
        refusal: &Refusal,
        server_row: Option<&RowData>,
    ) -> Result<()> {
        {
            let mut conn = self.writer()?;
            let tx = conn.transaction()?;
            let Some(e) = entry_by_seq(&tx, seq)? else {
                return Ok(());
            };
            record_refusal(&tx, &e, refusal, crate::now_ms())?;
            revert_row(&tx, t, &e.row_id, server_row)?;
            tx.commit()?;
        }
        self.committed();
        self.inner.watches.notify(self, &t.name);
        Ok(())
    }

    /// A queue entry whose table left the profile: moved to the errors as
    /// is (no mirror table to revert).
    pub(crate) fn outbox_reject_orphan(&self, seq: i64, message: &str) -> Result<()> {
        let mut conn = self.writer()?;
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO mooring_sync_errors (at_ms, tbl, row_id, action, data, binds, status, code, message, txn)
             SELECT ?2, tbl, row_id, op, data, binds, 0, '', ?3, txn FROM mooring_outbox WHERE seq = ?1",
            params![seq, crate::now_ms(), message],
        )?;
        tx.execute("DELETE FROM mooring_outbox WHERE seq = ?1", [seq])?;
        tx.commit()?;
        Ok(())
    }

    /// Whether a row exists in a mirror table (lookup validation).
    pub(crate) fn row_exists(&self, table: &str, id: &str) -> Result<bool> {
        let cols = self.table_columns(table)?;
        self.with_reader(|c| row_exists_on(c, table, &cols.key, id))
    }

    /// The key column of a mirror table.
    pub(crate) fn key_of(&self, table: &str) -> Result<String> {
        Ok(self.table_columns(table)?.key)
    }

    /// Every entry of a local transaction, in order.
    pub(crate) fn outbox_transaction(&self, txn: i64) -> Result<Vec<Entry>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {ENTRY_COLS} FROM mooring_outbox WHERE txn = ?1 ORDER BY seq"
            ))?;
            let rows = stmt.query_map([txn], read_entry)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// A local transaction the server refused: all of its changes move to
    /// the sync errors as one entry (they keep the transaction's id) and
    /// their rows return to the server's state, in one SQLite transaction.
    /// `parts` pairs each entry's seq with its row as the server has it.
    pub(crate) fn outbox_reject_transaction(
        &self,
        tables: &[&ResolvedTable],
        parts: &[(i64, Option<RowData>)],
        refusal: &Refusal,
    ) -> Result<()> {
        let mut touched = BTreeMap::new();
        {
            let mut conn = self.writer()?;
            let tx = conn.transaction()?;
            let now = crate::now_ms();
            for (seq, server_row) in parts {
                let Some(e) = entry_by_seq(&tx, *seq)? else {
                    continue;
                };
                record_refusal(&tx, &e, refusal, now)?;
                if let Some(t) = tables.iter().find(|t| t.name == e.table) {
                    revert_row(&tx, t, &e.row_id, server_row.as_ref())?;
                    touched.insert(t.name.clone(), ());
                }
            }
            tx.commit()?;
        }
        self.committed();
        for name in touched.keys() {
            self.inner.watches.notify(self, name);
        }
        Ok(())
    }
}
