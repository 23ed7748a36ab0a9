//! The app's SQL reads over the mirror: any one SELECT (joins, aggregates,
//! CTEs) with bound parameters, on a `query_only` reader.
//!
//! SQLite's authorizer decides, while the statement is prepared, what it may
//! touch: reads of the mirror's tables only (never Mooring's bookkeeping
//! tables or `sqlite_schema`; Mooring's own columns `_etag`, `_gen`,
//! `_pending` read as NULL and are left out of the result), no write, no
//! PRAGMA, no ATTACH. The same callback records which tables the statement
//! reads: that set is what a SQL watch re-runs on, so no SQL is ever parsed
//! by hand.

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};

use super::{META_COLUMNS, Store};
use crate::error::{Error, Result};
use crate::value::Value;

/// The answer of a SQL read: column names in the statement's order, and
/// the rows' values in that order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SqlRows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

impl SqlRows {
    /// Each row as column name → value (a later column of the same name
    /// wins: alias them apart in the SQL).
    pub fn to_maps(&self) -> Vec<super::Row> {
        self.rows
            .iter()
            .map(|r| {
                self.columns
                    .iter()
                    .cloned()
                    .zip(r.iter().cloned().map(serde_json::Value::from))
                    .collect()
            })
            .collect()
    }
}

/// Why a SQL read was refused. Nothing was read or written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqlRefusal {
    /// The statement writes (INSERT, UPDATE, DELETE, CREATE, DROP, a
    /// transaction statement...): writes go through create/update/delete,
    /// which queue the upload.
    Write,
    /// A PRAGMA, ATTACH or DETACH.
    NotAllowed,
    /// A table that is not one of the mirror's (Mooring's bookkeeping,
    /// `sqlite_schema`, another database).
    HiddenTable,
    /// Not exactly one statement, a syntax error, an unknown table or
    /// column, or the wrong number of parameters.
    Invalid,
}

impl SqlRefusal {
    pub fn as_str(self) -> &'static str {
        match self {
            SqlRefusal::Write => "write",
            SqlRefusal::NotAllowed => "not_allowed",
            SqlRefusal::HiddenTable => "hidden_table",
            SqlRefusal::Invalid => "invalid",
        }
    }
}

fn refused(refusal: SqlRefusal, reason: impl Into<String>) -> Error {
    Error::SqlRefused {
        refusal,
        reason: reason.into(),
    }
}

/// Table-valued functions that read nothing of the mirror's files.
const HARMLESS_TABLES: [&str; 2] = ["json_each", "json_tree"];

#[derive(Default)]
struct Verdict {
    /// Mirror tables the statement reads (lowercase).
    tables: BTreeSet<String>,
    /// The first thing denied.
    refusal: Option<(SqlRefusal, String)>,
}

fn judge(ctx: &AuthContext<'_>, visible: &HashSet<String>, v: &mut Verdict) -> Authorization {
    let deny = |v: &mut Verdict, r: SqlRefusal, why: String| {
        if v.refusal.is_none() {
            v.refusal = Some((r, why));
        }
        Authorization::Deny
    };
    match &ctx.action {
        AuthAction::Select | AuthAction::Function { .. } | AuthAction::Recursive => {
            Authorization::Allow
        }
        AuthAction::Read {
            table_name,
            column_name,
        } => {
            let table = table_name.to_ascii_lowercase();
            if HARMLESS_TABLES.contains(&table.as_str()) {
                return Authorization::Allow;
            }
            // SQLite names the database it resolved, or none for a table
            // whose columns go unused (`count(*)`): the name as written,
            // which is absent when unqualified. No temp table can exist
            // (creates are refused), so unqualified is the mirror's.
            let main = matches!(ctx.database_name, None | Some("main"));
            if !main || !visible.contains(&table) {
                return deny(
                    v,
                    SqlRefusal::HiddenTable,
                    format!("{table_name} is not a table of the mirror"),
                );
            }
            v.tables.insert(table);
            if META_COLUMNS.contains(column_name) {
                Authorization::Ignore
            } else {
                Authorization::Allow
            }
        }
        AuthAction::Pragma { pragma_name, .. } => deny(
            v,
            SqlRefusal::NotAllowed,
            format!("PRAGMA {pragma_name} is not allowed in a read"),
        ),
        AuthAction::Attach { .. } | AuthAction::Detach { .. } => deny(
            v,
            SqlRefusal::NotAllowed,
            "ATTACH and DETACH are not allowed in a read".into(),
        ),
        _ => deny(
            v,
            SqlRefusal::Write,
            "only reads are allowed: write with create, update and delete, \
             which queue the change for upload"
                .into(),
        ),
    }
}

/// Prepares and runs `sql` on `c` under the authorizer; the answer and the
/// mirror tables it read.
pub(super) fn run_sql(
    c: &mut Connection,
    visible: HashSet<String>,
    sql: &str,
    params: &[Value],
) -> Result<(SqlRows, BTreeSet<String>)> {
    let verdict = Arc::new(Mutex::new(Verdict::default()));
    let seen = verdict.clone();
    c.authorizer(Some(move |ctx: AuthContext<'_>| match seen.lock() {
        Ok(mut v) => judge(&ctx, &visible, &mut v),
        Err(_) => Authorization::Deny,
    }))?;
    let out = prepare_and_run(c, &verdict, sql, params);
    // The reader goes back to the pool: no authorizer on Mooring's own reads.
    c.authorizer(None::<fn(AuthContext<'_>) -> Authorization>)?;
    out
}

fn prepare_and_run(
    c: &Connection,
    verdict: &Mutex<Verdict>,
    sql: &str,
    params: &[Value],
) -> Result<(SqlRows, BTreeSet<String>)> {
    let taken = |verdict: &Mutex<Verdict>| {
        verdict
            .lock()
            .map(|mut v| (v.refusal.take(), std::mem::take(&mut v.tables)))
            .map_err(|_| Error::Internal("SQL authorizer state poisoned".into()))
    };
    let mut stmt = match c.prepare(sql) {
        Ok(s) => s,
        Err(e) => {
            let (refusal, _) = taken(verdict)?;
            return Err(match (refusal, e) {
                (Some((r, why)), _) => refused(r, why),
                (None, rusqlite::Error::MultipleStatement) => {
                    refused(SqlRefusal::Invalid, "give one statement, not several")
                }
                (None, rusqlite::Error::Empty) => refused(SqlRefusal::Invalid, "no statement"),
                (None, rusqlite::Error::SqliteFailure(_, Some(m))) => {
                    refused(SqlRefusal::Invalid, m)
                }
                (None, e) => refused(SqlRefusal::Invalid, e.to_string()),
            });
        }
    };
    let (refusal, tables) = taken(verdict)?;
    if let Some((r, why)) = refusal {
        return Err(refused(r, why));
    }
    if !stmt.readonly() {
        return Err(refused(SqlRefusal::Write, "only reads are allowed"));
    }
    if stmt.parameter_count() != params.len() {
        return Err(refused(
            SqlRefusal::Invalid,
            format!(
                "the statement has {} parameters, {} given",
                stmt.parameter_count(),
                params.len()
            ),
        ));
    }
    let names: Vec<String> = stmt.column_names().map(str::to_string).collect();
    let keep: Vec<usize> = (0..names.len())
        .filter(|i| !META_COLUMNS.contains(&names[*i].as_str()))
        .collect();
    let columns = keep.iter().map(|i| names[*i].clone()).collect();
    let mut rows = Vec::new();
    let mut cursor = stmt.query(rusqlite::params_from_iter(params.iter()))?;
    while let Some(r) = cursor.next()? {
        let mut values = Vec::with_capacity(keep.len());
        for i in &keep {
            values.push(r.get::<_, Value>(*i)?);
        }
        rows.push(values);
    }
    Ok((SqlRows { columns, rows }, tables))
}

impl Store {
    /// Runs one read-only SQL statement over the mirror's tables (local
    /// changes included) with `?`/`?N` parameters bound from `params`.
    /// Writes, PRAGMAs, ATTACH and Mooring's own tables are refused with
    /// `Error::SqlRefused`. Blocking: call off the UI thread.
    pub fn sql(&self, sql: &str, params: &[Value]) -> Result<SqlRows> {
        Ok(self.sql_with_tables(sql, params)?.0)
    }

    /// `sql`, and the mirror tables (lowercase) the statement reads, as
    /// SQLite's authorizer reported them: what a SQL watch re-runs on.
    pub fn sql_with_tables(
        &self,
        sql: &str,
        params: &[Value],
    ) -> Result<(SqlRows, BTreeSet<String>)> {
        let visible: HashSet<String> = self
            .tables()?
            .into_iter()
            .map(|t| t.to_ascii_lowercase())
            .collect();
        self.with_reader_mut(|c| run_sql(c, visible, sql, params))
    }
}
