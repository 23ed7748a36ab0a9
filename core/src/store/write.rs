//! Writing what sync downloads: one page of rows and deletes together with
//! the table's new sync state, in one transaction; the generation sweep
//! that ends a re-baseline; the key-only pass of filtered tables.

use rusqlite::{Connection, params_from_iter};

use super::state::{self, TableState};
use super::upsert::{self, Generation};
use super::{Store, q};
use crate::error::Result;
use crate::profile::ResolvedTable;
use crate::value::RowData;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteStats {
    pub upserted: u64,
    /// Rows removed: deletes from the server plus rows swept.
    pub deleted: u64,
}

/// Rows per multi-row INSERT: fewer statement executions per page (about
/// 15% faster bulk writes), well under SQLite's parameter limit.
const BATCH: usize = 16;

fn upsert_rows(
    c: &Connection,
    t: &ResolvedTable,
    rows: &[RowData],
    generation: i64,
) -> Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let per_row = upsert::per_row(t);
    // A key twice in one statement would make the upsert fail: batch only
    // runs of distinct keys (always the case for server pages).
    let mut chunks = rows.chunks_exact(BATCH);
    {
        let mut stmt = c.prepare_cached(&upsert::sql(t, BATCH, Generation::Take))?;
        for chunk in &mut chunks {
            let distinct = chunk
                .iter()
                .enumerate()
                .all(|(i, r)| chunk[..i].iter().all(|o| o.key != r.key));
            if !distinct {
                let mut one = c.prepare_cached(&upsert::sql(t, 1, Generation::Take))?;
                for r in chunk {
                    upsert::bind(&mut one, 0, t, r, generation)?;
                    one.raw_execute()?;
                }
                continue;
            }
            for (i, r) in chunk.iter().enumerate() {
                upsert::bind(&mut stmt, i * per_row, t, r, generation)?;
            }
            stmt.raw_execute()?;
        }
    }
    let mut one = c.prepare_cached(&upsert::sql(t, 1, Generation::Take))?;
    for r in chunks.remainder() {
        upsert::bind(&mut one, 0, t, r, generation)?;
        one.raw_execute()?;
    }
    Ok(rows.len() as u64)
}

fn delete_keys(c: &Connection, t: &ResolvedTable, keys: &[String]) -> Result<u64> {
    if keys.is_empty() {
        return Ok(0);
    }
    let mut stmt = c.prepare_cached(&format!(
        "DELETE FROM {} WHERE {} = ?1",
        q(&t.name),
        q(&t.key)
    ))?;
    let mut n = 0;
    for k in keys {
        n += stmt.execute([k])? as u64;
    }
    Ok(n)
}

fn sweep(c: &Connection, t: &ResolvedTable, generation: i64) -> Result<u64> {
    Ok(c.execute(
        &format!(
            "DELETE FROM {} WHERE \"_gen\" < ?1 AND \"_pending\" = 0",
            q(&t.name)
        ),
        [generation],
    )? as u64)
}

impl Store {
    /// One page: upserts `rows` (tagged with the state's generation),
    /// deletes `deleted`, optionally sweeps older generations, and saves
    /// `state`, all in one transaction.
    #[doc(hidden)] // for the SyncEngine and the in-process floor benchmark (examples/bench_floor.rs)
    pub fn write_page(
        &self,
        t: &ResolvedTable,
        rows: &[RowData],
        deleted: &[String],
        new_state: &TableState,
        sweep_old: bool,
    ) -> Result<WriteStats> {
        let stats = {
            let mut w = self.writer()?;
            let tx = w.transaction()?;
            let upserted = upsert_rows(&tx, t, rows, new_state.generation)?;
            let mut removed = delete_keys(&tx, t, deleted)?;
            // Rows with pending local changes keep their local values.
            super::queue::overlay_pending(&tx, t, rows, deleted)?;
            if sweep_old {
                removed += sweep(&tx, t, new_state.generation)?;
            }
            state::save(&tx, new_state)?;
            tx.commit()?;
            WriteStats {
                upserted,
                deleted: removed,
            }
        };
        self.committed();
        if stats.upserted > 0 || stats.deleted > 0 {
            self.inner.watches.notify(self, &t.name);
        }
        Ok(stats)
    }

    /// Key-only pass of a filtered table: rows whose keys the server still
    /// lists under the filter move to `generation`; a later sweep removes
    /// the rest. Returns how many keys matched a mirror row.
    pub(crate) fn mark_present(
        &self,
        t: &ResolvedTable,
        keys: &[String],
        generation: i64,
    ) -> Result<u64> {
        let mut w = self.writer()?;
        let tx = w.transaction()?;
        let mut n = 0;
        {
            let mut stmt = tx.prepare_cached(&format!(
                "UPDATE {} SET \"_gen\" = ?1 WHERE {} = ?2",
                q(&t.name),
                q(&t.key)
            ))?;
            for k in keys {
                n += stmt.execute(rusqlite::params![generation, k])? as u64;
            }
        }
        tx.commit()?;
        Ok(n)
    }

    /// Which of `keys` are in the mirror table with a generation of at
    /// least `min_generation`.
    pub(crate) fn existing_keys(
        &self,
        t: &ResolvedTable,
        keys: &[String],
        min_generation: i64,
    ) -> Result<Vec<String>> {
        self.with_reader(|c| {
            let mut out = Vec::new();
            for chunk in keys.chunks(500) {
                let marks = vec!["?"; chunk.len()].join(",");
                let sql = format!(
                    "SELECT {} FROM {} WHERE \"_gen\" >= ? AND {} IN ({marks})",
                    q(&t.key),
                    q(&t.name),
                    q(&t.key)
                );
                let mut stmt = c.prepare(&sql)?;
                let mut params: Vec<crate::value::Value> = vec![min_generation.into()];
                params.extend(chunk.iter().map(|k| crate::value::Value::Text(k.clone())));
                let rows =
                    stmt.query_map(params_from_iter(params.iter()), |r| r.get::<_, String>(0))?;
                for r in rows {
                    out.push(r?);
                }
            }
            Ok(out)
        })
    }

    /// The largest value of a column (the `modifiedon` high-water mark).
    pub(crate) fn max_text(&self, table: &str, column: &str) -> Result<Option<String>> {
        self.with_reader(|c| {
            Ok(c.query_row(
                &format!("SELECT max({}) FROM {}", q(column), q(table)),
                [],
                |r| r.get::<_, Option<String>>(0),
            )?)
        })
    }

    /// Distinct non-null values of a lookup column: the rows of the target
    /// table that `related` must keep.
    pub(crate) fn lookup_values(&self, table: &str, column: &str) -> Result<Vec<String>> {
        self.with_reader(|c| {
            let sql = format!(
                "SELECT DISTINCT lower({col}) FROM {t} WHERE {col} IS NOT NULL",
                col = q(column),
                t = q(table)
            );
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Rows of the current generation (resume progress).
    pub(crate) fn count_generation(&self, table: &str, generation: i64) -> Result<u64> {
        self.with_reader(|c| {
            Ok(c.query_row(
                &format!("SELECT count(*) FROM {} WHERE \"_gen\" >= ?1", q(table)),
                [generation],
                |r| r.get::<_, i64>(0),
            )? as u64)
        })
    }
}
