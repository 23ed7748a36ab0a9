//! `Cell`: one value as the app reads it, typed by its column
//! (`ColumnType`): booleans as booleans, dates as instants or calendar
//! dates, choices with their labels, lookups with the related row's table
//! and name. The mirror stores what the Web API sends (`Value`); this is
//! the read side's view of it, so nothing stored changes.
//!
//! A stored value that does not have its column's shape (a server that
//! sent a date-time column as free text) is given as `Text`, never an
//! error: the app's accessors then say which column held what.

use serde_json::Value as J;

use crate::profile::{ColumnType, ResolvedColumn};

#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Null,
    Text(String),
    Integer(i64),
    /// Decimal and money columns.
    Decimal(f64),
    Float(f64),
    Boolean(bool),
    /// An instant: milliseconds since the Unix epoch, UTC.
    DateTime(i64),
    /// A date-only column's calendar date (no time zone).
    Date(CalendarDate),
    Choice(Choice),
    Choices(Vec<Choice>),
    /// Lowercase, hyphenated.
    Guid(String),
    Lookup(LookupValue),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CalendarDate {
    pub year: i32,
    pub month: u8,
    pub day: u8,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    pub value: i64,
    /// The option's label in the user's language; None when the server's
    /// metadata did not give labels.
    pub label: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupValue {
    /// The related row's id.
    pub id: String,
    /// The profile table (entity set) holding the related row, when the
    /// mirror has it.
    pub table: Option<String>,
    /// The related row's primary name, when the mirror keeps that column.
    pub name: Option<String>,
}

/// A row for the app with typed cells: the key first, then the profile's
/// columns in the mirror's order.
pub type TypedRow = Vec<(String, Cell)>;

impl Cell {
    /// The cell of `column` holding `v` (what `Store::get`/`query` give).
    /// Lookups come without table and name: `Typer` adds those.
    pub fn of(column: &ResolvedColumn, v: &J) -> Cell {
        if v.is_null() {
            return Cell::Null;
        }
        let typed = match column.column_type() {
            ColumnType::Text => v.as_str().map(|s| Cell::Text(s.to_string())),
            ColumnType::Integer => v.as_i64().map(Cell::Integer),
            ColumnType::Decimal => v.as_f64().map(Cell::Decimal),
            ColumnType::Float => v.as_f64().map(Cell::Float),
            ColumnType::Boolean => match v {
                J::Bool(b) => Some(Cell::Boolean(*b)),
                J::Number(n) => n.as_i64().map(|i| Cell::Boolean(i != 0)),
                _ => None,
            },
            ColumnType::DateTime => v.as_str().and_then(date_time),
            ColumnType::Choice => v.as_i64().map(|value| Cell::Choice(choice(column, value))),
            ColumnType::Choices => v.as_str().and_then(|s| choices(column, s)),
            ColumnType::Guid => v.as_str().and_then(guid).map(Cell::Guid),
            ColumnType::Lookup => v.as_str().and_then(guid).map(|id| {
                Cell::Lookup(LookupValue {
                    id,
                    table: None,
                    name: None,
                })
            }),
        };
        typed.unwrap_or_else(|| Cell::untyped(v))
    }

    /// A value of no known column (or not of its column's shape).
    pub fn untyped(v: &J) -> Cell {
        match v {
            J::Null => Cell::Null,
            J::Bool(b) => Cell::Boolean(*b),
            J::Number(n) => match n.as_i64() {
                Some(i) => Cell::Integer(i),
                None => Cell::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            J::String(s) => Cell::Text(s.clone()),
            other => Cell::Text(other.to_string()),
        }
    }
}

fn choice(column: &ResolvedColumn, value: i64) -> Choice {
    Choice {
        value,
        label: column.label(value).map(str::to_string),
    }
}

/// `"1,5"` as the Web API writes a multi-select value; `""` is none.
fn choices(column: &ResolvedColumn, s: &str) -> Option<Cell> {
    let values: Option<Vec<i64>> = s
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().ok())
        .collect();
    Some(Cell::Choices(
        values?.into_iter().map(|v| choice(column, v)).collect(),
    ))
}

fn guid(s: &str) -> Option<String> {
    uuid::Uuid::parse_str(s.trim()).ok().map(|u| u.to_string())
}

/// RFC 3339 (`2024-05-01T08:30:00Z`, any offset, fractions) is an instant;
/// `2024-05-01` a date-only column's date.
fn date_time(s: &str) -> Option<Cell> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(t) = time::OffsetDateTime::parse(s, &Rfc3339) {
        let ms = t.unix_timestamp_nanos() / 1_000_000;
        return i64::try_from(ms).ok().map(Cell::DateTime);
    }
    let d = time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
    Some(Cell::Date(CalendarDate {
        year: d.year(),
        month: d.month() as u8,
        day: d.day(),
    }))
}

impl CalendarDate {
    /// A real date of years 1–9999 (what Dataverse holds), else None.
    pub fn checked(year: i32, month: u8, day: u8) -> Option<CalendarDate> {
        let m = time::Month::try_from(month).ok()?;
        time::Date::from_calendar_date(year, m, day).ok()?;
        (1..=9999)
            .contains(&year)
            .then_some(CalendarDate { year, month, day })
    }

    /// `2024-05-01`, as the Web API writes a date-only value.
    pub fn iso(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// The Web API's form of an instant: `2024-05-01T08:30:00Z`, with
/// milliseconds only when there are some. None out of the range the
/// `time` crate holds.
pub fn iso_instant(epoch_ms: i64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(epoch_ms as i128 * 1_000_000).ok()?;
    let fmt = if epoch_ms.rem_euclid(1000) == 0 {
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z")
    } else {
        time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        )
    };
    t.format(&fmt).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{ChoiceOption, SqlType};

    fn col(attribute_type: &str, type_name: Option<&str>) -> ResolvedColumn {
        ResolvedColumn {
            name: "c".into(),
            wire: "c".into(),
            sql_type: SqlType::Text,
            is_lookup: false,
            hidden: false,
            writable_on_create: true,
            writable_on_update: true,
            targets: Vec::new(),
            attribute_type: attribute_type.into(),
            type_name: type_name.map(str::to_string),
            options: Some(vec![
                ChoiceOption {
                    value: 1,
                    label: "Hot".into(),
                },
                ChoiceOption {
                    value: 3,
                    label: "Cold".into(),
                },
            ]),
        }
    }

    #[test]
    fn each_column_type_reads_as_its_native_kind() {
        let j = |s: &str| serde_json::from_str::<J>(s).unwrap();
        assert_eq!(
            Cell::of(&col("DateTime", None), &j(r#""2024-05-01T08:30:00Z""#)),
            Cell::DateTime(1_714_552_200_000)
        );
        assert_eq!(
            Cell::of(
                &col("DateTime", None),
                &j(r#""2024-05-01T10:30:00.250+02:00""#)
            ),
            Cell::DateTime(1_714_552_200_250)
        );
        assert_eq!(
            Cell::of(&col("DateTime", None), &j(r#""2024-05-01""#)),
            Cell::Date(CalendarDate {
                year: 2024,
                month: 5,
                day: 1
            })
        );
        assert_eq!(
            Cell::of(&col("Boolean", None), &j("1")),
            Cell::Boolean(true)
        );
        assert_eq!(
            Cell::of(&col("Boolean", None), &j("0")),
            Cell::Boolean(false)
        );
        assert_eq!(Cell::of(&col("Money", None), &j("12")), Cell::Decimal(12.0));
        assert_eq!(Cell::of(&col("Double", None), &j("1.5")), Cell::Float(1.5));
        assert_eq!(Cell::of(&col("BigInt", None), &j("7")), Cell::Integer(7));
        assert_eq!(
            Cell::of(&col("Picklist", None), &j("3")),
            Cell::Choice(Choice {
                value: 3,
                label: Some("Cold".into())
            })
        );
        assert_eq!(
            Cell::of(&col("State", None), &j("2")),
            Cell::Choice(Choice {
                value: 2,
                label: None
            })
        );
        assert_eq!(
            Cell::of(
                &col("Virtual", Some("MultiSelectPicklistType")),
                &j(r#""1,3""#)
            ),
            Cell::Choices(vec![
                Choice {
                    value: 1,
                    label: Some("Hot".into())
                },
                Choice {
                    value: 3,
                    label: Some("Cold".into())
                }
            ])
        );
        assert_eq!(
            Cell::of(
                &col("Virtual", Some("MultiSelectPicklistType")),
                &j(r#""""#)
            ),
            Cell::Choices(vec![])
        );
        assert_eq!(
            Cell::of(
                &col("Uniqueidentifier", None),
                &j(r#""6A3B1C2D-0000-4000-8000-00000000000A""#)
            ),
            Cell::Guid("6a3b1c2d-0000-4000-8000-00000000000a".into())
        );
        assert_eq!(Cell::of(&col("String", None), &j("null")), Cell::Null);
    }

    #[test]
    fn a_value_not_of_its_columns_shape_is_text_not_an_error() {
        let j = |s: &str| serde_json::from_str::<J>(s).unwrap();
        assert_eq!(
            Cell::of(&col("DateTime", None), &j(r#""next tuesday""#)),
            Cell::Text("next tuesday".into())
        );
        assert_eq!(
            Cell::of(
                &col("Virtual", Some("MultiSelectPicklistType")),
                &j(r#""1,x""#)
            ),
            Cell::Text("1,x".into())
        );
    }

    #[test]
    fn instants_print_as_the_web_api_writes_them() {
        assert_eq!(
            iso_instant(1_714_552_200_000).as_deref(),
            Some("2024-05-01T08:30:00Z")
        );
        assert_eq!(
            iso_instant(1_714_552_200_250).as_deref(),
            Some("2024-05-01T08:30:00.250Z")
        );
        assert_eq!(iso_instant(-1).as_deref(), Some("1969-12-31T23:59:59.999Z"));
    }
}
