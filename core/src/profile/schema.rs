//! What the server says its tables look like (from `EntityDefinitions`): the
//! facts profile validation and the store's column types are built from.
//! Plain data: `remote/metadata.rs` fills it, nothing here does I/O.

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Schema {
    pub tables: Vec<TableSchema>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableSchema {
    /// `account`: what RetrieveTotalRecordCount and relationships use.
    pub logical_name: String,
    /// `accounts`: what URLs and profiles use.
    pub entity_set: String,
    /// `accountid`.
    pub primary_id: String,
    /// `name`: what a lookup-only table keeps besides its key.
    pub primary_name: Option<String>,
    pub attributes: Vec<Attribute>,
    pub lookups: Vec<LookupTarget>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attribute {
    pub logical_name: String,
    /// Dataverse `AttributeType`: String, Integer, Lookup, DateTime, ...
    pub attribute_type: String,
    /// `AttributeTypeName.Value` (`MultiSelectPicklistType`), when sent.
    pub type_name: Option<String>,
    /// `IsValidForCreate` / `IsValidForUpdate` (true when the server does
    /// not say): local writes to other columns are refused up front.
    pub valid_for_create: bool,
    pub valid_for_update: bool,
    /// The column's display name in the user's language (`Account Name`),
    /// when read: only [`crate::Remote::display_names`] asks for labels
    /// (sync does not need them).
    pub display_name: Option<String>,
}

/// One many-to-one relationship: `attribute` of this table points at a row
/// of the table whose logical name is `target`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LookupTarget {
    pub attribute: String,
    pub target: String,
    /// `ReferencingEntityNavigationPropertyName`: what a write binds
    /// (`parentcustomerid_account@odata.bind`).
    pub navigation: Option<String>,
}

impl Schema {
    pub fn by_entity_set(&self, name: &str) -> Option<&TableSchema> {
        self.tables.iter().find(|t| t.entity_set == name)
    }

    pub fn by_logical_name(&self, name: &str) -> Option<&TableSchema> {
        self.tables.iter().find(|t| t.logical_name == name)
    }
}

impl TableSchema {
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.logical_name == name)
    }
}

impl Attribute {
    /// Lookups travel as `_<name>_value` in the Web API.
    pub fn is_lookup(&self) -> bool {
        matches!(
            self.attribute_type.as_str(),
            "Lookup" | "Customer" | "Owner"
        )
    }
}
