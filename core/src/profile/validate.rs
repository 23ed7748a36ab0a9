//! Checks a profile against the server's schema and resolves it into what
//! the store and the sync engines need: typed columns, wire names, lookup
//! targets and a sync order. Every error names the table, column or filter.

use std::collections::HashSet;

use super::resolved::SqlType;
use super::{
    LookupRef, Profile, ResolvedColumn, ResolvedProfile, ResolvedTable, Rows, Schema, TableSchema,
    parse_filter,
};
use crate::error::{Error, Result};

impl Profile {
    /// Validates against the server's schema: unknown tables, columns,
    /// filter columns and unreachable `related` tables are errors.
    pub fn resolve(&self, schema: &Schema) -> Result<ResolvedProfile> {
        self.check_shape()?;
        let mut tables = Vec::new();
        for t in &self.tables {
            let ts = schema.by_entity_set(&t.name).ok_or_else(|| {
                Error::Profile(format!("table {} does not exist on the server", t.name))
            })?;
            let mut columns = Vec::new();
            for c in &t.columns {
                if *c == ts.primary_id {
                    continue; // the key is always kept
                }
                let a = ts.attribute(c).ok_or_else(|| {
                    Error::Profile(format!(
                        "table {}: column {c} does not exist on the server",
                        t.name
                    ))
                })?;
                let sql_type =
                    SqlType::of(&a.attribute_type, a.type_name.as_deref()).ok_or_else(|| {
                        Error::Profile(format!(
                            "table {}: column {c} ({}) cannot be synced",
                            t.name, a.attribute_type
                        ))
                    })?;
                let mut col = column(c, sql_type, a.is_lookup(), false);
                col.writable_on_create = a.valid_for_create;
                col.writable_on_update = a.valid_for_update;
                col.attribute_type = a.attribute_type.clone();
                col.type_name = a.type_name.clone();
                for l in ts.lookups.iter().filter(|l| &l.attribute == c) {
                    let Some(target) = schema.by_logical_name(&l.target) else {
                        continue;
                    };
                    // Without a navigation name the single-target convention
                    // (navigation = attribute) is the documented default.
                    let navigation = l.navigation.clone().unwrap_or_else(|| c.clone());
                    col.targets.push(LookupRef {
                        entity_set: target.entity_set.clone(),
                        navigation,
                    });
                }
                columns.push(col);
            }
            if let Rows::Some { owned, filter, .. } = &t.rows {
                if *owned && ts.attribute("ownerid").is_none() {
                    return Err(Error::Profile(format!(
                        "table {}: rows \"owned\" but the table has no ownerid",
                        t.name
                    )));
                }
                if let Some(f) = filter {
                    let expr = parse_filter(f).map_err(|e| {
                        Error::Profile(format!(
                            "table {}: filter {f:?} does not parse: {e}",
                            t.name
                        ))
                    })?;
                    for col in expr.columns() {
                        if !filter_column_exists(ts, &col) {
                            return Err(Error::Profile(format!(
                                "table {}: filter {f:?} names column {col}, which does not exist on the server",
                                t.name
                            )));
                        }
                    }
                }
                // Filtered tables are kept current by a modifiedon high-water mark.
                if ts.attribute("modifiedon").is_none() {
                    return Err(Error::Profile(format!(
                        "table {}: filtered rows need a modifiedon column, which the table lacks",
                        t.name
                    )));
                }
                if !columns.iter().any(|c| c.name == "modifiedon") {
                    let mut c = column("modifiedon", SqlType::Text, false, true);
                    c.attribute_type = "DateTime".into();
                    columns.push(c);
                }
            }
            tables.push(ResolvedTable {
                name: t.name.clone(),
                logical_name: ts.logical_name.clone(),
                key: ts.primary_id.clone(),
                primary_name: ts.primary_name.clone(),
                columns,
                rows: t.rows.clone(),
                interval_minutes: t.interval_minutes,
                referenced_by: Vec::new(),
            });
        }
        // Who points at whom, through the lookup columns the profile keeps.
        for i in 0..tables.len() {
            let ts = schema
                .by_entity_set(&tables[i].name)
                .cloned()
                .unwrap_or_default();
            for c in tables[i].columns.clone() {
                if !c.is_lookup {
                    continue;
                }
                for l in ts.lookups.iter().filter(|l| l.attribute == c.name) {
                    let Some(target) = schema.by_logical_name(&l.target) else {
                        continue;
                    };
                    if let Some(j) = tables.iter().position(|t| t.name == target.entity_set) {
                        let entry = (tables[i].name.clone(), c.name.clone());
                        if !tables[j].referenced_by.contains(&entry) {
                            tables[j].referenced_by.push(entry);
                        }
                    }
                }
            }
        }
        for t in &tables {
            if matches!(
                t.rows,
                Rows::Some {
                    owned: false,
                    filter: None,
                    related: true
                }
            ) && t.referenced_by.is_empty()
            {
                return Err(Error::Profile(format!(
                    "table {}: rows \"related\" but no other profile table keeps a lookup column pointing at it",
                    t.name
                )));
            }
        }
        Ok(ResolvedProfile {
            tables: sync_order(tables),
        })
    }
}

fn column(name: &str, sql_type: SqlType, is_lookup: bool, hidden: bool) -> ResolvedColumn {
    ResolvedColumn {
        name: name.to_string(),
        wire: if is_lookup {
            format!("_{name}_value")
        } else {
            name.to_string()
        },
        sql_type,
        is_lookup,
        hidden,
        // Hidden columns are Mooring's, never the app's to write.
        writable_on_create: !hidden,
        writable_on_update: !hidden,
        targets: Vec::new(),
        attribute_type: String::new(),
        type_name: None,
        options: None,
    }
}

/// Filters name lookups by their wire name (`_ownerid_value`) or plainly.
fn filter_column_exists(ts: &TableSchema, col: &str) -> bool {
    if ts.attribute(col).is_some() {
        return true;
    }
    col.strip_prefix('_')
        .and_then(|c| c.strip_suffix("_value"))
        .and_then(|c| ts.attribute(c))
        .is_some_and(|a| a.is_lookup())
}

/// Tables without `related` rows first (profile order), then related ones,
/// each after the related tables pointing at it when there is no cycle.
fn sync_order(tables: Vec<ResolvedTable>) -> Vec<ResolvedTable> {
    let (mut out, mut rest): (Vec<_>, Vec<_>) =
        tables.into_iter().partition(|t| !t.rows.is_related());
    while !rest.is_empty() {
        let pending: HashSet<String> = rest.iter().map(|t| t.name.clone()).collect();
        let ready = rest
            .iter()
            .position(|t| {
                t.referenced_by
                    .iter()
                    .all(|(from, _)| from == &t.name || !pending.contains(from))
            })
            .unwrap_or(0);
        out.push(rest.remove(ready));
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::profile::{Attribute, LookupTarget};

    fn attr(n: &str, t: &str) -> Attribute {
        Attribute {
            logical_name: n.into(),
            attribute_type: t.into(),
            type_name: None,
            valid_for_create: true,
            valid_for_update: true,
            display_name: None,
        }
    }

    pub(crate) fn sample_schema() -> Schema {
        let common = |extra: Vec<Attribute>| {
            let mut v = vec![
                attr("ownerid", "Owner"),
                attr("modifiedon", "DateTime"),
                attr("createdon", "DateTime"),
                attr("versionnumber", "BigInt"),
            ];
            v.extend(extra);
            v
        };
        Schema {
            tables: vec![
                TableSchema {
                    logical_name: "account".into(),
                    entity_set: "accounts".into(),
                    primary_id: "accountid".into(),
                    primary_name: Some("name".into()),
                    attributes: common(vec![
                        attr("accountid", "Uniqueidentifier"),
                        attr("name", "String"),
                        attr("revenue", "Money"),
                        attr("numberofemployees", "Integer"),
                    ]),
                    lookups: vec![LookupTarget {
                        attribute: "ownerid".into(),
                        target: "systemuser".into(),
                        navigation: None,
                    }],
                },
                TableSchema {
                    logical_name: "contact".into(),
                    entity_set: "contacts".into(),
                    primary_id: "contactid".into(),
                    primary_name: Some("fullname".into()),
                    attributes: common(vec![
                        attr("contactid", "Uniqueidentifier"),
                        attr("firstname", "String"),
                        attr("parentcustomerid", "Customer"),
                    ]),
                    lookups: vec![LookupTarget {
                        attribute: "parentcustomerid".into(),
                        target: "account".into(),
                        navigation: None,
                    }],
                },
            ],
        }
    }

    #[test]
    fn resolves_types_lookups_and_order() {
        let p = Profile::from_json(
            r#"{"tables":[{"name":"accounts","columns":["name","revenue"],"rows":"related"},
            {"name":"contacts","columns":["firstname","parentcustomerid"],"rows":"owned"}]}"#,
        )
        .unwrap();
        let r = p.resolve(&sample_schema()).unwrap();
        assert_eq!(
            r.tables[0].name, "contacts",
            "related tables sync after their referrers"
        );
        let contacts = &r.tables[0];
        assert_eq!(
            contacts.column("parentcustomerid").unwrap().wire,
            "_parentcustomerid_value"
        );
        assert!(contacts.column("modifiedon").unwrap().hidden);
        let accounts = &r.tables[1];
        assert_eq!(accounts.column("revenue").unwrap().sql_type, SqlType::Real);
        assert_eq!(
            accounts.referenced_by,
            vec![("contacts".to_string(), "parentcustomerid".to_string())]
        );
    }

    #[test]
    fn errors_name_what_is_wrong() {
        let s = sample_schema();
        let cases = [
            (r#"{"tables":[{"name":"nope","rows":"all"}]}"#, "table nope"),
            (
                r#"{"tables":[{"name":"accounts","columns":["nme"]}]}"#,
                "column nme",
            ),
            (
                r#"{"tables":[{"name":"accounts","rows":{"filter":"bogus eq 1"}}]}"#,
                "column bogus",
            ),
            (
                r#"{"tables":[{"name":"accounts","rows":"related"}]}"#,
                "table accounts",
            ),
        ];
        for (text, needle) in cases {
            let e = Profile::from_json(text)
                .unwrap()
                .resolve(&s)
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{e} should mention {needle}");
        }
        let ok = Profile::from_json(
            r#"{"tables":[{"name":"accounts","rows":{"filter":"_ownerid_value ne null"}}]}"#,
        )
        .unwrap();
        ok.resolve(&s).unwrap();
    }
}
