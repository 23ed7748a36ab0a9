//! The sync state of each mirror table (`mooring_tables`): where an initial
//! sync stands (the next link), the delta link, the filtered tables'
//! high-water mark, the generation rows are written with. It is written in
//! the same transaction as the rows it describes: that is crash safety.

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::Result;

/// Where a table stands in its baseline download.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TablePhase {
    /// Downloading the baseline; `next_link` (if any) continues it.
    Initial,
    /// Baseline complete; kept current by delta (or filtered refresh).
    Ready,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableState {
    pub table: String,
    pub columns_sig: String,
    pub rows_sig: String,
    /// Rows written by the current baseline carry this; a finished baseline
    /// removes rows of older generations.
    pub generation: i64,
    pub phase: TablePhase,
    /// Continues an interrupted read (initial page or delta page).
    pub next_link: Option<String>,
    pub delta_link: Option<String>,
    /// Filtered tables: the highest `modifiedon` seen.
    pub high_water: Option<String>,
    /// Row total known when the baseline started (progress denominator).
    pub rows_total: Option<u64>,
    /// Unix ms of the last completed sync of this table.
    pub last_synced_ms: Option<i64>,
}

pub(super) fn create_meta_tables(c: &Connection) -> Result<()> {
    c.execute_batch(
        "CREATE TABLE IF NOT EXISTS mooring_tables (
            name TEXT PRIMARY KEY NOT NULL,
            columns_sig TEXT NOT NULL,
            rows_sig TEXT NOT NULL,
            generation INTEGER NOT NULL,
            phase TEXT NOT NULL,
            next_link TEXT,
            delta_link TEXT,
            high_water TEXT,
            rows_total INTEGER,
            last_synced_ms INTEGER
        );
        CREATE TABLE IF NOT EXISTS mooring_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);",
    )?;
    Ok(())
}

pub(super) fn get_meta(c: &Connection, key: &str) -> Result<Option<String>> {
    Ok(c.query_row(
        "SELECT value FROM mooring_meta WHERE key = ?1",
        [key],
        |r| r.get(0),
    )
    .optional()?)
}

pub(super) fn set_meta(c: &Connection, key: &str, value: &str) -> Result<()> {
    c.execute(
        "INSERT INTO mooring_meta (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

pub(super) fn load(c: &Connection, table: &str) -> Result<Option<TableState>> {
    Ok(c.query_row(
        "SELECT name, columns_sig, rows_sig, generation, phase, next_link, delta_link, high_water, rows_total, last_synced_ms
         FROM mooring_tables WHERE name = ?1",
        [table],
        |r| {
            let phase: String = r.get(4)?;
            Ok(TableState {
                table: r.get(0)?,
                columns_sig: r.get(1)?,
                rows_sig: r.get(2)?,
                generation: r.get(3)?,
                phase: if phase == "ready" { TablePhase::Ready } else { TablePhase::Initial },
                next_link: r.get(5)?,
                delta_link: r.get(6)?,
                high_water: r.get(7)?,
                rows_total: r.get::<_, Option<i64>>(8)?.map(|v| v.max(0) as u64),
                last_synced_ms: r.get(9)?,
            })
        },
    )
    .optional()?)
}

pub(super) fn save(c: &Connection, s: &TableState) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO mooring_tables (name, columns_sig, rows_sig, generation, phase, next_link, delta_link, high_water, rows_total, last_synced_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT(name) DO UPDATE SET columns_sig = excluded.columns_sig, rows_sig = excluded.rows_sig,
           generation = excluded.generation, phase = excluded.phase, next_link = excluded.next_link,
           delta_link = excluded.delta_link, high_water = excluded.high_water, rows_total = excluded.rows_total,
           last_synced_ms = excluded.last_synced_ms",
    )?
    .execute(params![
        s.table,
        s.columns_sig,
        s.rows_sig,
        s.generation,
        if s.phase == TablePhase::Ready { "ready" } else { "initial" },
        s.next_link,
        s.delta_link,
        s.high_water,
        s.rows_total.map(|v| v as i64),
        s.last_synced_ms,
    ])?;
    Ok(())
}

impl super::Store {
    pub fn table_state(&self, table: &str) -> Result<Option<TableState>> {
        self.with_reader(|c| load(c, table))
    }

    /// Saves a state alone (no rows), e.g. the row total before a download.
    pub(crate) fn save_state(&self, s: &TableState) -> Result<()> {
        let w = self.writer()?;
        save(&w, s)
    }
}
