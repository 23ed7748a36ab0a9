//! Cell values across the FFI: a typed enum rather than JSON strings, so
//! Kotlin and Swift get `when`/`switch` over real types and no JSON parser.

use std::collections::HashMap;

use serde_json::Value as J;

use crate::error::MooringError;

/// One cell. Reads give what the mirror stores: Dataverse booleans and
/// option sets come back as `Integer` (0/1, the option value), dates as
/// ISO-8601 `Text`, lookups as the target's GUID `Text`.
#[derive(Clone, Debug, PartialEq, uniffi::Enum)]
pub enum Value {
    Null,
    Integer {
        value: i64,
    },
    /// Never NaN or infinite on reads; rejected on writes and in filters.
    Real {
        value: f64,
    },
    Text {
        value: String,
    },
    /// Writes only in practice (reads return `Integer` 0/1).
    Bool {
        value: bool,
    },
}

/// A row: column logical name to value, the key column included.
pub type Row = HashMap<String, Value>;

impl From<J> for Value {
    fn from(v: J) -> Self {
        match v {
            J::Null => Value::Null,
            J::Bool(b) => Value::Bool { value: b },
            J::Number(n) => match n.as_i64() {
                Some(i) => Value::Integer { value: i },
                // Above i64::MAX or fractional: the mirror never holds the
                // former (SQLite integers are i64), the latter is a real.
                None => Value::Real {
                    value: n.as_f64().unwrap_or(f64::NAN),
                },
            },
            J::String(s) => Value::Text { value: s },
            other => Value::Text {
                value: other.to_string(),
            },
        }
    }
}

impl From<mooring_core::Value> for Value {
    fn from(v: mooring_core::Value) -> Self {
        use mooring_core::Value as C;
        match v {
            C::Null => Value::Null,
            C::Integer(value) => Value::Integer { value },
            C::Real(value) => Value::Real { value },
            C::Text(value) => Value::Text { value },
        }
    }
}

/// The answer of a SQL read: column names in the statement's order, and
/// each row's values in that order.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct SqlRows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

impl From<&mooring_core::SqlRows> for SqlRows {
    fn from(r: &mooring_core::SqlRows) -> Self {
        SqlRows {
            columns: r.columns.clone(),
            rows: r
                .rows
                .iter()
                .map(|row| row.iter().cloned().map(Value::from).collect())
                .collect(),
        }
    }
}

/// SQL parameters: what the mirror compares against (booleans 0/1).
pub(crate) fn params_to_core(params: Vec<Value>) -> Result<Vec<mooring_core::Value>, MooringError> {
    params
        .into_iter()
        .enumerate()
        .map(|(i, v)| to_core(&format!("parameter {}", i + 1), v))
        .collect()
}

pub(crate) fn row_from_core(row: mooring_core::Row) -> Row {
    row.into_iter().map(|(k, v)| (k, Value::from(v))).collect()
}

fn not_finite(field: &str) -> MooringError {
    MooringError::Validation {
        field: Some(field.to_string()),
        reason: format!("{field}: a real number must be finite (not NaN or infinity)"),
    }
}

/// For writes: the JSON object core validates against the profile.
/// `field` names the column in the error.
pub(crate) fn to_json(field: &str, v: Value) -> Result<J, MooringError> {
    Ok(match v {
        Value::Null => J::Null,
        Value::Integer { value } => J::from(value),
        Value::Real { value } => serde_json::Number::from_f64(value)
            .map(J::Number)
            .ok_or_else(|| not_finite(field))?,
        Value::Text { value } => J::String(value),
        Value::Bool { value } => J::Bool(value),
    })
}

pub(crate) fn values_to_json(
    values: HashMap<String, Value>,
) -> Result<serde_json::Map<String, J>, MooringError> {
    values
        .into_iter()
        .map(|(k, v)| to_json(&k, v).map(|j| (k, j)))
        .collect()
}

/// For filters: what the mirror compares against (booleans are 0/1 there).
pub(crate) fn to_core(field: &str, v: Value) -> Result<mooring_core::Value, MooringError> {
    use mooring_core::Value as C;
    Ok(match v {
        Value::Null => C::Null,
        Value::Integer { value } => C::Integer(value),
        Value::Real { value } if value.is_finite() => C::Real(value),
        Value::Real { .. } => return Err(not_finite(field)),
        Value::Text { value } => C::Text(value),
        Value::Bool { value } => C::Integer(value as i64),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_reads_become_typed_values() {
        assert_eq!(Value::from(J::Null), Value::Null);
        assert_eq!(Value::from(J::from(true)), Value::Bool { value: true });
        assert_eq!(
            Value::from(J::from(i64::MAX)),
            Value::Integer { value: i64::MAX }
        );
        assert_eq!(
            Value::from(J::from(i64::MIN)),
            Value::Integer { value: i64::MIN }
        );
        // Above i64: a real (the mirror never holds one; nothing panics).
        assert_eq!(
            Value::from(J::from(u64::MAX)),
            Value::Real {
                value: u64::MAX as f64
            }
        );
        assert_eq!(Value::from(J::from(2.5)), Value::Real { value: 2.5 });
        assert_eq!(Value::from(J::from("x")), Value::Text { value: "x".into() });
        assert_eq!(
            Value::from(serde_json::json!([1, 2])),
            Value::Text {
                value: "[1,2]".into()
            }
        );
    }

    #[test]
    fn writes_keep_big_ints_exact_and_refuse_nan() {
        let j = to_json("n", Value::Integer { value: i64::MAX }).unwrap();
        assert_eq!(j.as_i64(), Some(i64::MAX));
        assert_eq!(
            to_json("b", Value::Bool { value: false }).unwrap(),
            J::Bool(false)
        );
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let e = to_json("revenue", Value::Real { value: bad }).unwrap_err();
            assert!(
                matches!(&e, MooringError::Validation { field: Some(f), .. } if f == "revenue"),
                "{e:?}"
            );
            assert!(to_core("revenue", Value::Real { value: bad }).is_err());
        }
        assert_eq!(
            to_core("flag", Value::Bool { value: true }).unwrap(),
            mooring_core::Value::Integer(1)
        );
        let mut m = HashMap::new();
        m.insert("name".to_string(), Value::Text { value: "a".into() });
        m.insert("x".to_string(), Value::Null);
        let obj = values_to_json(m).unwrap();
        assert_eq!(obj["name"], "a");
        assert!(obj["x"].is_null());
    }
}
