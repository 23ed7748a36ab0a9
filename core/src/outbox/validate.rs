//! Checks a local write against the resolved profile before anything is
//! written: the table and columns exist, are writable, values have the
//! column's type, lookups point at rows the mirror holds. Returns the
//! normalized values and, per lookup, the target and navigation property
//! the upload binds.

use serde_json::{Map, Value as J};

use super::{Op, WriteError};
use crate::error::Result;
use crate::profile::{ColumnType, ResolvedColumn, ResolvedTable, SqlType};
use crate::store::Store;

/// Where lookup targets are found: the mirror as committed (`Store`), or
/// as a local transaction sees it (its own creates included).
pub(super) trait Rows {
    /// The mirror's tables.
    fn mirrored(&self) -> Result<Vec<String>>;
    fn exists(&self, table: &str, id: &str) -> Result<bool>;
}

impl Rows for Store {
    fn mirrored(&self) -> Result<Vec<String>> {
        self.tables()
    }
    fn exists(&self, table: &str, id: &str) -> Result<bool> {
        self.row_exists(table, id)
    }
}

fn kind(v: &J) -> &'static str {
    match v {
        J::Null => "null",
        J::Bool(_) => "a boolean",
        J::Number(_) => "a number",
        J::String(_) => "a string",
        J::Array(_) => "an array",
        J::Object(_) => "an object",
    }
}

/// The id the app gives a row it creates (lowercase GUID, as stored).
pub(super) fn new_row_id(t: &ResolvedTable, id: &str) -> Result<String> {
    uuid::Uuid::parse_str(id.trim())
        .map(|u| u.to_string())
        .map_err(|_| {
            WriteError::WrongType {
                table: t.name.clone(),
                column: t.key.clone(),
                expected: "a GUID".into(),
                got: id.to_string(),
            }
            .into()
        })
}

/// A row id as the mirror stores it (lowercase GUID).
pub(super) fn row_id(t: &ResolvedTable, id: &str) -> Result<String> {
    uuid::Uuid::parse_str(id.trim())
        .map(|u| u.to_string())
        .map_err(|_| {
            WriteError::RowNotFound {
                table: t.name.clone(),
                id: id.to_string(),
            }
            .into()
        })
}

fn is_guid_type(c: &ResolvedColumn) -> bool {
    c.is_lookup || c.attribute_type == "Uniqueidentifier"
}

/// One value, normalized to what the mirror and the wire want.
fn value(t: &ResolvedTable, c: &ResolvedColumn, v: &J) -> Result<J> {
    let wrong = |expected: &str| -> crate::error::Error {
        WriteError::WrongType {
            table: t.name.clone(),
            column: c.name.clone(),
            expected: expected.into(),
            got: kind(v).into(),
        }
        .into()
    };
    if v.is_null() {
        return Ok(J::Null);
    }
    Ok(match c.sql_type {
        SqlType::Integer if c.attribute_type == "Boolean" => match v {
            J::Bool(b) => J::Bool(*b),
            J::Number(n) if n.as_i64() == Some(0) || n.as_i64() == Some(1) => {
                J::Bool(n.as_i64() == Some(1))
            }
            _ => return Err(wrong("a boolean")),
        },
        SqlType::Integer => match v.as_i64() {
            Some(i) => {
                known_option(t, c, i)?;
                J::from(i)
            }
            None => return Err(wrong("an integer")),
        },
        SqlType::Real => match v {
            J::Number(n) => J::from(n.as_f64().ok_or_else(|| wrong("a number"))?),
            _ => return Err(wrong("a number")),
        },
        SqlType::Text if is_guid_type(c) => match v
            .as_str()
            .and_then(|s| uuid::Uuid::parse_str(s.trim()).ok())
        {
            Some(u) => J::String(u.to_string()),
            None => return Err(wrong("a GUID string")),
        },
        SqlType::Text if c.attribute_type == "DateTime" => match v.as_str() {
            Some(s)
                if time::OffsetDateTime::parse(
                    s,
                    &time::format_description::well_known::Rfc3339,
                )
                .is_ok() =>
            {
                J::String(s.to_string())
            }
            Some(s)
                if time::Date::parse(
                    s,
                    time::macros::format_description!("[year]-[month]-[day]"),
                )
                .is_ok() =>
            {
                J::String(s.to_string())
            }
            _ => return Err(wrong("an ISO 8601 date or date-time string")),
        },
        SqlType::Text if c.column_type() == ColumnType::Choices => {
            let values = choice_values(v)
                .ok_or_else(|| wrong("choice values (an array of integers, or \"1,2\")"))?;
            for &i in &values {
                known_option(t, c, i)?;
            }
            let text: Vec<String> = values.iter().map(i64::to_string).collect();
            J::String(text.join(","))
        }
        SqlType::Text => match v {
            J::String(s) => J::String(s.clone()),
            _ => return Err(wrong("a string")),
        },
    })
}

/// A multi-select value: `[1, 2]`, or the Web API's own `"1,2"`.
fn choice_values(v: &J) -> Option<Vec<i64>> {
    match v {
        J::Array(a) => a.iter().map(J::as_i64).collect(),
        J::String(s) => s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| p.parse().ok())
            .collect(),
        _ => None,
    }
}

/// A choice value must be one of the column's options, when the server's
/// metadata gave them (else the server judges it at upload).
fn known_option(t: &ResolvedTable, c: &ResolvedColumn, value: i64) -> Result<()> {
    let Some(options) = c.options.as_ref().filter(|o| !o.is_empty()) else {
        return Ok(());
    };
    if options.iter().any(|o| o.value == value) {
        return Ok(());
    }
    let list: Vec<String> = options
        .iter()
        .map(|o| format!("{} ({})", o.value, o.label))
        .collect();
    Err(WriteError::WrongType {
        table: t.name.clone(),
        column: c.name.clone(),
        expected: format!("one of its options: {}", list.join(", ")),
        got: value.to_string(),
    }
    .into())
}

/// Validates `values` for `op` on `t`. Returns (data, binds).
pub(super) fn check(
    store: &dyn Rows,
    t: &ResolvedTable,
    values: &Map<String, J>,
    op: Op,
) -> Result<(Map<String, J>, Map<String, J>)> {
    let mut data = Map::new();
    let mut binds = Map::new();
    for (name, v) in values {
        if *name == t.key {
            return Err(WriteError::ReadOnly {
                table: t.name.clone(),
                column: name.clone(),
            }
            .into());
        }
        let c = t
            .column(name)
            .filter(|c| !c.hidden)
            .ok_or_else(|| WriteError::UnknownColumn {
                table: t.name.clone(),
                column: name.clone(),
            })?;
        let writable = if op == Op::Create {
            c.writable_on_create
        } else {
            c.writable_on_update
        };
        if !writable {
            return Err(WriteError::ReadOnly {
                table: t.name.clone(),
                column: name.clone(),
            }
            .into());
        }
        let v = value(t, c, v)?;
        if c.is_lookup {
            binds.insert(name.clone(), bind(store, t, c, &v)?);
        }
        data.insert(name.clone(), v);
    }
    Ok((data, binds))
}

/// [entity set, navigation property] the upload binds a lookup with.
fn bind(store: &dyn Rows, t: &ResolvedTable, c: &ResolvedColumn, v: &J) -> Result<J> {
    let missing = || -> crate::error::Error {
        WriteError::MissingLookupTarget {
            table: t.name.clone(),
            column: c.name.clone(),
            id: v.as_str().unwrap_or("").into(),
        }
        .into()
    };
    let Some(id) = v.as_str() else {
        // Clearing a lookup: any of its navigation properties will do.
        let nav = c
            .targets
            .first()
            .map(|r| r.navigation.clone())
            .unwrap_or_else(|| c.name.clone());
        let set = c
            .targets
            .first()
            .map(|r| r.entity_set.clone())
            .unwrap_or_default();
        return Ok(J::Array(vec![J::String(set), J::String(nav)]));
    };
    let tables = store.mirrored()?;
    let mirrored: Vec<_> = c
        .targets
        .iter()
        .filter(|r| tables.contains(&r.entity_set))
        .collect();
    for r in &mirrored {
        if store.exists(&r.entity_set, id)? {
            return Ok(J::Array(vec![
                J::String(r.entity_set.clone()),
                J::String(r.navigation.clone()),
            ]));
        }
    }
    // A target no profile table mirrors (e.g. owners) cannot be checked
    // locally: the server will say if it is wrong (a sync error).
    match (mirrored.is_empty(), c.targets.first()) {
        (true, Some(r)) => Ok(J::Array(vec![
            J::String(r.entity_set.clone()),
            J::String(r.navigation.clone()),
        ])),
        _ => Err(missing()),
    }
}
