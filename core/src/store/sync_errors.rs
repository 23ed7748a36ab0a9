//! The sync-errors list, the storage half: changes the server refused (or
//! that could not be sent), kept with their values for the app to retry
//! (queued again over the row's current values) or discard. Entries arrive
//! here from the queue (`queue.rs`, `outbox_reject`,
//! `outbox_reject_transaction`); a refused local transaction is one entry.

use rusqlite::OptionalExtension;
use serde_json::{Map, Value as J};

use super::Store;
use super::queue::{LocalWrite, Op, local_write_tx, row_etag, to_map};
use crate::error::Result;
use crate::error::WriteError;
use crate::profile::ResolvedTable;

/// A change the server refused, kept for the app to retry or discard.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncErrorRecord {
    pub id: i64,
    pub at_ms: i64,
    pub table: String,
    pub row_id: String,
    pub action: Op,
    pub data: Map<String, J>,
    pub binds: Map<String, J>,
    /// HTTP status (0: refused locally, e.g. the table left the profile).
    pub status: u16,
    pub code: String,
    pub message: String,
    /// The local transaction it was part of: the transaction's changes
    /// are one entry of the list, retried or discarded together.
    pub txn: Option<i64>,
}

const COLS: &str = "id, at_ms, tbl, row_id, action, data, binds, status, code, message, txn";

impl Store {
    pub(crate) fn sync_errors(&self) -> Result<Vec<SyncErrorRecord>> {
        self.with_reader(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {COLS} FROM mooring_sync_errors ORDER BY id"
            ))?;
            let rows = stmt.query_map([], read_error)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Refused changes waiting in the sync errors list.
    pub fn sync_error_count(&self) -> Result<u64> {
        self.with_reader(|c| {
            Ok(
                // A refused transaction counts once.
                c.query_row(
                    "SELECT count(DISTINCT coalesce(txn, -id)) FROM mooring_sync_errors",
                    [],
                    |r| r.get::<_, i64>(0),
                )? as u64,
            )
        })
    }

    /// Forgets a sync error, with the rest of its transaction (the mirror
    /// already holds the server's state). False when there was no such error.
    pub(crate) fn discard_sync_error(&self, id: i64) -> Result<bool> {
        let w = self.writer()?;
        Ok(w.execute(
            "DELETE FROM mooring_sync_errors WHERE id = ?1
                OR txn = (SELECT txn FROM mooring_sync_errors WHERE id = ?1)",
            [id],
        )? > 0)
    }

    /// Re-queues a sync error's change over the row's current state, in one
    /// transaction with its removal from the list; a refused transaction is
    /// re-queued whole, as a new transaction. `tables` is the profile's.
    pub(crate) fn retry_sync_error(&self, tables: &[ResolvedTable], id: i64) -> Result<()> {
        let mut touched = Vec::new();
        {
            let mut conn = self.writer()?;
            let tx = conn.transaction()?;
            let Some(first) = tx
                .query_row(
                    &format!("SELECT {COLS} FROM mooring_sync_errors WHERE id = ?1"),
                    [id],
                    read_error,
                )
                .optional()?
            else {
                return Err(WriteError::NoSuchSyncError(id).into());
            };
            let members = match first.txn {
                None => vec![first],
                Some(txn) => {
                    let mut stmt = tx.prepare(&format!(
                        "SELECT {COLS} FROM mooring_sync_errors WHERE txn = ?1 ORDER BY id"
                    ))?;
                    let rows = stmt.query_map([txn], read_error)?;
                    rows.collect::<Result<Vec<_>, _>>()?
                }
            };
            let txn = match members.len() {
                1 => None,
                _ => Some(super::queue::next_txn(&tx)?),
            };
            let now = crate::now_ms();
            for e in members {
                let t = tables
                    .iter()
                    .find(|t| t.name == e.table)
                    .ok_or_else(|| WriteError::UnknownTable(e.table.clone()))?;
                tx.execute("DELETE FROM mooring_sync_errors WHERE id = ?1", [e.id])?;
                let exists = row_etag(&tx, t, &e.row_id)?.is_some();
                // A create whose row is back (or an update of a row the server
                // no longer has) changes kind: the user's values go up either way.
                let op = match (e.action, exists) {
                    (Op::Create, true) => Op::Update,
                    (Op::Update, false) => Op::Create,
                    (Op::Delete, false) => continue,
                    (op, _) => op,
                };
                // A value for a column the profile dropped stays in the list
                // (retrying would trim it, and the user's value would be lost).
                if let Some(column) = e.data.keys().find(|k| t.column(k).is_none()) {
                    return Err(WriteError::UnknownColumn {
                        table: t.name.clone(),
                        column: column.clone(),
                    }
                    .into());
                }
                let w = LocalWrite {
                    op,
                    row_id: e.row_id.clone(),
                    data: e.data,
                    binds: e.binds,
                };
                local_write_tx(&tx, t, &w, now, txn)?;
                touched.push(t.name.clone());
            }
            tx.commit()?;
        }
        self.committed();
        touched.sort();
        touched.dedup();
        for name in &touched {
            self.inner.watches.notify(self, name);
        }
        Ok(())
    }
}

fn read_error(r: &rusqlite::Row<'_>) -> rusqlite::Result<SyncErrorRecord> {
    Ok(SyncErrorRecord {
        id: r.get(0)?,
        at_ms: r.get(1)?,
        table: r.get(2)?,
        row_id: r.get(3)?,
        action: Op::parse(&r.get::<_, String>(4)?),
        data: to_map(&r.get::<_, String>(5)?),
        binds: to_map(&r.get::<_, String>(6)?),
        status: r.get::<_, i64>(7)?.clamp(0, 999) as u16,
        code: r.get(8)?,
        message: r.get(9)?,
        txn: r.get(10)?,
    })
}
