//! The version of Mooring's own schema in a mirror (its bookkeeping tables:
//! sync state, metadata, the queue, the sync errors), kept in SQLite's
//! `user_version`, and the ordered steps that bring an older file up to
//! date, each in one transaction with its new version number. A file of a
//! newer version (written by a later release of the app) is refused before
//! anything touches it. The mirror's data tables follow the profile
//! (`migrate.rs`), not this.
//!
//! Adding a step: append it to `STEPS`, and commit the fixtures of the
//! version before it (`core/tests/upgrade.rs` says how).

use rusqlite::Connection;

use super::{queue, state};
use crate::error::{Error, Result};

/// One step: takes a file from version `i` to `i + 1` (`STEPS[i]`).
type Step = fn(&Connection) -> Result<()>;

/// Version 0 is every file before versioning (no `user_version`) and a new
/// empty file; both become version 1 by creating what is missing.
const STEPS: &[Step] = &[v1_bookkeeping_tables, v2_transactions_and_attempts];

/// Local transactions (`Outbox::write_transaction`) and per-change send
/// attempts.
fn v2_transactions_and_attempts(c: &Connection) -> Result<()> {
    queue::add_transactions_and_attempts(c)
}

/// The version this build writes.
pub const CURRENT: u32 = STEPS.len() as u32;

fn v1_bookkeeping_tables(c: &Connection) -> Result<()> {
    state::create_meta_tables(c)?;
    queue::create_tables(c)
}

/// The file's version; a newer one than this build knows is refused (the
/// caller has not written anything yet).
pub(super) fn check(c: &Connection) -> Result<u32> {
    let found: u32 = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if found > CURRENT {
        return Err(Error::NewerDatabase {
            found,
            supported: CURRENT,
        });
    }
    Ok(found)
}

/// Runs the steps from `from` to `CURRENT`, each in its own transaction.
pub(super) fn upgrade(c: &mut Connection, from: u32) -> Result<()> {
    for v in from..CURRENT {
        let tx = c.transaction()?;
        STEPS[v as usize](&tx)?;
        tx.pragma_update(None, "user_version", v + 1)?;
        tx.commit()?;
    }
    Ok(())
}
