//! Local transactions: several writes applied to the mirror and the queue
//! together or not at all (one SQLite transaction), queued as one group
//! that uploads as one `$batch` change set, so the server applies all of
//! them or none (`upload.rs`). Writes inside see each other: a contact
//! created with the account created just before validates, and uploads
//! after it, in the same change set. Rules: docs/outbox.md.

use std::collections::BTreeSet;

use rusqlite::Connection;
use serde_json::{Map, Value as J};

use super::validate::{self, Rows};
use super::{Op, Outbox, WriteError};
use crate::error::Result;
use crate::store::{LocalWrite, local_write_tx, row_exists_on};

/// The most changes one transaction holds (after merging writes to the
/// same row): the Web API's limit of requests in one `$batch`.
pub const MAX_TRANSACTION_CHANGES: usize = 1000;

/// The writes of one local transaction (`Outbox::write_transaction`).
/// A write that fails is undone on its own (the others stand); the
/// transaction commits when the closure returns `Ok`.
pub struct WriteTransaction<'t> {
    outbox: &'t Outbox,
    conn: &'t Connection,
    txn: i64,
    now: i64,
    touched: BTreeSet<String>,
}

impl Rows for WriteTransaction<'_> {
    fn mirrored(&self) -> Result<Vec<String>> {
        self.outbox.store().tables()
    }
    fn exists(&self, table: &str, id: &str) -> Result<bool> {
        let key = self.outbox.store().key_of(table)?;
        row_exists_on(self.conn, table, &key, id)
    }
}

impl WriteTransaction<'_> {
    /// Creates a row with a new client GUID (returned).
    pub fn create(&mut self, table: &str, values: &Map<String, J>) -> Result<String> {
        let id = uuid::Uuid::new_v4().to_string();
        self.create_with_id(table, &id, values)
    }

    /// Creates a row with the id the app chose (a GUID it generated, so it
    /// can point other writes at the row before the transaction returns).
    pub fn create_with_id(
        &mut self,
        table: &str,
        id: &str,
        values: &Map<String, J>,
    ) -> Result<String> {
        let t = self.outbox.table(table)?;
        let id = validate::new_row_id(t, id)?;
        let (data, binds) = validate::check(self, t, values, Op::Create)?;
        self.apply(
            LocalWrite {
                op: Op::Create,
                row_id: id.clone(),
                data,
                binds,
            },
            table,
        )?;
        Ok(id)
    }

    pub fn update(&mut self, table: &str, id: &str, values: &Map<String, J>) -> Result<()> {
        let t = self.outbox.table(table)?;
        let id = validate::row_id(t, id)?;
        let (data, binds) = validate::check(self, t, values, Op::Update)?;
        self.apply(
            LocalWrite {
                op: Op::Update,
                row_id: id,
                data,
                binds,
            },
            table,
        )
    }

    pub fn delete(&mut self, table: &str, id: &str) -> Result<()> {
        let t = self.outbox.table(table)?;
        let id = validate::row_id(t, id)?;
        self.apply(
            LocalWrite {
                op: Op::Delete,
                row_id: id,
                data: Map::new(),
                binds: Map::new(),
            },
            table,
        )
    }

    /// One write under a savepoint: a refused write leaves nothing behind.
    fn apply(&mut self, w: LocalWrite, table: &str) -> Result<()> {
        let t = self.outbox.table(table)?;
        self.conn.execute_batch("SAVEPOINT mooring_write")?;
        match local_write_tx(self.conn, t, &w, self.now, Some(self.txn)) {
            Ok(()) => {
                self.conn.execute_batch("RELEASE mooring_write")?;
                self.touched.insert(t.name.clone());
                Ok(())
            }
            Err(e) => {
                self.conn
                    .execute_batch("ROLLBACK TO mooring_write; RELEASE mooring_write")?;
                Err(e)
            }
        }
    }
}

impl Outbox {
    /// Runs `f` over a transaction handle: its writes reach the mirror and
    /// the queue together when `f` returns `Ok`, not at all when it returns
    /// `Err` (or panics), and upload as one change set. Blocking (SQLite,
    /// and the writer is held while `f` runs): keep `f` short, off the UI
    /// thread.
    pub fn write_transaction<T>(
        &self,
        f: impl FnOnce(&mut WriteTransaction<'_>) -> Result<T>,
    ) -> Result<T> {
        self.store().local_transaction(|conn, txn| {
            let mut w = WriteTransaction {
                outbox: self,
                conn,
                txn,
                now: crate::now_ms(),
                touched: BTreeSet::new(),
            };
            let out = f(&mut w)?;
            let changes: i64 = conn.query_row(
                "SELECT count(*) FROM mooring_outbox WHERE txn = ?1",
                [txn],
                |r| r.get(0),
            )?;
            if changes as usize > MAX_TRANSACTION_CHANGES {
                return Err(WriteError::TransactionTooLarge {
                    changes: changes as usize,
                    max: MAX_TRANSACTION_CHANGES,
                }
                .into());
            }
            Ok((out, w.touched.into_iter().collect()))
        })
    }
}
