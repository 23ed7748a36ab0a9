//! What the kill tests share: the `accounts` rows of the server and of a
//! mirror file, as comparable maps (key -> the named columns as text, numbers
//! normalised to f64 so SQLite integers and JSON numbers compare).
#![allow(dead_code)] // each test crate uses its own part

use std::collections::BTreeMap;
use std::path::Path;

use mooring_devserver::Admin;

pub fn norm(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "null".into(),
        serde_json::Value::Number(n) => format!("{}", n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub fn server_rows(admin: &Admin, columns: &[&str]) -> BTreeMap<String, Vec<String>> {
    server_table_rows(admin, "accounts", "accountid", columns)
}

pub fn mirror_rows(db: &Path, columns: &[&str]) -> BTreeMap<String, Vec<String>> {
    mirror_table_rows(db, "accounts", "accountid", columns)
}

pub fn server_table_rows(
    admin: &Admin,
    table: &str,
    key: &str,
    columns: &[&str],
) -> BTreeMap<String, Vec<String>> {
    admin
        .rows(table)
        .expect("server rows")
        .into_iter()
        .map(|r| {
            let id = r[key].as_str().expect("key").to_lowercase();
            (
                id,
                columns
                    .iter()
                    .map(|c| norm(r.get(*c).unwrap_or(&serde_json::Value::Null)))
                    .collect(),
            )
        })
        .collect()
}

pub fn mirror_table_rows(
    db: &Path,
    table: &str,
    key: &str,
    columns: &[&str],
) -> BTreeMap<String, Vec<String>> {
    let c = rusqlite::Connection::open(db).expect("mirror opens");
    let sql = format!(
        "SELECT \"{key}\", {} FROM \"{table}\"",
        columns
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut stmt = c.prepare(&sql).expect("mirror query");
    let rows = stmt
        .query_map([], |r| {
            let mut v = Vec::new();
            for i in 1..=columns.len() {
                let x: rusqlite::types::Value = r.get(i)?;
                v.push(match x {
                    rusqlite::types::Value::Null => "null".into(),
                    rusqlite::types::Value::Integer(i) => format!("{}", i as f64),
                    rusqlite::types::Value::Real(f) => format!("{f}"),
                    rusqlite::types::Value::Text(s) => s,
                    rusqlite::types::Value::Blob(_) => "blob".into(),
                });
            }
            Ok((r.get::<_, String>(0)?, v))
        })
        .expect("rows");
    rows.map(|r| r.expect("row")).collect()
}
