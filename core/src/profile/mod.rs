//! The offline profile: which tables, columns and rows the phone keeps, and
//! how often each table syncs. Read from JSON (hand-written, or generated
//! from an app manifest by `manifest.rs`) and validated against the server's
//! schema (`validate.rs`) before any download. File formats: docs/profile.md.

mod filter;
mod manifest;
mod resolved;
mod schema;
mod validate;

pub use filter::{FilterExpr, parse_filter};
pub use manifest::{AppManifest, ManifestRead, ManifestScreen};
pub use resolved::{
    ChoiceOption, ColumnType, LookupRef, ResolvedColumn, ResolvedProfile, ResolvedTable, RowShape,
    SqlType,
};
pub use schema::{Attribute, LookupTarget, Schema, TableSchema};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

pub const DEFAULT_INTERVAL_MINUTES: u32 = 5;
pub const MIN_INTERVAL_MINUTES: u32 = 5;
pub const MAX_INTERVAL_MINUTES: u32 = 1440;

/// The whole profile: one entry per table, by entity set name (`accounts`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub tables: Vec<TableProfile>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableProfile {
    /// Entity set name, as in the Web API URL (`accounts`).
    pub name: String,
    /// Logical names of the columns the app uses. The key is always kept.
    #[serde(default)]
    pub columns: Vec<String>,
    #[serde(default)]
    pub rows: Rows,
    /// Delta sync interval in minutes, 5 to 1440.
    #[serde(
        default = "default_interval",
        skip_serializing_if = "is_default_interval"
    )]
    pub interval_minutes: u32,
}

fn default_interval() -> u32 {
    DEFAULT_INTERVAL_MINUTES
}

fn is_default_interval(v: &u32) -> bool {
    *v == DEFAULT_INTERVAL_MINUTES
}

/// Which rows of a table the phone keeps. The JSON forms are `"all"`,
/// `"owned"`, `"related"`, `{"filter": "<OData $filter>"}` (custom filter
/// ORed with related rows) and, for what manifests generate,
/// `{"filter": "...", "owned": true, "related": false}`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Rows {
    #[default]
    All,
    /// Any of: rows owned by the signed-in user, rows matching an OData
    /// filter, rows reached through lookups of other profile tables.
    Some {
        owned: bool,
        filter: Option<String>,
        related: bool,
    },
}

impl Rows {
    pub fn owned() -> Self {
        Rows::Some {
            owned: true,
            filter: None,
            related: false,
        }
    }
    pub fn related() -> Self {
        Rows::Some {
            owned: false,
            filter: None,
            related: true,
        }
    }
    /// A custom filter, ORed with related rows (as Power Apps does).
    pub fn filter(f: impl Into<String>) -> Self {
        Rows::Some {
            owned: false,
            filter: Some(f.into()),
            related: true,
        }
    }
    pub fn is_all(&self) -> bool {
        matches!(self, Rows::All)
    }
    pub fn is_related(&self) -> bool {
        matches!(self, Rows::Some { related: true, .. })
    }

    /// The union of two row choices (a manifest's screens reading one table).
    pub fn union(&self, other: &Rows) -> Rows {
        match (self, other) {
            (Rows::All, _) | (_, Rows::All) => Rows::All,
            (
                Rows::Some {
                    owned: o1,
                    filter: f1,
                    related: r1,
                },
                Rows::Some {
                    owned: o2,
                    filter: f2,
                    related: r2,
                },
            ) => {
                let filter = match (f1, f2) {
                    (Some(a), Some(b)) if a == b => Some(a.clone()),
                    (Some(a), Some(b)) => Some(format!("({a}) or ({b})")),
                    (Some(a), None) | (None, Some(a)) => Some(a.clone()),
                    (None, None) => None,
                };
                Rows::Some {
                    owned: *o1 || *o2,
                    filter,
                    related: *r1 || *r2,
                }
            }
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum RowsRepr {
    Kind(String),
    Spec {
        #[serde(default)]
        filter: Option<String>,
        #[serde(default)]
        owned: bool,
        #[serde(default = "yes")]
        related: bool,
    },
}

fn yes() -> bool {
    true
}

impl Serialize for Rows {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let repr = match self {
            Rows::All => RowsRepr::Kind("all".into()),
            Rows::Some {
                owned: true,
                filter: None,
                related: false,
            } => RowsRepr::Kind("owned".into()),
            Rows::Some {
                owned: false,
                filter: None,
                related: true,
            } => RowsRepr::Kind("related".into()),
            Rows::Some {
                owned,
                filter,
                related,
            } => RowsRepr::Spec {
                filter: filter.clone(),
                owned: *owned,
                related: *related,
            },
        };
        repr.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Rows {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        match RowsRepr::deserialize(d)? {
            RowsRepr::Kind(k) => match k.as_str() {
                "all" => Ok(Rows::All),
                "owned" => Ok(Rows::owned()),
                "related" => Ok(Rows::related()),
                other => Err(D::Error::custom(format!(
                    "unknown rows kind {other:?}: expected \"all\", \"owned\", \"related\" or {{\"filter\": ...}}"
                ))),
            },
            RowsRepr::Spec {
                filter,
                owned,
                related,
            } => {
                if filter.is_none() && !owned && !related {
                    return Err(D::Error::custom(
                        "rows selects nothing: give a filter, owned or related",
                    ));
                }
                Ok(Rows::Some {
                    owned,
                    filter,
                    related,
                })
            }
        }
    }
}

impl Profile {
    /// Parses the profile JSON (the hand-written form included).
    pub fn from_json(text: &str) -> Result<Profile> {
        let profile: Profile = serde_json::from_str(text)
            .map_err(|e| Error::Profile(format!("invalid profile JSON: {e}")))?;
        profile.check_shape()?;
        Ok(profile)
    }

    pub fn to_json(&self) -> String {
        // Serializing plain data cannot fail; fall back to an empty profile
        // rather than panic if it ever did.
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{\"tables\":[]}".into())
    }

    /// Checks that need no server: names, duplicates, intervals.
    pub fn check_shape(&self) -> Result<()> {
        if self.tables.is_empty() {
            return Err(Error::Profile("the profile lists no tables".into()));
        }
        let mut seen = std::collections::HashSet::new();
        for t in &self.tables {
            if !is_identifier(&t.name) {
                return Err(Error::Profile(format!(
                    "table name {:?} is not a valid entity set name",
                    t.name
                )));
            }
            if !seen.insert(t.name.as_str()) {
                return Err(Error::Profile(format!("table {} is listed twice", t.name)));
            }
            if !(MIN_INTERVAL_MINUTES..=MAX_INTERVAL_MINUTES).contains(&t.interval_minutes) {
                return Err(Error::Profile(format!(
                    "table {}: interval_minutes {} is outside {MIN_INTERVAL_MINUTES}..={MAX_INTERVAL_MINUTES}",
                    t.name, t.interval_minutes
                )));
            }
            let mut cols = std::collections::HashSet::new();
            for c in &t.columns {
                if !is_identifier(c) {
                    return Err(Error::Profile(format!(
                        "table {}: column name {c:?} is not valid",
                        t.name
                    )));
                }
                if !cols.insert(c.as_str()) {
                    return Err(Error::Profile(format!(
                        "table {}: column {c} is listed twice",
                        t.name
                    )));
                }
            }
            if let Rows::Some {
                filter: Some(f), ..
            } = &t.rows
            {
                parse_filter(f).map_err(|e| {
                    Error::Profile(format!(
                        "table {}: filter {f:?} does not parse: {e}",
                        t.name
                    ))
                })?;
            }
        }
        Ok(())
    }
}

/// Dataverse logical and entity set names: ASCII letters, digits, `_`.
/// Only such names ever reach SQL (quoted) or URLs.
pub(crate) fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !s.as_bytes()[0].is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_hand_written_form_parses() {
        let p = Profile::from_json(
            r#"{"tables":[{"name":"accounts","columns":["name","telephone1"],"rows":"all"}]}"#,
        )
        .unwrap();
        assert_eq!(p.tables[0].name, "accounts");
        assert_eq!(p.tables[0].rows, Rows::All);
        assert_eq!(p.tables[0].interval_minutes, 5);
    }

    #[test]
    fn every_rows_form_round_trips() {
        let text = r#"{"tables":[
            {"name":"a","rows":"all"},
            {"name":"b","rows":"owned"},
            {"name":"c","rows":"related"},
            {"name":"d","rows":{"filter":"statecode eq 0"}},
            {"name":"e","rows":{"filter":"statecode eq 0","owned":true,"related":false},"interval_minutes":60}
        ]}"#;
        let p = Profile::from_json(text).unwrap();
        assert_eq!(p.tables[3].rows, Rows::filter("statecode eq 0"));
        assert_eq!(
            p.tables[4].rows,
            Rows::Some {
                owned: true,
                filter: Some("statecode eq 0".into()),
                related: false
            }
        );
        let again = Profile::from_json(&p.to_json()).unwrap();
        assert_eq!(p, again);
    }

    #[test]
    fn shape_errors_name_the_culprit() {
        let e = Profile::from_json(r#"{"tables":[{"name":"a","rows":"mine"}]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("mine"), "{e}");
        let e = Profile::from_json(r#"{"tables":[{"name":"a","rows":{"filter":"name eq"}}]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("table a") && e.contains("name eq"), "{e}");
        let e = Profile::from_json(r#"{"tables":[{"name":"a","interval_minutes":2}]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("interval"), "{e}");
        let e = Profile::from_json(r#"{"tables":[{"name":"a","columns":["x;drop"]}]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("x;drop"), "{e}");
    }
}
