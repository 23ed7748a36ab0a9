//! The offline profile resolved against the server's schema (`validate.rs`
//! makes it): typed columns with their wire names and lookup targets, in
//! sync order. What the store, the sync engines and the outbox read, and
//! `RowShape`, which says which value of a row belongs to which column.

use super::Rows;
use crate::value::{RowData, Value};

/// SQLite column types the mirror uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SqlType {
    Text,
    Integer,
    Real,
}

impl SqlType {
    pub fn sql(self) -> &'static str {
        match self {
            SqlType::Text => "TEXT",
            SqlType::Integer => "INTEGER",
            SqlType::Real => "REAL",
        }
    }

    /// `type_name` is `AttributeTypeName.Value`: a multi-select choice
    /// column is `Virtual` by type but selectable (as `"1,2"` text).
    pub(crate) fn of(attribute_type: &str, type_name: Option<&str>) -> Option<SqlType> {
        Some(match attribute_type {
            "Integer" | "BigInt" | "Picklist" | "State" | "Status" | "Boolean" => SqlType::Integer,
            "Decimal" | "Double" | "Money" => SqlType::Real,
            "Virtual" if type_name == Some(MULTI_SELECT) => SqlType::Text,
            // Things no client can $select as a plain value.
            "Virtual" | "PartyList" | "CalendarRules" | "ManagedProperty" => return None,
            _ => SqlType::Text,
        })
    }
}

/// `AttributeTypeName` of a multi-select choice column ("choices").
pub(crate) const MULTI_SELECT: &str = "MultiSelectPicklistType";

/// What a column holds, as the app reads it (`value::Cell`): the server's
/// attribute type, reduced to the kinds a native type exists for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ColumnType {
    /// String, Memo, EntityName and anything unknown: text.
    Text,
    /// Integer, BigInt.
    Integer,
    /// Decimal, Money (stored as a double: Dataverse money has 4 decimals).
    Decimal,
    /// Double.
    Float,
    Boolean,
    /// An instant, or a date when the column's behavior is date-only (the
    /// server then sends `2024-05-01` without a time).
    DateTime,
    /// Picklist, State, Status: one option value with its label.
    Choice,
    /// A multi-select choice column: option values with their labels.
    Choices,
    /// Uniqueidentifier.
    Guid,
    /// Lookup, Customer, Owner: the related row's id.
    Lookup,
}

impl ColumnType {
    pub fn of(attribute_type: &str, type_name: Option<&str>) -> ColumnType {
        match attribute_type {
            "Integer" | "BigInt" => ColumnType::Integer,
            "Decimal" | "Money" => ColumnType::Decimal,
            "Double" => ColumnType::Float,
            "Boolean" => ColumnType::Boolean,
            "DateTime" => ColumnType::DateTime,
            "Picklist" | "State" | "Status" => ColumnType::Choice,
            "Virtual" if type_name == Some(MULTI_SELECT) => ColumnType::Choices,
            "Uniqueidentifier" => ColumnType::Guid,
            "Lookup" | "Customer" | "Owner" => ColumnType::Lookup,
            _ => ColumnType::Text,
        }
    }

    /// The metadata type whose `OptionSet` holds this column's labels
    /// (`EntityDefinitions(...)/Attributes/Microsoft.Dynamics.CRM.<it>`).
    pub(crate) fn option_set_metadata(
        attribute_type: &str,
        type_name: Option<&str>,
    ) -> Option<&'static str> {
        Some(match attribute_type {
            "Picklist" => "PicklistAttributeMetadata",
            "State" => "StateAttributeMetadata",
            "Status" => "StatusAttributeMetadata",
            "Virtual" if type_name == Some(MULTI_SELECT) => "MultiSelectPicklistAttributeMetadata",
            _ => return None,
        })
    }
}

/// One option of a choice column: its value and its label in the user's
/// language.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ChoiceOption {
    pub value: i64,
    pub label: String,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ResolvedProfile {
    /// In sync order: tables that `related` tables depend on come first.
    pub tables: Vec<ResolvedTable>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ResolvedTable {
    /// Entity set name: URL segment and local SQLite table name.
    pub name: String,
    pub logical_name: String,
    /// The primary id column (`accountid`), the local primary key.
    pub key: String,
    /// The primary name column (`name`), which names a row a lookup points
    /// at; None when the server has none. (Absent from profiles remembered
    /// by earlier builds: the next connection fills it.)
    #[serde(default)]
    pub primary_name: Option<String>,
    pub columns: Vec<ResolvedColumn>,
    pub rows: Rows,
    pub interval_minutes: u32,
    /// `(table, column)` of other profile tables whose lookups point here:
    /// how `related` rows are reached.
    pub referenced_by: Vec<(String, String)>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ResolvedColumn {
    /// Logical name, also the local column name.
    pub name: String,
    /// Property name on the wire (`_parentcustomerid_value` for lookups).
    pub wire: String,
    pub sql_type: SqlType,
    pub is_lookup: bool,
    /// Added by Mooring (e.g. `modifiedon` for filtered tables), not asked
    /// for by the profile.
    pub hidden: bool,
    /// Local writes may set it on create / on update (the server's
    /// `IsValidForCreate` / `IsValidForUpdate`).
    pub writable_on_create: bool,
    pub writable_on_update: bool,
    /// Lookups: what the column may point at, as the outbox binds it.
    pub targets: Vec<LookupRef>,
    /// Dataverse `AttributeType` (`Boolean` travels as true/false).
    pub attribute_type: String,
    /// Dataverse `AttributeTypeName.Value` (`MultiSelectPicklistType`).
    #[serde(default)]
    pub type_name: Option<String>,
    /// Choice columns: the options with their labels once read from the
    /// server's metadata; None when not read (yet, or not a choice).
    #[serde(default)]
    pub options: Option<Vec<ChoiceOption>>,
}

impl ResolvedColumn {
    /// What the column holds for the app.
    pub fn column_type(&self) -> ColumnType {
        ColumnType::of(&self.attribute_type, self.type_name.as_deref())
    }

    /// The label of option `value`, when the labels are known.
    pub fn label(&self, value: i64) -> Option<&str> {
        self.options
            .as_ref()?
            .iter()
            .find(|o| o.value == value)
            .map(|o| o.label.as_str())
    }
}

/// One table a lookup column may point at.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LookupRef {
    /// Entity set of the target (`accounts`), for `/accounts(<id>)`.
    pub entity_set: String,
    /// Navigation property a write binds (`parentcustomerid_account`).
    pub navigation: String,
}

impl ResolvedTable {
    /// Tables read with change tracking (no server-side filter).
    pub fn tracks_changes(&self) -> bool {
        self.rows.is_all()
    }

    pub fn column(&self, name: &str) -> Option<&ResolvedColumn> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// What a stored mirror compares to decide on a migration: the columns
    /// with their types, and the row choice.
    pub fn columns_signature(&self) -> String {
        let cols: Vec<String> = self
            .columns
            .iter()
            .map(|c| format!("{}:{}", c.name, c.sql_type.sql()))
            .collect();
        format!("{}|{}", self.key, cols.join(","))
    }

    pub fn rows_signature(&self) -> String {
        serde_json::to_string(&self.rows).unwrap_or_default()
    }
}

impl ResolvedTable {
    /// `$select` for the table: the key, then the columns' wire names.
    pub fn select_list(&self) -> String {
        let mut v = vec![self.key.clone()];
        v.extend(self.columns.iter().map(|c| c.wire.clone()));
        v.join(",")
    }

    /// The table's row layout.
    pub fn shape(&self) -> RowShape<'_> {
        RowShape { table: self }
    }
}

/// A table's row layout: `RowData::values[i]` is the value of
/// `table.columns[i]`. Every reader and writer of row values goes through
/// it, so that pairing lives in one place.
#[derive(Clone, Copy, Debug)]
pub struct RowShape<'t> {
    table: &'t ResolvedTable,
}

impl<'t> RowShape<'t> {
    pub fn table(&self) -> &'t ResolvedTable {
        self.table
    }

    /// Values per row.
    pub fn width(&self) -> usize {
        self.table.columns.len()
    }

    /// Each column with its value; a short row's missing values are NULL.
    pub fn cells<'r>(
        &self,
        row: &'r RowData,
    ) -> impl Iterator<Item = (&'t ResolvedColumn, &'r Value)> + use<'t, 'r> {
        const NULL: &Value = &Value::Null;
        self.table
            .columns
            .iter()
            .enumerate()
            .map(move |(i, c)| (c, row.values.get(i).unwrap_or(NULL)))
    }

    /// The value of the column named `name` (logical name); None when the
    /// profile has no such column.
    pub fn value<'r>(&self, row: &'r RowData, name: &str) -> Option<&'r Value> {
        self.cells(row)
            .find(|(c, _)| c.name == name)
            .map(|(_, v)| v)
    }

    /// A row in read shape (an object of wire names, as a GET or
    /// `return=representation` gives it); None without its key.
    pub fn row_from_json(&self, m: &serde_json::Map<String, serde_json::Value>) -> Option<RowData> {
        let key = m.get(&self.table.key)?.as_str()?.to_ascii_lowercase();
        let etag = m
            .get("@odata.etag")
            .and_then(|v| v.as_str())
            .map(str::to_string);
        let values = self
            .table
            .columns
            .iter()
            .map(|c| {
                Value::from_json(
                    c.sql_type,
                    m.get(&c.wire).unwrap_or(&serde_json::Value::Null),
                )
            })
            .collect();
        Some(RowData { key, etag, values })
    }

    /// The columns' wire names with their types, in column order (what the
    /// page parser keeps).
    pub fn wire_columns(&self) -> Vec<(String, SqlType)> {
        self.table
            .columns
            .iter()
            .map(|c| (c.wire.clone(), c.sql_type))
            .collect()
    }
}
