//! Offline writes, the logic half: the app's `create` / `update` /
//! `delete` (validated against the resolved profile, applied to the mirror
//! and queued in one transaction), the pending count, the sync-errors list
//! (retry, discard) and `upload()` with the outbox's own `Remote`. The
//! storage half (the queue's and the sync-errors list's SQL) is
//! `store/queue.rs` and `store/sync_errors.rs`; the upload (batches,
//! idempotency, conflicts) is `upload.rs`; the multipart format
//! `batch.rs`; the app's one outbox, installed once the profile is
//! resolved, `slot.rs`. Rules and decisions: docs/outbox.md.

pub(crate) mod batch;
mod slot;
mod transaction;
mod upload;
mod validate;

pub(crate) use slot::OutboxSlot;

pub use crate::error::WriteError;
pub use crate::store::Op;
pub use transaction::{MAX_TRANSACTION_CHANGES, WriteTransaction};
pub use upload::UploadSummary;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value as J};

use crate::error::{Error, Result};
use crate::profile::{ResolvedProfile, ResolvedTable};
use crate::remote::Remote;
use crate::store::{LocalWrite, Store, SyncErrorRecord};

/// Per table: what happens when the server's row changed since the local
/// change was made.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ConflictMode {
    /// Power Apps' default: the columns the user changed overwrite the
    /// server's; other columns keep the server's values.
    #[default]
    LastWriteWins,
    /// `If-Match` with the row's ETag when the change was made: a row
    /// changed on the server since refuses the change (412), the server
    /// wins and the conflict is recorded as a sync error.
    Detect,
}

#[derive(Clone, Debug)]
pub struct OutboxConfig {
    /// Changes per `$batch` change set (1..=1000; 1 sends single requests).
    pub batch_size: usize,
    /// Per table (entity set name); tables not listed use last-write-wins.
    pub conflict: HashMap<String, ConflictMode>,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            batch_size: 100,
            conflict: HashMap::new(),
        }
    }
}

/// A change the server refused (or that could not be sent), as the app
/// lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncError {
    pub id: i64,
    /// Unix ms when it was refused.
    pub at_ms: i64,
    pub table: String,
    pub row_id: String,
    pub action: Op,
    /// The change's columns and values.
    pub data: Map<String, J>,
    pub status: u16,
    /// The OData error code (often empty on Dataverse).
    pub code: String,
    pub message: String,
    pub kind: SyncErrorKind,
    /// A refused local transaction is one entry: every change of it, in
    /// order (the fields above are the first's, the status and message
    /// the server's answer to the change set). Empty for a single change.
    pub transaction: Vec<TransactionChange>,
}

/// One change of a refused local transaction.
#[derive(Clone, Debug, PartialEq)]
pub struct TransactionChange {
    pub table: String,
    pub row_id: String,
    pub action: Op,
    pub data: Map<String, J>,
}

/// The types Power Apps shows for sync errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncErrorKind {
    Conflict,
    RecordNotFound,
    Other,
}

impl From<SyncErrorRecord> for SyncError {
    fn from(r: SyncErrorRecord) -> Self {
        let kind = match r.status {
            412 => SyncErrorKind::Conflict,
            404 => SyncErrorKind::RecordNotFound,
            _ => SyncErrorKind::Other,
        };
        SyncError {
            id: r.id,
            at_ms: r.at_ms,
            table: r.table,
            row_id: r.row_id,
            action: r.action,
            data: r.data,
            status: r.status,
            code: r.code,
            message: r.message,
            kind,
            transaction: Vec::new(),
        }
    }
}

/// The app's write side of one mirror. Cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    profile: ResolvedProfile,
    config: OutboxConfig,
    /// The outbox's own client of the server: it uploads without waiting
    /// for a sync engine. None for a local-only outbox (`Outbox::local`).
    remote: Option<Remote>,
    /// One upload at a time (a second caller waits, then finds less to do).
    uploading: Arc<tokio::sync::Mutex<()>>,
}

impl Outbox {
    pub fn new(
        store: Store,
        profile: ResolvedProfile,
        config: OutboxConfig,
        remote: Remote,
    ) -> Outbox {
        Outbox {
            inner: Arc::new(Inner {
                store,
                profile,
                config,
                remote: Some(remote),
                uploading: Arc::new(tokio::sync::Mutex::new(())),
            }),
        }
    }

    /// The write side of a mirror with no server at hand: changes are
    /// checked against the profile the mirror remembers from its last
    /// sync, applied and queued; uploading needs `with_remote`. What the
    /// CLI's one-shot `create`/`update`/`delete` use. Blocking.
    pub fn local(store: Store, config: OutboxConfig) -> Result<Outbox> {
        let profile = store.resolved_profile()?.ok_or_else(|| {
            Error::Profile(
                "local writes need the offline profile checked against the server once: \
                 this mirror has not been synced yet"
                    .into(),
            )
        })?;
        Ok(Outbox {
            inner: Arc::new(Inner {
                store,
                profile,
                config,
                remote: None,
                uploading: Arc::new(tokio::sync::Mutex::new(())),
            }),
        })
    }

    /// The same queue, uploaded through another client (another token or
    /// server settings); still one upload at a time across both.
    pub fn with_remote(&self, remote: Remote) -> Outbox {
        Outbox {
            inner: Arc::new(Inner {
                store: self.inner.store.clone(),
                profile: self.inner.profile.clone(),
                config: self.inner.config.clone(),
                remote: Some(remote),
                uploading: self.inner.uploading.clone(),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The profile local writes are checked against.
    pub fn profile(&self) -> &ResolvedProfile {
        &self.inner.profile
    }

    pub fn config(&self) -> &OutboxConfig {
        &self.inner.config
    }

    pub(crate) fn table(&self, name: &str) -> Result<&ResolvedTable> {
        self.inner
            .profile
            .tables
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| WriteError::UnknownTable(name.to_string()).into())
    }

    fn conflict_mode(&self, table: &str) -> ConflictMode {
        self.inner
            .config
            .conflict
            .get(table)
            .copied()
            .unwrap_or_default()
    }

    /// Creates a row locally with a client-generated GUID (returned) and
    /// queues its upload. Blocking (SQLite): call off the UI thread.
    pub fn create(&self, table: &str, values: &Map<String, J>) -> Result<String> {
        let t = self.table(table)?;
        let (data, binds) = validate::check(&self.inner.store, t, values, Op::Create)?;
        let id = uuid::Uuid::new_v4().to_string();
        self.inner.store.local_write(
            t,
            &LocalWrite {
                op: Op::Create,
                row_id: id.clone(),
                data,
                binds,
            },
        )?;
        Ok(id)
    }

    /// Changes columns of a row locally and queues the change.
    pub fn update(&self, table: &str, id: &str, values: &Map<String, J>) -> Result<()> {
        let t = self.table(table)?;
        let id = validate::row_id(t, id)?;
        let (data, binds) = validate::check(&self.inner.store, t, values, Op::Update)?;
        self.inner.store.local_write(
            t,
            &LocalWrite {
                op: Op::Update,
                row_id: id,
                data,
                binds,
            },
        )
    }

    /// Deletes a row locally and queues the delete.
    pub fn delete(&self, table: &str, id: &str) -> Result<()> {
        let t = self.table(table)?;
        let id = validate::row_id(t, id)?;
        self.inner.store.local_write(
            t,
            &LocalWrite {
                op: Op::Delete,
                row_id: id,
                data: Map::new(),
                binds: Map::new(),
            },
        )
    }

    /// Changes waiting for upload (merged per row, as Power Apps counts).
    pub fn pending_count(&self) -> Result<u64> {
        self.inner.store.pending_count()
    }

    /// The sync errors, oldest first; a refused transaction is one entry.
    pub fn sync_errors(&self) -> Result<Vec<SyncError>> {
        let mut out: Vec<SyncError> = Vec::new();
        let mut txn_at: HashMap<i64, usize> = HashMap::new();
        for r in self.inner.store.sync_errors()? {
            let Some(txn) = r.txn else {
                out.push(SyncError::from(r));
                continue;
            };
            let change = TransactionChange {
                table: r.table.clone(),
                row_id: r.row_id.clone(),
                action: r.action,
                data: r.data.clone(),
            };
            match txn_at.get(&txn) {
                Some(&i) => out[i].transaction.push(change),
                None => {
                    txn_at.insert(txn, out.len());
                    let mut e = SyncError::from(r);
                    e.transaction.push(change);
                    out.push(e);
                }
            }
        }
        Ok(out)
    }

    pub fn sync_error_count(&self) -> Result<u64> {
        self.inner.store.sync_error_count()
    }

    /// Queues the error's change again over the row's current values (a
    /// create of a row the server lacks stays a create; an update of a row
    /// the server deleted becomes a create), and removes it from the list.
    /// A refused transaction is queued again whole, as one transaction.
    pub fn retry_sync_error(&self, id: i64) -> Result<()> {
        self.inner
            .store
            .retry_sync_error(&self.inner.profile.tables, id)
    }

    /// Forgets the error (a refused transaction: all of it); the rows keep
    /// the server's state.
    pub fn discard_sync_error(&self, id: i64) -> Result<()> {
        if self.inner.store.discard_sync_error(id)? {
            Ok(())
        } else {
            Err(WriteError::NoSuchSyncError(id).into())
        }
    }
}
