//! Profile → mirror schema. Creates tables for new profile tables, adds and
//! drops columns, drops tables that left the profile, and decides which
//! tables must be re-baselined (new table, new column, different rows).
//! Unchanged tables keep their rows and their delta links.

use std::collections::HashMap;

use rusqlite::Connection;
use tracing::info;

use super::state::{self, TablePhase, TableState};
use super::{META_COLUMNS, Store, TableColumns, q};
use crate::error::Result;
use crate::profile::{ResolvedProfile, ResolvedTable};

/// What applying a profile changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Migration {
    pub created: Vec<String>,
    /// Tables that keep their rows but must download again (new columns or
    /// different rows); their rows stay readable until the new baseline ends.
    pub rebaselined: Vec<String>,
    pub dropped: Vec<String>,
}

pub(super) fn read_catalog(c: &Connection) -> Result<HashMap<String, TableColumns>> {
    let mut out = HashMap::new();
    let names: Vec<String> = c
        .prepare("SELECT name FROM mooring_tables")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for name in names {
        let cols = sqlite_columns(c, &name)?;
        if cols.is_empty() {
            continue;
        }
        // The key is the first column by construction.
        let key = cols[0].0.clone();
        let columns = cols
            .into_iter()
            .map(|(n, _)| n)
            .filter(|n| !META_COLUMNS.contains(&n.as_str()))
            .collect();
        out.insert(name, TableColumns { key, columns });
    }
    Ok(out)
}

/// (name, declared type) of a SQLite table, in order.
fn sqlite_columns(c: &Connection, table: &str) -> Result<Vec<(String, String)>> {
    let mut stmt = c.prepare("SELECT name, type FROM pragma_table_info(?1) ORDER BY cid")?;
    let rows = stmt.query_map([table], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn create_table(c: &Connection, t: &ResolvedTable) -> Result<()> {
    let mut cols = vec![format!("{} TEXT PRIMARY KEY NOT NULL", q(&t.key))];
    for col in &t.columns {
        cols.push(format!("{} {}", q(&col.name), col.sql_type.sql()));
    }
    cols.push("\"_etag\" TEXT".into());
    cols.push("\"_gen\" INTEGER NOT NULL".into());
    // Reserved for the outbox (issue 4): rows with local changes are never
    // swept by a re-baseline.
    cols.push("\"_pending\" INTEGER NOT NULL DEFAULT 0".into());
    c.execute_batch(&format!(
        "CREATE TABLE {} ({})",
        q(&t.name),
        cols.join(", ")
    ))?;
    Ok(())
}

fn index_name(table: &str, column: &str) -> String {
    format!("ix_{table}_{column}")
}

/// Indexes on the lookup columns (joins, related rows); a no-op when they
/// exist.
pub(super) fn create_lookup_indexes(c: &Connection, t: &ResolvedTable) -> Result<()> {
    for col in t.columns.iter().filter(|c| c.is_lookup) {
        c.execute_batch(&format!(
            "CREATE INDEX IF NOT EXISTS {} ON {} ({})",
            q(&index_name(&t.name, &col.name)),
            q(&t.name),
            q(&col.name)
        ))?;
    }
    Ok(())
}

impl Store {
    /// Brings the mirror's tables in line with the profile, in one
    /// transaction.
    #[doc(hidden)] // for the SyncEngine and the in-process floor benchmark (examples/bench_floor.rs)
    pub fn apply_profile(&self, profile: &ResolvedProfile) -> Result<Migration> {
        let mut w = self.writer()?;
        let tx = w.transaction()?;
        let mut m = Migration::default();
        let known: Vec<String> = tx
            .prepare("SELECT name FROM mooring_tables")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        for name in &known {
            if !profile.tables.iter().any(|t| &t.name == name) {
                tx.execute_batch(&format!("DROP TABLE IF EXISTS {}", q(name)))?;
                tx.execute("DELETE FROM mooring_tables WHERE name = ?1", [name])?;
                info!(table = %name, "table left the profile: dropped from the mirror");
                m.dropped.push(name.clone());
            }
        }
        for t in &profile.tables {
            let existing = state::load(&tx, &t.name)?;
            let cols = sqlite_columns(&tx, &t.name)?;
            match existing {
                Some(mut s) if !cols.is_empty() && cols[0].0 == t.key => {
                    let have: HashMap<&str, &str> = cols
                        .iter()
                        .map(|(n, ty)| (n.as_str(), ty.as_str()))
                        .collect();
                    let mut added = false;
                    for (name, ty) in &cols {
                        if name == &t.key || META_COLUMNS.contains(&name.as_str()) {
                            continue;
                        }
                        let keep = t.column(name).is_some_and(|c| c.sql_type.sql() == ty);
                        if !keep {
                            tx.execute_batch(&format!(
                                "DROP INDEX IF EXISTS {}",
                                q(&index_name(&t.name, name))
                            ))?;
                            tx.execute_batch(&format!(
                                "ALTER TABLE {} DROP COLUMN {}",
                                q(&t.name),
                                q(name)
                            ))?;
                        }
                    }
                    for c in &t.columns {
                        if have.get(c.name.as_str()) != Some(&c.sql_type.sql()) {
                            tx.execute_batch(&format!(
                                "ALTER TABLE {} ADD COLUMN {} {}",
                                q(&t.name),
                                q(&c.name),
                                c.sql_type.sql()
                            ))?;
                            added = true;
                        }
                    }
                    let rows_changed = s.rows_sig != t.rows_signature();
                    if added || rows_changed {
                        // Keep the rows readable; the new baseline writes a
                        // new generation and sweeps the old one when done.
                        s.generation += 1;
                        s.phase = TablePhase::Initial;
                        s.next_link = None;
                        s.delta_link = None;
                        s.high_water = None;
                        s.rows_total = None;
                        info!(table = %t.name, added, rows_changed, "profile changed: re-baselining this table");
                        m.rebaselined.push(t.name.clone());
                    }
                    s.columns_sig = t.columns_signature();
                    s.rows_sig = t.rows_signature();
                    state::save(&tx, &s)?;
                }
                _ => {
                    tx.execute_batch(&format!("DROP TABLE IF EXISTS {}", q(&t.name)))?;
                    create_table(&tx, t)?;
                    state::save(
                        &tx,
                        &TableState {
                            table: t.name.clone(),
                            columns_sig: t.columns_signature(),
                            rows_sig: t.rows_signature(),
                            generation: 1,
                            phase: TablePhase::Initial,
                            next_link: None,
                            delta_link: None,
                            high_water: None,
                            rows_total: None,
                            last_synced_ms: None,
                        },
                    )?;
                    m.created.push(t.name.clone());
                }
            }
            // Grown row by row: building them at the end of a baseline is
            // faster, but its sort needs memory proportional to the table
            // (temp_store=MEMORY, as phones need): 110 MB at 1M rows.
            create_lookup_indexes(&tx, t)?;
        }
        tx.commit()?;
        self.refresh_catalog(&w)?;
        Ok(m)
    }
}
