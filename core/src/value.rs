//! `Value`: one cell of a row, as JSON gives it and SQLite stores it. Shared
//! by the page parser (remote), the store and the app-facing read API.
//!
//! One rule turns JSON into a cell, wherever the JSON comes from (a page, a
//! local write, an upload's acknowledgement): `Value::from_json`, built on
//! the scalar constructors the streaming page parser calls directly. Its
//! inverse for uploads is `Value::to_json`.

use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};
use serde_json::Value as J;

use crate::profile::{ResolvedColumn, SqlType};

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
}

impl Value {
    /// The cell a JSON value becomes in a column of type `ty`. Objects and
    /// arrays are no column a profile can select (expanded navigation
    /// properties, annotations' payloads): NULL. Validation refuses them in
    /// local writes before they get here.
    pub fn from_json(ty: SqlType, v: &J) -> Value {
        match v {
            J::Null | J::Object(_) | J::Array(_) => Value::Null,
            J::Bool(b) => Value::from_bool(*b),
            J::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => Value::from_i64(ty, i),
                (None, Some(u), _) => Value::from_u64(ty, u),
                (None, None, Some(f)) => Value::from_f64(f),
                (None, None, None) => Value::Null,
            },
            J::String(s) => Value::Text(s.clone()),
        }
    }

    /// Booleans are stored 0/1 (SQLite has no boolean).
    pub(crate) fn from_bool(b: bool) -> Value {
        Value::Integer(b as i64)
    }

    /// A whole number: REAL in a decimal/float column, else INTEGER.
    pub(crate) fn from_i64(ty: SqlType, i: i64) -> Value {
        match ty {
            SqlType::Real => Value::Real(i as f64),
            SqlType::Integer | SqlType::Text => Value::Integer(i),
        }
    }

    /// Above `i64::MAX` only a REAL holds it.
    pub(crate) fn from_u64(ty: SqlType, u: u64) -> Value {
        i64::try_from(u)
            .map(|i| Value::from_i64(ty, i))
            .unwrap_or(Value::Real(u as f64))
    }

    /// A fraction stays a REAL in any column (never truncated, never NULL).
    pub(crate) fn from_f64(f: f64) -> Value {
        Value::Real(f)
    }

    /// The JSON the Web API expects for this cell of `column`: Boolean
    /// columns travel as true/false, numbers as numbers, the rest as text.
    /// `to_json(from_json(v))` is what the server gets for a local write, so
    /// it receives exactly what the mirror stored.
    pub fn to_json(&self, column: &ResolvedColumn) -> J {
        match self {
            Value::Null => J::Null,
            Value::Integer(i) if column.attribute_type == "Boolean" => J::Bool(*i != 0),
            Value::Integer(i) => J::from(*i),
            Value::Real(r) => serde_json::Number::from_f64(*r)
                .map(J::Number)
                .unwrap_or(J::Null),
            Value::Text(s) => J::String(s.clone()),
        }
    }
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Integer(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Real(r) => ToSqlOutput::Borrowed(ValueRef::Real(*r)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

impl FromSql for Value {
    fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
        Ok(match v {
            ValueRef::Null => Value::Null,
            ValueRef::Integer(i) => Value::Integer(i),
            ValueRef::Real(r) => Value::Real(r),
            ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Value::Text(String::from_utf8_lossy(b).into_owned()),
        })
    }
}

impl From<Value> for serde_json::Value {
    fn from(v: Value) -> Self {
        match v {
            Value::Null => serde_json::Value::Null,
            Value::Integer(i) => i.into(),
            Value::Real(r) => serde_json::Number::from_f64(r)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::Text(s) => s.into(),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_string())
    }
}
impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}
impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Integer(i)
    }
}
impl From<f64> for Value {
    fn from(r: f64) -> Self {
        Value::Real(r)
    }
}
impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Integer(b as i64)
    }
}

/// One row as the server sent it: key, ETag and the profile's columns in
/// the table's column order.
#[derive(Clone, Debug, PartialEq)]
pub struct RowData {
    pub key: String,
    pub etag: Option<String>,
    pub values: Vec<Value>,
}
