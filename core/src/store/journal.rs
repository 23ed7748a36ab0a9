//! The mirror's own log: the recent log records of the app
//! (`diagnostics::log_ring`), kept in the mirror's metadata (one JSON list
//! under `diagnostics.log`, so Mooring's own schema does not change) so a
//! support engineer's report shows what happened before a crash or a
//! restart. Capped: the oldest records go first.

use super::{Store, meta_keys, state};
use crate::diagnostics::LogRecord;
use crate::error::{Error, Result};

/// Records kept in the mirror.
pub(crate) const KEPT: usize = 500;

fn read(json: Option<String>) -> Vec<LogRecord> {
    // A list this build cannot read is started again, not an error: it is
    // only a log.
    json.and_then(|j| serde_json::from_str(&j).ok())
        .unwrap_or_default()
}

impl Store {
    /// Appends records, keeping the newest `KEPT`.
    pub(crate) fn append_log(&self, records: &[LogRecord]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut w = self.writer()?;
        let tx = w.transaction()?;
        let mut kept = read(state::get_meta(&tx, meta_keys::LOG)?);
        kept.extend_from_slice(records);
        let excess = kept.len().saturating_sub(KEPT);
        kept.drain(..excess);
        let json = serde_json::to_string(&kept)
            .map_err(|e| Error::Internal(format!("cannot serialize the log records: {e}")))?;
        state::set_meta(&tx, meta_keys::LOG, &json)?;
        tx.commit()?;
        self.committed();
        Ok(())
    }

    /// Moves the log records this store has not taken yet from the
    /// in-memory ring into the mirror.
    pub(crate) fn flush_log(&self) -> Result<()> {
        let mut cursor = self
            .inner
            .log_cursor
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let (records, last) = crate::diagnostics::log_since(*cursor);
        self.append_log(&records)?;
        *cursor = last;
        Ok(())
    }

    /// The newest `limit` records, oldest first.
    pub(crate) fn recent_log(&self, limit: usize) -> Result<Vec<LogRecord>> {
        let mut all = read(self.meta(meta_keys::LOG)?);
        let excess = all.len().saturating_sub(limit);
        all.drain(..excess);
        Ok(all)
    }
}
