//! App manifest → profile: the union, per table, of what the app's screens
//! read, plus the tables their lookup columns point at (kept as `related`
//! rows so a screen can show the name behind a lookup offline).

use serde::{Deserialize, Serialize};

use super::{DEFAULT_INTERVAL_MINUTES, Profile, Rows, Schema, TableProfile};
use crate::error::{Error, Result};

/// What an app declares it reads. Format and example: docs/profile.md.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppManifest {
    #[serde(default)]
    pub app: Option<String>,
    pub screens: Vec<ManifestScreen>,
    /// Per-table sync intervals, by entity set name.
    #[serde(default)]
    pub intervals: std::collections::BTreeMap<String, u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestScreen {
    pub name: String,
    pub reads: Vec<ManifestRead>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestRead {
    pub table: String,
    #[serde(default)]
    pub columns: Vec<String>,
    /// An OData filter the screen applies; absent (and no `rows`) = all rows.
    #[serde(default)]
    pub filter: Option<String>,
    /// Explicit row choice (same forms as the profile's `rows`).
    #[serde(default)]
    pub rows: Option<Rows>,
}

impl AppManifest {
    pub fn from_json(text: &str) -> Result<AppManifest> {
        serde_json::from_str(text)
            .map_err(|e| Error::Profile(format!("invalid app manifest JSON: {e}")))
    }

    /// The profile this app needs, validated shape-wise (resolve it against
    /// the server before use).
    pub fn to_profile(&self, schema: &Schema) -> Result<Profile> {
        let mut tables: Vec<TableProfile> = Vec::new();
        for screen in &self.screens {
            for read in &screen.reads {
                let rows = match (&read.rows, &read.filter) {
                    (Some(r), None) => r.clone(),
                    (Some(r), Some(f)) => r.union(&Rows::Some {
                        owned: false,
                        filter: Some(f.clone()),
                        related: false,
                    }),
                    (None, Some(f)) => Rows::Some {
                        owned: false,
                        filter: Some(f.clone()),
                        related: false,
                    },
                    (None, None) => Rows::All,
                };
                merge(&mut tables, &read.table, &read.columns, rows);
            }
        }
        // Tables that lookups point at: keep the rows reached (and their name).
        let mut i = 0;
        while i < tables.len() {
            let Some(ts) = schema.by_entity_set(&tables[i].name) else {
                return Err(Error::Profile(format!(
                    "app manifest: table {} does not exist on the server",
                    tables[i].name
                )));
            };
            let lookup_cols: Vec<String> = tables[i].columns.clone();
            for c in lookup_cols {
                for l in ts.lookups.iter().filter(|l| l.attribute == c) {
                    let Some(target) = schema.by_logical_name(&l.target) else {
                        continue;
                    };
                    if target.entity_set == ts.entity_set {
                        continue;
                    }
                    let cols: Vec<String> = target.primary_name.iter().cloned().collect();
                    merge(&mut tables, &target.entity_set, &cols, Rows::related());
                }
            }
            i += 1;
        }
        for t in &mut tables {
            if let Some(&m) = self.intervals.get(&t.name) {
                t.interval_minutes = m;
            }
        }
        let profile = Profile { tables };
        profile.check_shape()?;
        Ok(profile)
    }
}

fn merge(tables: &mut Vec<TableProfile>, name: &str, columns: &[String], rows: Rows) {
    if let Some(t) = tables.iter_mut().find(|t| t.name == name) {
        for c in columns {
            if !t.columns.contains(c) {
                t.columns.push(c.clone());
            }
        }
        t.rows = t.rows.union(&rows);
    } else {
        tables.push(TableProfile {
            name: name.to_string(),
            columns: columns.to_vec(),
            rows,
            interval_minutes: DEFAULT_INTERVAL_MINUTES,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::validate::tests::sample_schema;

    #[test]
    fn union_per_table_plus_lookup_targets() {
        let m = AppManifest::from_json(
            r#"{"app":"Sales","screens":[
              {"name":"My contacts","reads":[{"table":"contacts","columns":["firstname","parentcustomerid"],"rows":"owned"}]},
              {"name":"Contact detail","reads":[{"table":"contacts","columns":["firstname","modifiedon"],"filter":"firstname eq 'Ann'"}]}
            ],"intervals":{"contacts":15}}"#,
        )
        .unwrap();
        let p = m.to_profile(&sample_schema()).unwrap();
        assert_eq!(p.tables.len(), 2);
        let c = &p.tables[0];
        assert_eq!(
            c.columns,
            vec!["firstname", "parentcustomerid", "modifiedon"]
        );
        assert_eq!(
            c.rows,
            Rows::Some {
                owned: true,
                filter: Some("firstname eq 'Ann'".into()),
                related: false
            }
        );
        assert_eq!(c.interval_minutes, 15);
        let a = &p.tables[1];
        assert_eq!(
            (a.name.as_str(), a.columns.clone(), a.rows.clone()),
            ("accounts", vec!["name".to_string()], Rows::related())
        );
        p.resolve(&sample_schema()).unwrap();
    }
}
