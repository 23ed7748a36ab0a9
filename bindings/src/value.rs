//! Cell values across the FFI: a typed enum rather than JSON strings, so
//! Kotlin and Swift get `when`/`switch` over real types and no JSON parser.

use std::collections::HashMap;

use serde_json::Value as J;

use crate::error::MooringError;

/// One cell. Reads (`get`, `query`, `watch`) give each column's own type:
/// booleans as `Bool`, date-times as `DateTime`, date-only columns as
/// `Date`, choices with their labels, lookups with the related row's table
/// and name. SQL reads (`sql`, `watchSql`) give what SQLite returns
/// (`Integer`, `Real`, `Text`): the platform accessors convert those too.
/// Writes take any variant a column's type accepts.
#[derive(Clone, Debug, PartialEq, uniffi::Enum)]
pub enum Value {
    Null,
    Integer {
        value: i64,
    },
    /// Decimal, money and float columns. Never NaN or infinite on reads;
    /// rejected on writes and in filters.
    Real {
        value: f64,
    },
    Text {
        value: String,
    },
    Bool {
        value: bool,
    },
    /// An instant: milliseconds since the Unix epoch (UTC).
    DateTime {
        epoch_millis: i64,
    },
    /// A date-only column's calendar date.
    Date {
        year: i32,
        month: u8,
        day: u8,
    },
    /// A choice (option set) value with its label in the user's language
    /// (None when the server's metadata gave none). Writes use the value.
    Choice {
        value: i64,
        label: Option<String>,
    },
    /// A multi-select choice column's values.
    Choices {
        values: Vec<ChoiceValue>,
    },
    /// A unique identifier, lowercase.
    Guid {
        value: String,
    },
    /// A lookup: the related row's id, the profile table holding it and
    /// its primary name when the mirror has them. Writes use the id.
    Lookup {
        id: String,
        table: Option<String>,
        name: Option<String>,
    },
}

/// One option of a choice.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct ChoiceValue {
    pub value: i64,
    pub label: Option<String>,
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

pub(crate) fn row_from_typed(row: mooring_core::TypedRow) -> Row {
    row.into_iter().map(|(k, c)| (k, Value::from(c))).collect()
}

impl From<mooring_core::Cell> for Value {
    fn from(c: mooring_core::Cell) -> Self {
        use mooring_core::Cell as C;
        let choice = |c: mooring_core::Choice| ChoiceValue {
            value: c.value,
            label: c.label,
        };
        match c {
            C::Null => Value::Null,
            C::Text(value) => Value::Text { value },
            C::Integer(value) => Value::Integer { value },
            C::Decimal(value) | C::Float(value) => Value::Real { value },
            C::Boolean(value) => Value::Bool { value },
            C::DateTime(epoch_millis) => Value::DateTime { epoch_millis },
            C::Date(d) => Value::Date {
                year: d.year,
                month: d.month,
                day: d.day,
            },
            C::Choice(c) => Value::Choice {
                value: c.value,
                label: c.label,
            },
            C::Choices(cs) => Value::Choices {
                values: cs.into_iter().map(choice).collect(),
            },
            C::Guid(value) => Value::Guid { value },
            C::Lookup(l) => Value::Lookup {
                id: l.id,
                table: l.table,
                name: l.name,
            },
        }
    }
}

fn instant(field: &str, epoch_millis: i64) -> Result<String, MooringError> {
    mooring_core::cell::iso_instant(epoch_millis).ok_or_else(|| MooringError::Validation {
        field: Some(field.to_string()),
        reason: format!("{field}: {epoch_millis} ms is outside the dates a server can hold"),
    })
}

fn date(field: &str, year: i32, month: u8, day: u8) -> Result<String, MooringError> {
    mooring_core::CalendarDate::checked(year, month, day)
        .map(|d| d.iso())
        .ok_or_else(|| MooringError::Validation {
            field: Some(field.to_string()),
            reason: format!("{field}: {year:04}-{month:02}-{day:02} is no calendar date"),
        })
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
        Value::DateTime { epoch_millis } => J::String(instant(field, epoch_millis)?),
        Value::Date { year, month, day } => J::String(date(field, year, month, day)?),
        Value::Choice { value, .. } => J::from(value),
        Value::Choices { values } => {
            J::Array(values.into_iter().map(|c| J::from(c.value)).collect())
        }
        Value::Guid { value } => J::String(value),
        Value::Lookup { id, .. } => J::String(id),
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
        // As the mirror stores them: the Web API's text forms.
        Value::DateTime { epoch_millis } => C::Text(instant(field, epoch_millis)?),
        Value::Date { year, month, day } => C::Text(date(field, year, month, day)?),
        Value::Choice { value, .. } => C::Integer(value),
        Value::Choices { values } => C::Text(
            values
                .iter()
                .map(|c| c.value.to_string())
                .collect::<Vec<_>>()
                .join(","),
        ),
        Value::Guid { value } => C::Text(value.trim().to_ascii_lowercase()),
        Value::Lookup { id, .. } => C::Text(id.trim().to_ascii_lowercase()),
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
    fn typed_writes_take_the_web_api_forms_and_refuse_impossible_dates() {
        assert_eq!(
            to_json(
                "d",
                Value::DateTime {
                    epoch_millis: 1_714_552_200_000
                }
            )
            .unwrap(),
            J::from("2024-05-01T08:30:00Z")
        );
        assert_eq!(
            to_json(
                "d",
                Value::Date {
                    year: 2024,
                    month: 2,
                    day: 29
                }
            )
            .unwrap(),
            J::from("2024-02-29")
        );
        for (y, m, d) in [(2023, 2, 29), (2024, 13, 1), (2024, 4, 31), (0, 1, 1)] {
            let e = to_json(
                "due",
                Value::Date {
                    year: y,
                    month: m,
                    day: d,
                },
            )
            .unwrap_err();
            assert!(
                matches!(&e, MooringError::Validation { field: Some(f), .. } if f == "due"),
                "{e:?}"
            );
        }
        assert!(
            to_json(
                "d",
                Value::DateTime {
                    epoch_millis: i64::MAX
                }
            )
            .is_err()
        );
        assert_eq!(
            to_json(
                "c",
                Value::Choice {
                    value: 3,
                    label: Some("Cold".into())
                }
            )
            .unwrap(),
            J::from(3)
        );
        let both = Value::Choices {
            values: vec![
                ChoiceValue {
                    value: 1,
                    label: None,
                },
                ChoiceValue {
                    value: 4,
                    label: Some("x".into()),
                },
            ],
        };
        assert_eq!(
            to_json("c", both.clone()).unwrap(),
            serde_json::json!([1, 4])
        );
        assert_eq!(
            to_core("c", both).unwrap(),
            mooring_core::Value::Text("1,4".into())
        );
        assert_eq!(
            to_core(
                "l",
                Value::Lookup {
                    id: " ABC ".into(),
                    table: None,
                    name: None
                }
            )
            .unwrap(),
            mooring_core::Value::Text("abc".into())
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
