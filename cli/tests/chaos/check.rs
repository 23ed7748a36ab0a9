//! The invariant checks: what the mirror file, its outbox and the
//! emulator's database hold, read directly (rusqlite on the mirror, the
//! admin API on the server), compared with each other and with the model.
//! Only called while no `mooring` process has the mirror open.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use mooring_devserver::Admin;
use rusqlite::{Connection, OpenFlags};

use super::model::{Cells, Key};
use super::schedule::Table;
use crate::common::norm;

pub type Rows = BTreeMap<String, Cells>;

/// The server's rows of `table`, over every column the trial compares.
pub fn server_rows(admin: &Admin, table: Table) -> Result<Rows, String> {
    let rows = admin
        .rows(table.set())
        .map_err(|e| format!("server rows of {}: {e}", table.set()))?;
    let mut out = Rows::new();
    for r in rows {
        let id = r
            .get(table.key())
            .and_then(|v| v.as_str())
            .ok_or_else(|| format!("{} row without its key", table.set()))?
            .to_lowercase();
        let cells = table
            .columns()
            .iter()
            .map(|c| {
                // Lookups read as `_<name>_value`.
                let v = r
                    .get(*c)
                    .or_else(|| r.get(&format!("_{c}_value")))
                    .unwrap_or(&serde_json::Value::Null);
                (*c, norm(v).to_lowercase_if_guid())
            })
            .collect();
        out.insert(id, cells);
    }
    Ok(out)
}

trait GuidCase {
    fn to_lowercase_if_guid(self) -> String;
}

impl GuidCase for String {
    /// GUIDs compare case-insensitively (Dataverse sends lowercase).
    fn to_lowercase_if_guid(self) -> String {
        if uuid::Uuid::parse_str(&self).is_ok() {
            self.to_lowercase()
        } else {
            self
        }
    }
}

fn open(db: &Path) -> Result<Option<Connection>, String> {
    if !db.exists() {
        return Ok(None);
    }
    Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map(Some)
        .map_err(|e| format!("mirror {} does not open: {e}", db.display()))
}

fn has_table(c: &Connection, name: &str) -> bool {
    c.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [name],
        |r| r.get::<_, i64>(0),
    )
    .is_ok_and(|n| n > 0)
}

/// The mirror's rows of `table` over `columns` (None: no such table).
pub fn mirror_rows(
    db: &Path,
    table: Table,
    columns: &[&'static str],
) -> Result<Option<Rows>, String> {
    let Some(c) = open(db)? else { return Ok(None) };
    if !has_table(&c, table.set()) {
        return Ok(None);
    }
    let sql = format!(
        "SELECT \"{}\"{} FROM \"{}\"",
        table.key(),
        columns
            .iter()
            .map(|c| format!(", \"{c}\""))
            .collect::<String>(),
        table.set()
    );
    let mut stmt = c.prepare(&sql).map_err(|e| format!("{sql}: {e}"))?;
    let rows = stmt
        .query_map([], |r| {
            let mut cells = Cells::new();
            for (i, col) in columns.iter().enumerate() {
                let x: rusqlite::types::Value = r.get(i + 1)?;
                let text = match x {
                    rusqlite::types::Value::Null => "null".into(),
                    rusqlite::types::Value::Integer(i) => format!("{}", i as f64),
                    rusqlite::types::Value::Real(f) => format!("{f}"),
                    rusqlite::types::Value::Text(s) => s,
                    rusqlite::types::Value::Blob(_) => "blob".into(),
                };
                cells.insert(*col, text.to_lowercase_if_guid());
            }
            Ok((r.get::<_, String>(0)?.to_lowercase(), cells))
        })
        .map_err(|e| format!("{sql}: {e}"))?;
    let mut out = Rows::new();
    for r in rows {
        let (k, v) = r.map_err(|e| format!("{sql}: {e}"))?;
        out.insert(k, v);
    }
    Ok(Some(out))
}

/// What the outbox holds: (table, row id, op) of every queued change, and
/// the rows of the local tables marked `_pending`.
pub struct Queue {
    pub entries: Vec<(String, String, String)>,
    pub pending_rows: BTreeSet<(String, String)>,
    /// (table, row id, HTTP status) of every sync error.
    pub errors: Vec<(String, String, i64)>,
}

pub fn queue(db: &Path) -> Result<Queue, String> {
    let mut q = Queue {
        entries: vec![],
        pending_rows: BTreeSet::new(),
        errors: vec![],
    };
    let Some(c) = open(db)? else { return Ok(q) };
    let err = |e: rusqlite::Error| format!("reading the outbox: {e}");
    if has_table(&c, "mooring_outbox") {
        let mut s = c
            .prepare("SELECT tbl, lower(row_id), op FROM mooring_outbox ORDER BY seq")
            .map_err(err)?;
        q.entries = s
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(err)?
            .collect::<Result<_, _>>()
            .map_err(err)?;
    }
    if has_table(&c, "mooring_sync_errors") {
        let mut s = c
            .prepare("SELECT tbl, lower(row_id), status FROM mooring_sync_errors ORDER BY id")
            .map_err(err)?;
        q.errors = s
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .map_err(err)?
            .collect::<Result<_, _>>()
            .map_err(err)?;
    }
    for t in [Table::Accounts, Table::Contacts] {
        if !has_table(&c, t.set()) {
            continue;
        }
        let sql = format!(
            "SELECT lower(\"{}\") FROM \"{}\" WHERE _pending = 1",
            t.key(),
            t.set()
        );
        let mut s = c.prepare(&sql).map_err(err)?;
        let ids: Vec<String> = s
            .query_map([], |r| r.get(0))
            .map_err(err)?
            .collect::<Result<_, _>>()
            .map_err(err)?;
        q.pending_rows
            .extend(ids.into_iter().map(|id| (t.set().to_string(), id)));
    }
    Ok(q)
}

impl Queue {
    /// The queue's own consistency: one entry per row (the trial writes no
    /// lookups, the only reason for a second), and every row marked pending
    /// has its entry. Returns the queued rows.
    pub fn check(&self) -> Result<BTreeSet<Key>, String> {
        let mut seen = BTreeSet::new();
        for (t, id, op) in &self.entries {
            if !seen.insert((t.clone(), id.clone())) {
                return Err(format!("outbox entry duplicated: {t} {id} ({op})"));
            }
        }
        for p in &self.pending_rows {
            if !seen.contains(p) {
                return Err(format!(
                    "mirror row {} {} is marked pending but the outbox lost its change",
                    p.0, p.1
                ));
            }
        }
        seen.into_iter()
            .map(|(t, id)| {
                Table::ALL
                    .into_iter()
                    .find(|x| x.set() == t)
                    .map(|x| (x, id.clone()))
                    .ok_or_else(|| format!("outbox entry of an unknown table {t}"))
            })
            .collect()
    }
}

pub fn integrity(db: &Path) -> Result<(), String> {
    let c = open(db)?.ok_or("no mirror file")?;
    let r: String = c
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .map_err(|e| format!("integrity_check: {e}"))?;
    if r == "ok" {
        Ok(())
    } else {
        Err(format!("PRAGMA integrity_check: {r}"))
    }
}

/// Differences between two row sets (at most a few, for the message).
pub fn diff(a: &Rows, b: &Rows, a_name: &str, b_name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (k, ra) in a {
        match b.get(k) {
            None => out.push(format!("{k}: in {a_name} ({ra:?}), not in {b_name}")),
            Some(rb) if rb != ra => {
                let cols: Vec<String> = ra
                    .iter()
                    .filter(|(c, v)| rb.get(*c) != Some(*v))
                    .map(|(c, v)| format!("{c}: {a_name}={v} {b_name}={:?}", rb.get(c)))
                    .collect();
                out.push(format!("{k}: {}", cols.join(", ")));
            }
            _ => {}
        }
    }
    for (k, rb) in b {
        if !a.contains_key(k) {
            out.push(format!("{k}: in {b_name} ({rb:?}), not in {a_name}"));
        }
    }
    out
}

/// Restricts rows to some columns (a profile's).
pub fn project(rows: &Rows, columns: &[&'static str]) -> Rows {
    rows.iter()
        .map(|(k, r)| {
            (
                k.clone(),
                r.iter()
                    .filter(|(c, _)| columns.contains(c))
                    .map(|(c, v)| (*c, v.clone()))
                    .collect(),
            )
        })
        .collect()
}
