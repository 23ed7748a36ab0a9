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
use mooring_core::{Cell, Choice};
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
     {"name": "day", "type": "DateTime", "behavior": "DateOnly"},
     {"name": "kind", "type": "Picklist",
      "options": [[100000000, "Small"], [100000001, "Medium"], [100000002, "Large"]]},
     {"name": "tags", "type": "MultiSelectPicklist", "options": [[1, "Red"], [2, "Green"], [3, "Blue"]]},
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
    "day",
    "kind",
    "tags",
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
        "day": "2027-02-28",
        "kind": 100000002,
        "tags": [3, 1],
        "batch": "6f9619ff-8b86-d011-b42d-00c04fc964ff",
        "accountid": account,
    });
    let J::Object(values) = values else {
        unreachable!()
    };
    let id = outbox.create("widgets", &values).expect("local create");
    let local = cells(&env.db(), &id);
    let typed = |store: &Store, profile: &mooring_core::profile::ResolvedProfile| {
        let row = store.get("widgets", &id).unwrap().expect("the widget");
        store
            .type_rows(Some(profile), "widgets", vec![row])
            .unwrap()
            .remove(0)
    };
    let resolved = outbox.profile().clone();
    let local_typed = typed(outbox.store(), &resolved);

    let summary = outbox.upload().await.expect("upload");
    assert_eq!(summary.uploaded, 1, "the create went up");
    let acked = cells(&env.db(), &id);
    let acked_typed = typed(outbox.store(), &resolved);

    // A second device downloads the same row in a page.
    let other = env.dir.join("other.db");
    let store = Store::open(&other).expect("second mirror");
    let profile = mooring_core::profile::Profile::from_json(&profile).unwrap();
    let (engine2, _) = mooring_core::SyncEngine::prepare(env.remote(500), store, &profile)
        .await
        .expect("prepare the second mirror");
    engine2.sync(quiet()).await.expect("second sync");
    let paged = cells(&other, &id);
    let paged_typed = typed(
        engine2.store(),
        engine2.outbox(OutboxConfig::default()).profile(),
    );

    assert_eq!(local, acked, "a local write and its acknowledgement");
    assert_eq!(local, paged, "a local write and a downloaded page");
    assert_eq!(local_typed, acked_typed, "typed: local and acknowledged");
    assert_eq!(local_typed, paged_typed, "typed: local and downloaded");
    let account_name = store_name(&env.db(), &account);
    let expect = |c: &str| -> Cell {
        local_typed
            .iter()
            .find(|(k, _)| k == c)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no column {c}"))
    };
    let choice = |value: i64, label: &str| Choice {
        value,
        label: Some(label.into()),
    };
    assert_eq!(expect("widgetid"), Cell::Guid(id.clone()));
    assert_eq!(expect("name"), Cell::Text("Wïdget \"one\" ✓".into()));
    assert_eq!(expect("count"), Cell::Integer(42));
    assert_eq!(expect("serial"), Cell::Integer(9_007_199_254_740_993));
    assert_eq!(expect("price"), Cell::Decimal(1234.5));
    assert_eq!(expect("weight"), Cell::Float(3.0));
    assert_eq!(expect("active"), Cell::Boolean(true));
    assert_eq!(expect("due"), Cell::DateTime(1_798_104_600_000));
    assert_eq!(
        expect("day"),
        Cell::Date(mooring_core::CalendarDate {
            year: 2027,
            month: 2,
            day: 28
        })
    );
    assert_eq!(expect("kind"), Cell::Choice(choice(100000002, "Large")));
    assert_eq!(
        expect("tags"),
        Cell::Choices(vec![choice(3, "Blue"), choice(1, "Red")])
    );
    assert_eq!(
        expect("batch"),
        Cell::Guid("6f9619ff-8b86-d011-b42d-00c04fc964ff".into())
    );
    assert_eq!(
        expect("accountid"),
        Cell::Lookup(mooring_core::LookupValue {
            id: account.clone(),
            table: Some("accounts".into()),
            name: Some(account_name),
        })
    );
    // And the cells are the types a reader expects.
    let types: Vec<&str> = local.iter().map(|(_, t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        vec![
            "text", "text", "integer", "integer", "real", "real", "real", "integer", "text",
            "text", "integer", "text", "text", "text"
        ]
    );
}

fn store_name(db: &Path, account: &str) -> String {
    let c = rusqlite::Connection::open(db).expect("open the mirror");
    c.query_row(
        "SELECT name FROM accounts WHERE accountid = ?1",
        [account],
        |r| r.get(0),
    )
    .expect("the account is in the mirror")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_choice_outside_the_columns_options_is_refused_naming_the_column() {
    let dir = temp_dir();
    let schema = dir.join("schema.json");
    std::fs::write(&schema, SCHEMA).unwrap();
    let env = env_with(Config {
        seed_rows: 1,
        token: TOKEN.into(),
        schema: Some(schema),
        ..Config::default()
    })
    .await;
    let engine = env.engine(&profile(), 500).await;
    engine.sync(quiet()).await.expect("first sync");
    let outbox = engine.outbox(OutboxConfig::default());
    let before = outbox.pending_count().unwrap();
    for (column, value, needle) in [
        ("kind", json!(7), "100000000 (Small)"),
        ("tags", json!([1, 9]), "3 (Blue)"),
        ("tags", json!("1,x"), "choice values"),
        ("day", json!("2027-02-30"), "ISO 8601"),
    ] {
        let mut m = serde_json::Map::new();
        m.insert("name".into(), json!("bad"));
        m.insert(column.into(), value);
        let e = outbox.create("widgets", &m).expect_err("refused");
        let text = e.to_string();
        assert!(text.contains(column) && text.contains(needle), "{text}");
    }
    assert_eq!(
        outbox.pending_count().unwrap(),
        before,
        "nothing was queued"
    );
}
