//! What the server must hold at the end of a trial, from the documented
//! rules (`docs/outbox.md`) alone: pure logic, no I/O. Cells are the
//! normalised text of `common::norm` ("null" for none).
//!
//! The rules it applies:
//! - last write wins per column, and a local change not yet uploaded counts
//!   as later than any server edit: a server edit of a column the row's
//!   pending change holds is overwritten by the upload; other columns keep
//!   the server's value;
//! - a server delete of a row with a pending update: the update fails with
//!   404 and becomes a sync error; with a pending create whose upload
//!   landed but was never acknowledged (a killed run): the retried upsert
//!   brings the row back with the create's columns; with a pending delete:
//!   nothing more to do;
//! - a local update of a row the server already deleted (the mirror had not
//!   heard yet) is a sync error too; a local delete of it is done.
//!
//! Which changes are still pending is observed between process runs from
//! the outbox (`observe`): uploads only happen inside runs, so between runs
//! the model knows exactly.

use std::collections::{BTreeMap, BTreeSet};

use super::schedule::{Table, Val};

pub type Cells = BTreeMap<&'static str, String>;
pub type Key = (Table, String);

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pending {
    /// A local create (with the columns it carries).
    Create(BTreeSet<&'static str>),
    /// A local update; `doomed` when the server deleted the row.
    Update {
        cols: BTreeSet<&'static str>,
        doomed: bool,
    },
    Delete,
}

#[derive(Default, Debug)]
pub struct Model {
    rows: BTreeMap<Key, Cells>,
    pending: BTreeMap<Key, Pending>,
    errors: BTreeSet<Key>,
}

pub fn cell(v: &Val) -> String {
    match v {
        Val::Text(s) => s.clone(),
        Val::Int(i) => format!("{}", *i as f64),
    }
}

fn full_row(table: Table, values: &[(&'static str, Val)]) -> Cells {
    let mut row: Cells = table
        .columns()
        .iter()
        .map(|c| (*c, "null".to_string()))
        .collect();
    for (c, v) in values {
        row.insert(c, cell(v));
    }
    row
}

impl Model {
    /// Starts from the server's rows (the seeded data).
    pub fn new(server: impl IntoIterator<Item = (Key, Cells)>) -> Model {
        Model {
            rows: server.into_iter().collect(),
            ..Model::default()
        }
    }

    pub fn rows(&self, table: Table) -> BTreeMap<String, Cells> {
        self.rows
            .iter()
            .filter(|((t, _), _)| *t == table)
            .map(|((_, id), r)| (id.clone(), r.clone()))
            .collect()
    }

    pub fn is_pending(&self, key: &Key) -> bool {
        self.pending.contains_key(key)
    }

    /// Sync errors the uploads must have recorded (404 of updates).
    pub fn errors(&self) -> &BTreeSet<Key> {
        &self.errors
    }

    /// Rows the server has that the model does not expect, or the reverse,
    /// surface at the end; here only what the uploads will do.
    pub fn local_create(&mut self, key: Key, values: &[(&'static str, Val)]) {
        let cols = values.iter().map(|(c, _)| *c).collect();
        self.rows.insert(key.clone(), full_row(key.0, values));
        self.pending.insert(key, Pending::Create(cols));
    }

    /// A local update the outbox accepted.
    pub fn local_update(&mut self, key: Key, values: &[(&'static str, Val)]) -> Result<(), String> {
        let new: BTreeSet<&'static str> = values.iter().map(|(c, _)| *c).collect();
        let exists = self.rows.contains_key(&key);
        let next = match self.pending.remove(&key) {
            Some(Pending::Create(mut cols)) => {
                cols.extend(new);
                Pending::Create(cols)
            }
            Some(Pending::Update { mut cols, doomed }) => {
                cols.extend(new);
                Pending::Update { cols, doomed }
            }
            None => Pending::Update {
                cols: new,
                doomed: !exists,
            },
            Some(Pending::Delete) => {
                return Err(format!(
                    "{} {}: the outbox accepted an update of a row deleted locally",
                    key.0.set(),
                    key.1
                ));
            }
        };
        if let Some(row) = self.rows.get_mut(&key) {
            for (c, v) in values {
                row.insert(c, cell(v));
            }
        }
        self.pending.insert(key, next);
        Ok(())
    }

    pub fn local_delete(&mut self, key: Key) {
        self.rows.remove(&key);
        self.pending.insert(key, Pending::Delete);
    }

    pub fn server_create(&mut self, key: Key, values: &[(&'static str, Val)]) {
        self.rows.insert(key.clone(), full_row(key.0, values));
    }

    /// A server update that succeeded (the row existed on the server).
    pub fn server_update(
        &mut self,
        key: &Key,
        values: &[(&'static str, Val)],
    ) -> Result<(), String> {
        let held: BTreeSet<&'static str> = match self.pending.get(key) {
            Some(Pending::Delete) => return Ok(()),
            Some(Pending::Create(c)) | Some(Pending::Update { cols: c, .. }) => c.clone(),
            None => BTreeSet::new(),
        };
        let Some(row) = self.rows.get_mut(key) else {
            return Err(format!(
                "{} {}: the server updated a row the model says is gone",
                key.0.set(),
                key.1
            ));
        };
        for (c, v) in values {
            if !held.contains(c) {
                row.insert(c, cell(v));
            }
        }
        Ok(())
    }

    /// A server delete that succeeded.
    pub fn server_delete(&mut self, key: &Key) {
        match self.pending.get_mut(key) {
            Some(Pending::Create(cols)) => {
                // The retried upsert recreates it with the create's columns.
                let cols = cols.clone();
                if let Some(row) = self.rows.get_mut(key) {
                    for (c, v) in row.iter_mut() {
                        if !cols.contains(c) {
                            *v = "null".into();
                        }
                    }
                }
            }
            Some(Pending::Update { doomed, .. }) => {
                *doomed = true;
                self.rows.remove(key);
            }
            Some(Pending::Delete) | None => {
                self.rows.remove(key);
            }
        }
    }

    /// Between runs: `queued` is every row the outbox still holds a change
    /// of. The others were uploaded (or refused) since the last look.
    pub fn observe(&mut self, queued: &BTreeSet<Key>) -> Result<(), String> {
        for k in queued {
            if !self.pending.contains_key(k) {
                return Err(format!(
                    "the outbox holds a change of {} {} that no acknowledged local write explains",
                    k.0.set(),
                    k.1
                ));
            }
        }
        let done: Vec<Key> = self
            .pending
            .keys()
            .filter(|k| !queued.contains(*k))
            .cloned()
            .collect();
        for k in done {
            if let Some(Pending::Update { doomed: true, .. }) = self.pending.remove(&k) {
                self.errors.insert(k);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> Key {
        (Table::Accounts, id.to_string())
    }

    fn seeded() -> Model {
        Model::new([(
            key("a"),
            full_row(
                Table::Accounts,
                &[
                    ("name", Val::Text("seed".into())),
                    ("telephone1", Val::Text("1".into())),
                ],
            ),
        )])
    }

    #[test]
    fn a_pending_local_column_beats_a_server_edit_other_columns_merge() {
        let mut m = seeded();
        m.local_update(key("a"), &[("name", Val::Text("L".into()))])
            .unwrap();
        m.server_update(
            &key("a"),
            &[
                ("name", Val::Text("S".into())),
                ("telephone1", Val::Text("2".into())),
            ],
        )
        .unwrap();
        let r = &m.rows(Table::Accounts)["a"];
        assert_eq!((r["name"].as_str(), r["telephone1"].as_str()), ("L", "2"));
        // Uploaded: a later server edit wins.
        m.observe(&BTreeSet::new()).unwrap();
        m.server_update(&key("a"), &[("name", Val::Text("S2".into()))])
            .unwrap();
        assert_eq!(m.rows(Table::Accounts)["a"]["name"], "S2");
        assert!(m.errors().is_empty());
    }

    #[test]
    fn a_server_delete_dooms_a_pending_update_and_revives_a_landed_create() {
        let mut m = seeded();
        m.local_update(key("a"), &[("name", Val::Text("L".into()))])
            .unwrap();
        m.server_delete(&key("a"));
        m.local_create(key("b"), &[("name", Val::Text("new".into()))]);
        m.server_update(&key("b"), &[("telephone1", Val::Text("9".into()))])
            .unwrap();
        m.server_delete(&key("b"));
        let queued: BTreeSet<Key> = [key("a"), key("b")].into();
        m.observe(&queued).unwrap();
        assert!(m.errors().is_empty(), "still queued");
        m.observe(&BTreeSet::new()).unwrap();
        assert_eq!(m.errors().iter().collect::<Vec<_>>(), vec![&key("a")]);
        let rows = m.rows(Table::Accounts);
        assert!(!rows.contains_key("a"));
        assert_eq!(rows["b"]["name"], "new");
        assert_eq!(rows["b"]["telephone1"], "null", "recreated from the create");
    }

    #[test]
    fn an_entry_nobody_wrote_is_reported() {
        let mut m = seeded();
        assert!(m.observe(&[key("a")].into()).is_err());
    }
}
