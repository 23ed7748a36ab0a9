//! The app's reads: get by id, and typed queries (filter, sort, limit as
//! data). Column names are checked against the mirror's catalog and
//! quoted; values are always bound parameters.

use rusqlite::{Connection, OptionalExtension, params_from_iter};

use super::{Store, TableColumns, q};
use crate::error::{Error, Result};
use crate::value::Value;

/// A row for the app: key and columns by logical name.
pub type Row = serde_json::Map<String, serde_json::Value>;

#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    Eq(String, Value),
    Ne(String, Value),
    Lt(String, Value),
    Le(String, Value),
    Gt(String, Value),
    Ge(String, Value),
    /// Case-insensitive substring (ASCII), like OData `contains`.
    Contains(String, String),
    StartsWith(String, String),
    IsNull(String),
    IsNotNull(String),
    In(String, Vec<Value>),
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sort {
    pub column: String,
    pub descending: bool,
}

impl Sort {
    pub fn asc(c: impl Into<String>) -> Self {
        Sort {
            column: c.into(),
            descending: false,
        }
    }
    pub fn desc(c: impl Into<String>) -> Self {
        Sort {
            column: c.into(),
            descending: true,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    pub table: String,
    pub filter: Option<Filter>,
    pub sort: Vec<Sort>,
    pub limit: Option<u32>,
    pub offset: Option<u32>,
}

impl Query {
    pub fn table(t: impl Into<String>) -> Self {
        Query {
            table: t.into(),
            filter: None,
            sort: Vec::new(),
            limit: None,
            offset: None,
        }
    }
    pub fn filter(mut self, f: Filter) -> Self {
        self.filter = Some(f);
        self
    }
    pub fn sort(mut self, s: Sort) -> Self {
        self.sort.push(s);
        self
    }
    pub fn limit(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }
    pub fn offset(mut self, n: u32) -> Self {
        self.offset = Some(n);
        self
    }
}

fn column(cols: &TableColumns, table: &str, name: &str) -> Result<String> {
    if name == cols.key || cols.columns.iter().any(|c| c == name) {
        Ok(q(name))
    } else {
        Err(Error::Query(format!("table {table} has no column {name}")))
    }
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn compile(
    f: &Filter,
    cols: &TableColumns,
    table: &str,
    params: &mut Vec<Value>,
) -> Result<String> {
    let cmp = |c: &str, op: &str, v: &Value, params: &mut Vec<Value>| -> Result<String> {
        params.push(v.clone());
        Ok(format!(
            "{} {op} ?{}",
            column(cols, table, c)?,
            params.len()
        ))
    };
    Ok(match f {
        Filter::Eq(c, Value::Null) => format!("{} IS NULL", column(cols, table, c)?),
        Filter::Ne(c, Value::Null) => format!("{} IS NOT NULL", column(cols, table, c)?),
        Filter::Eq(c, v) => cmp(c, "=", v, params)?,
        Filter::Ne(c, v) => format!(
            "({} OR {} IS NULL)",
            cmp(c, "<>", v, params)?,
            column(cols, table, c)?
        ),
        Filter::Lt(c, v) => cmp(c, "<", v, params)?,
        Filter::Le(c, v) => cmp(c, "<=", v, params)?,
        Filter::Gt(c, v) => cmp(c, ">", v, params)?,
        Filter::Ge(c, v) => cmp(c, ">=", v, params)?,
        Filter::Contains(c, s) => {
            params.push(Value::Text(format!("%{}%", like_escape(s))));
            format!(
                "{} LIKE ?{} ESCAPE '\\'",
                column(cols, table, c)?,
                params.len()
            )
        }
        Filter::StartsWith(c, s) => {
            params.push(Value::Text(format!("{}%", like_escape(s))));
            format!(
                "{} LIKE ?{} ESCAPE '\\'",
                column(cols, table, c)?,
                params.len()
            )
        }
        Filter::IsNull(c) => format!("{} IS NULL", column(cols, table, c)?),
        Filter::IsNotNull(c) => format!("{} IS NOT NULL", column(cols, table, c)?),
        Filter::In(c, vs) => {
            if vs.is_empty() {
                "0".into()
            } else {
                let col = column(cols, table, c)?;
                let mut marks = Vec::new();
                for v in vs {
                    params.push(v.clone());
                    marks.push(format!("?{}", params.len()));
                }
                format!("{col} IN ({})", marks.join(", "))
            }
        }
        Filter::And(fs) | Filter::Or(fs) => {
            if fs.is_empty() {
                return Ok(if matches!(f, Filter::And(_)) {
                    "1".into()
                } else {
                    "0".into()
                });
            }
            let joiner = if matches!(f, Filter::And(_)) {
                " AND "
            } else {
                " OR "
            };
            let parts: Result<Vec<String>> =
                fs.iter().map(|x| compile(x, cols, table, params)).collect();
            format!("({})", parts?.join(joiner))
        }
        Filter::Not(x) => format!("NOT ({})", compile(x, cols, table, params)?),
    })
}

fn select_list(cols: &TableColumns) -> String {
    let mut names = vec![q(&cols.key)];
    names.extend(cols.columns.iter().map(|c| q(c)));
    names.join(", ")
}

fn read_row(r: &rusqlite::Row<'_>, cols: &TableColumns) -> rusqlite::Result<Row> {
    let mut row = Row::new();
    row.insert(cols.key.clone(), r.get::<_, Value>(0)?.into());
    for (i, c) in cols.columns.iter().enumerate() {
        row.insert(c.clone(), r.get::<_, Value>(i + 1)?.into());
    }
    Ok(row)
}

pub(super) fn run_query(c: &Connection, cols: &TableColumns, query: &Query) -> Result<Vec<Row>> {
    let mut params = Vec::new();
    let mut sql = format!("SELECT {} FROM {}", select_list(cols), q(&query.table));
    if let Some(f) = &query.filter {
        sql.push_str(" WHERE ");
        sql.push_str(&compile(f, cols, &query.table, &mut params)?);
    }
    let mut order = Vec::new();
    for s in &query.sort {
        order.push(format!(
            "{} {}",
            column(cols, &query.table, &s.column)?,
            if s.descending { "DESC" } else { "ASC" }
        ));
    }
    // A stable order, so pages and watches compare equal when nothing changed.
    order.push(q(&cols.key));
    sql.push_str(&format!(" ORDER BY {}", order.join(", ")));
    if query.limit.is_some() || query.offset.is_some() {
        params.push(Value::Integer(query.limit.map(i64::from).unwrap_or(-1)));
        sql.push_str(&format!(" LIMIT ?{}", params.len()));
        params.push(Value::Integer(query.offset.map(i64::from).unwrap_or(0)));
        sql.push_str(&format!(" OFFSET ?{}", params.len()));
    }
    let mut stmt = c.prepare_cached(&sql)?;
    let rows = stmt.query_map(params_from_iter(params.iter()), |r| read_row(r, cols))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl Store {
    /// One row by key (GUID, any case).
    pub fn get(&self, table: &str, id: &str) -> Result<Option<Row>> {
        let cols = self.table_columns(table)?;
        self.with_reader(|c| {
            let sql = format!(
                "SELECT {} FROM {} WHERE {} = ?1",
                select_list(&cols),
                q(table),
                q(&cols.key)
            );
            Ok(
                c.query_row(&sql, [id.to_ascii_lowercase()], |r| read_row(r, &cols))
                    .optional()?,
            )
        })
    }

    pub fn query(&self, query: &Query) -> Result<Vec<Row>> {
        let cols = self.table_columns(&query.table)?;
        self.with_reader(|c| run_query(c, &cols, query))
    }

    /// `PRAGMA integrity_check` of the mirror file: `"ok"` when sound (the
    /// hostile-input tests and diagnostics).
    pub fn integrity_check(&self) -> Result<String> {
        self.with_reader(|c| {
            let mut st = c.prepare("PRAGMA integrity_check")?;
            let lines: Vec<String> = st
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<std::result::Result<_, _>>()?;
            Ok(lines.join("\n"))
        })
    }
}
