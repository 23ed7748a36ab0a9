//! Typed rows (`cell::Cell`) from the app's reads: each value typed by its
//! column in the resolved profile, and each lookup told which profile
//! table holds the related row and that row's primary name, both read
//! from the mirror in the same reader (so offline, and for rows created
//! locally, too).

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension};

use super::{Row, Store, q};
use crate::cell::{Cell, TypedRow};
use crate::error::Result;
use crate::profile::{ResolvedColumn, ResolvedProfile, ResolvedTable};

impl Store {
    /// `rows` of `table` (as `get`/`query` give them), typed. Without a
    /// resolved profile (never connected) or for a column it does not
    /// know, values keep their stored kind (`Cell::untyped`).
    pub fn type_rows(
        &self,
        profile: Option<&ResolvedProfile>,
        table: &str,
        rows: Vec<Row>,
    ) -> Result<Vec<TypedRow>> {
        let t = profile.and_then(|p| p.tables.iter().find(|t| t.name == table));
        let needs_names = t.is_some_and(|t| t.columns.iter().any(|c| c.is_lookup));
        if !needs_names {
            return Ok(rows
                .into_iter()
                .map(|r| type_row(t, r, &mut |_, _| None))
                .collect());
        }
        let profile = profile.expect("a table was found in it");
        self.with_reader(|c| {
            let mut names = Namer {
                c,
                profile,
                seen: HashMap::new(),
            };
            Ok(rows
                .into_iter()
                .map(|r| type_row(t, r, &mut |col, id| names.name(col, id)))
                .collect())
        })
    }
}

/// Where a lookup's related row is: its profile table, and its primary
/// name when the mirror keeps that column.
type Related = Option<(String, Option<String>)>;

/// The key first, then the profile's columns in order, then anything else
/// the row holds (a column the mirror has and the profile left).
fn type_row(
    t: Option<&ResolvedTable>,
    mut row: Row,
    name: &mut dyn FnMut(&ResolvedColumn, &str) -> Related,
) -> TypedRow {
    let mut out = Vec::with_capacity(row.len());
    let Some(t) = t else {
        return row
            .iter()
            .map(|(k, v)| (k.clone(), Cell::untyped(v)))
            .collect();
    };
    if let Some(key) = row.remove(&t.key) {
        out.push((t.key.clone(), Cell::of_key(&key)));
    }
    for c in &t.columns {
        let Some(v) = row.remove(&c.name) else {
            continue;
        };
        let mut cell = Cell::of(c, &v);
        if let Cell::Lookup(l) = &mut cell {
            if let Some((table, n)) = name(c, &l.id) {
                l.table = Some(table);
                l.name = n;
            }
        }
        out.push((c.name.clone(), cell));
    }
    out.extend(row.iter().map(|(k, v)| (k.clone(), Cell::untyped(v))));
    out
}

/// Finds the related rows of lookups, once per (column, id) in one read.
struct Namer<'a> {
    c: &'a Connection,
    profile: &'a ResolvedProfile,
    seen: HashMap<(String, String), Related>,
}

impl Namer<'_> {
    fn name(&mut self, col: &ResolvedColumn, id: &str) -> Related {
        let k = (col.name.clone(), id.to_string());
        if let Some(hit) = self.seen.get(&k) {
            return hit.clone();
        }
        let found = self.find(col, id);
        self.seen.insert(k, found.clone());
        found
    }

    fn find(&self, col: &ResolvedColumn, id: &str) -> Related {
        for target in &col.targets {
            let Some(t) = self
                .profile
                .tables
                .iter()
                .find(|t| t.name == target.entity_set)
            else {
                continue;
            };
            let kept_name = t.primary_name.as_deref().filter(|n| t.column(n).is_some());
            let what = kept_name.map(q).unwrap_or_else(|| "NULL".into());
            let sql = format!("SELECT {what} FROM {} WHERE {} = ?1", q(&t.name), q(&t.key));
            // A table the mirror has not created yet (first sync running)
            // holds nothing: the next target is tried.
            let Ok(mut stmt) = self.c.prepare_cached(&sql) else {
                continue;
            };
            let hit: Option<Option<String>> = stmt
                .query_row([id.to_ascii_lowercase()], |r| r.get(0))
                .optional()
                .ok()
                .flatten();
            if let Some(name) = hit {
                return Some((t.name.clone(), name));
            }
        }
        None
    }
}

impl Cell {
    /// The key column: a GUID.
    fn of_key(v: &serde_json::Value) -> Cell {
        match v.as_str().and_then(|s| uuid::Uuid::parse_str(s).ok()) {
            Some(u) => Cell::Guid(u.to_string()),
            None => Cell::untyped(v),
        }
    }
}
