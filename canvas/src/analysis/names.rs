//! Names to Dataverse: a column by display or logical name, the table a
//! lookup points at. Formulas use display names (`'Date Worked'`), string
//! arguments and `DataField` use logical names (`"new_dateworked"`).

use super::Table;

/// System lookups whose target every Dataverse table agrees on.
const SYSTEM_LOOKUPS: [(&str, &str); 8] = [
    ("createdby", "systemuser"),
    ("modifiedby", "systemuser"),
    ("createdonbehalfby", "systemuser"),
    ("modifiedonbehalfby", "systemuser"),
    ("owninguser", "systemuser"),
    ("owningteam", "team"),
    ("owningbusinessunit", "businessunit"),
    // Owner is polymorphic (user or team); its rows are the user's own.
    ("ownerid", "systemuser"),
];

impl Table {
    /// The logical name of column `name` (display name first, then
    /// logical). Without a name map (YAML v3 with no server metadata) a
    /// name written like a logical name is taken as one.
    pub fn column(&self, name: &str) -> Option<String> {
        if let Some(l) = self.by_display.get(name) {
            return Some(l.clone());
        }
        let lower = name.to_ascii_lowercase();
        let lower = match lower
            .strip_prefix('_')
            .and_then(|x| x.strip_suffix("_value"))
        {
            Some(inner) => inner.to_string(),
            None => lower,
        };
        if self.ds.columns.contains_key(&lower) {
            return Some(lower);
        }
        if self.ds.columns.is_empty()
            && !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Some(lower);
        }
        None
    }

    pub fn display(&self, logical: &str) -> Option<String> {
        self.ds.columns.get(logical).cloned()
    }

    /// A relationship navigation (`'Security Roles (systemuserroles_association)'`).
    pub fn navigation(&self, name: &str) -> Option<String> {
        self.ds
            .navigations
            .iter()
            .find(|(k, d)| d.as_str() == name || k.as_str() == name)
            .map(|(k, _)| k.clone())
    }

    pub fn primary_id(&self) -> String {
        self.ds
            .primary_id
            .clone()
            .unwrap_or_else(|| format!("{}id", self.ds.logical_name))
    }
}

/// The table lookup `column` of `from` points at, given the field read
/// through it next (`Venue.Account`). In order: what metadata says; the
/// system lookups; a declared table whose logical name is the lookup's
/// (`poha_event`, `businessunitid` → `businessunit`); a declared table
/// whose key carries the field's name (`Venue.Account`: the key of
/// Accounts is called `Account`) or the lookup's (`'Business Unit'`);
/// the one other declared table with a column of the field's name.
pub fn lookup_target(tables: &[Table], from: usize, column: &str, field: &str) -> Option<usize> {
    let by_logical = |l: &str| tables.iter().position(|t| t.ds.logical_name == l);
    let t = &tables[from];
    if let Some(targets) = t.ds.lookup_targets.get(column) {
        // A polymorphic lookup: the target that has the field read next.
        let declared: Vec<usize> = targets.iter().filter_map(|x| by_logical(x)).collect();
        return declared
            .iter()
            .copied()
            .find(|&i| tables[i].column(field).is_some())
            .or(declared.first().copied());
    }
    if let Some((_, target)) = SYSTEM_LOOKUPS.iter().find(|(c, _)| *c == column) {
        return by_logical(target);
    }
    if let Some(i) = by_logical(column) {
        return Some(i);
    }
    if let Some(i) = column.strip_suffix("id").and_then(by_logical) {
        return Some(i);
    }
    let key_named = |n: &str| {
        tables
            .iter()
            .position(|x| x.ds.columns.get(&x.primary_id()).is_some_and(|d| d == n))
    };
    if let Some(i) = key_named(field) {
        return Some(i);
    }
    if let Some(i) = t.display(column).and_then(|d| key_named(&d)) {
        return Some(i);
    }
    // Last: the one other declared table with a column of that name.
    let mut having = (0..tables.len())
        .filter(|&i| i != from && tables[i].ds.columns.values().any(|d| d == field));
    match (having.next(), having.next()) {
        (Some(i), None) => Some(i),
        _ => None,
    }
}
