//! One rule for values: a row that arrives in a downloaded page, the same
//! row written locally, and the same row as the server acknowledged its
//! upload are stored cell for cell alike (SQLite type and value), for every
//! column type a profile can keep. Against the emulator with a schema of
//! its own that has one column of each type.

use crate::common;

use std::path::Path;

use common::*;
use mooring_core::outbox::OutboxConfig;
use mooring_core::store::Store;
use mooring_devserver::Config;
use serde_json::{Value as J, json};

const SCHEMA: &str = r#"{"tables": [
  {"logical_name": "systemuser", "entity_set": "systemusers", "primary_id": "systemuserid",
   "primary_name": "fullname",
   "columns": [{"name": "fullname", "type": "String", "max_length": 200}]},
  {"logical_name": "account", "entity_set": "accounts", "primary_id": "accountid", "primary_name": "name",
   "columns": [{"name": "name", "type": "String", "max_length": 160}]},
  {"logical_name": "widget", "entity_set": "widgets", "primary_id": "widgetid", "primary_name": "name",
   "columns": [
     {"name": "name", "type": "String", "max_length": 100},
     {"name": "notes", "type": "Memo"},
     {"name": "count", "type": "Integer"},
     {"name": "serial", "type": "BigInt"},
     {"name": "price", "type": "Money"},
     {"name": "ratio", "type": "Decimal"},
     {"name": "weight", "type": "Double"},
     {"name": "active", "type": "Boolean"},
     {"name": "due", "type": "DateTime"},
     {"name": "kind", "type": "Picklist"},
     {"name": "batch", "type": "Uniqueidentifier"},
     {"name": "accountid", "type": "Lookup", "targets": [
       {"entity": "account", "navigation": "accountid", "relationship": "widget_account"}]}
   ]}
]}"#;

const COLUMNS: &[&str] = &[
    "name",
    "notes",
    "count",
    "serial",
    "price",
    "ratio",
    "weight",
    "active",
    "due",
    "kind",
    "batch",
    "accountid",
];

fn profile() -> String {
    let cols: Vec<String> = COLUMNS.iter().map(|c| format!("\"{c}\"")).collect();
    format!(
        r#"{{"tables":[{{"name":"accounts","columns":["name"],"rows":"all"}},
            {{"name":"widgets","columns":[{}],"rows":"all"}}]}}"#,
        cols.join(",")
    )
}

/// Each column's cell as SQLite holds it: `typeof` and `quote`.
fn cells(db: &Path, id: &str) -> Vec<(String, String, String)> {
    let c = rusqlite::Connection::open(db).expect("open the mirror");
    COLUMNS
        .iter()
        .map(|col| {
            let (ty, v): (String, String) = c
                .query_row(
                    &format!("SELECT typeof(\"{col}\"), quote(\"{col}\") FROM widgets WHERE widgetid = ?1"),
                    [id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .expect("the widget is in the mirror");
            (col.to_string(), ty, v)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_a_local_write_and_an_upload_ack_store_the_same_cells() {
    let dir = temp_dir();
    let schema = dir.join("schema.json");
    std::fs::write(&schema, SCHEMA).unwrap();
    let env = env_with(Config {
        seed_rows: 3,
        token: TOKEN.into(),
        schema: Some(schema),
        ..Config::default()
    })
    .await;
    let profile = profile();
    let engine = env.engine(&profile, 500).await;
    engine.sync(quiet()).await.expect("first sync");
    let store = engine.store().clone();
    let account = store
        .query(&mooring_core::store::Query::table("accounts"))
        .expect("accounts")
        .first()
        .and_then(|r| {
            r.get("accountid")
                .and_then(|v| v.as_str())
                .map(str::to_string)
        })
        .expect("a seeded account");
    drop(store);

    let outbox = engine.outbox(OutboxConfig::default());
    let values = json!({
        "name": "Wïdget \"one\" ✓",
        "notes": "line 1\nline 2",
        "count": 42,
        "serial": 9_007_199_254_740_993_i64,
        "price": 1234.5,
        "ratio": 0.125,
        "weight": 3.0,
        "active": true,
        "due": "2026-12-24T09:30:00Z",
        "kind": 100000002,
        "batch": "6f9619ff-8b86-d011-b42d-00c04fc964ff",
        "accountid": account,
    });
    let J::Object(values) = values else {
        unreachable!()
    };
    let id = outbox.create("widgets", &values).expect("local create");
    let local = cells(&env.db(), &id);

    let summary = outbox.upload().await.expect("upload");
    assert_eq!(summary.uploaded, 1, "the create went up");
    let acked = cells(&env.db(), &id);

    // A second device downloads the same row in a page.
    let other = env.dir.join("other.db");
    let store = Store::open(&other).expect("second mirror");
    let profile = mooring_core::profile::Profile::from_json(&profile).unwrap();
    let (engine2, _) = mooring_core::SyncEngine::prepare(env.remote(500), store, &profile)
        .await
        .expect("prepare the second mirror");
    engine2.sync(quiet()).await.expect("second sync");
    let paged = cells(&other, &id);

    assert_eq!(local, acked, "a local write and its acknowledgement");
    assert_eq!(local, paged, "a local write and a downloaded page");
    // And the cells are the types a reader expects.
    let types: Vec<&str> = local.iter().map(|(_, t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        vec![
            "text", "text", "integer", "integer", "real", "real", "real", "integer", "text",
            "integer", "text", "text"
        ]
    );
}
