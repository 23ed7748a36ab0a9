//! The one upsert of server rows into a mirror table: a downloaded page's
//! rows (`write.rs`) and a row as the server echoed it after an upload
//! (`queue.rs`) go through the same statement builder and the same binding,
//! with each value placed by the table's `RowShape`.

use rusqlite::CachedStatement;

use super::q;
use crate::error::Result;
use crate::profile::ResolvedTable;
use crate::value::RowData;

/// What an existing row's generation (`_gen`, which a re-baseline's sweep
/// reads) becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Generation {
    /// A downloaded page: the row was seen in this generation.
    Take,
    /// A row as the server echoed it: new rows get the given generation,
    /// existing rows keep theirs (only a download says a row is current).
    KeepExisting,
}

/// Bound parameters per row: key, the columns, etag, generation.
pub(crate) fn per_row(t: &ResolvedTable) -> usize {
    t.columns.len() + 3
}

/// `INSERT ... VALUES (..), (..) ON CONFLICT(key) DO UPDATE` for `rows`
/// rows; parameters in `bind` order.
pub(crate) fn sql(t: &ResolvedTable, rows: usize, generation: Generation) -> String {
    let mut names = vec![q(&t.key)];
    names.extend(t.columns.iter().map(|c| q(&c.name)));
    names.push("\"_etag\"".into());
    names.push("\"_gen\"".into());
    let width = names.len();
    let tuples: Vec<String> = (0..rows)
        .map(|r| {
            let marks: Vec<String> = (1..=width).map(|i| format!("?{}", r * width + i)).collect();
            format!("({})", marks.join(", "))
        })
        .collect();
    let updated = match generation {
        Generation::Take => &names[1..],
        Generation::KeepExisting => &names[1..width - 1],
    };
    let updates: Vec<String> = updated
        .iter()
        .map(|n| format!("{n} = excluded.{n}"))
        .collect();
    format!(
        "INSERT INTO {} ({}) VALUES {} ON CONFLICT({}) DO UPDATE SET {}",
        q(&t.name),
        names.join(", "),
        tuples.join(", "),
        q(&t.key),
        updates.join(", ")
    )
}

/// Binds one row at parameter offset `base` (0 for the first row).
pub(crate) fn bind(
    stmt: &mut CachedStatement<'_>,
    base: usize,
    t: &ResolvedTable,
    row: &RowData,
    generation: i64,
) -> Result<()> {
    stmt.raw_bind_parameter(base + 1, &row.key)?;
    let mut i = base + 2;
    // A short row (never from the parser) gets NULLs, not stale binds.
    for (_, v) in t.shape().cells(row) {
        stmt.raw_bind_parameter(i, v)?;
        i += 1;
    }
    stmt.raw_bind_parameter(i, &row.etag)?;
    stmt.raw_bind_parameter(i + 1, generation)?;
    Ok(())
}
