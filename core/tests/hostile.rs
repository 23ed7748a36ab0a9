//! Hostile values through the public app API (`Mooring`: create, update,
//! delete, get, query) against the emulator and a real SQLite file: SQL
//! that looks like an attack, a 10 MB string, NaN and infinities, control
//! characters and NUL, wrong types, unknown tables and columns, ids that are
//! not GUIDs. Each is a typed error naming the culprit, or stored exactly
//! (read back equal, the server equal after upload); never a panic, and the
//! mirror stays sound (`PRAGMA integrity_check`, other rows unchanged).

use crate::common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use mooring_core::store::{Filter, Query};
use mooring_core::{Error, Mooring, MooringConfig, Profile, ScheduleConfig, Value, WriteError};
use serde_json::{Map, Value as J, json};

const PROFILE: &str = r#"{"tables":[
  {"name":"accounts","columns":["name","telephone1","revenue","numberofemployees"],"rows":"all"},
  {"name":"contacts","columns":["lastname","parentcustomerid"],"rows":"all"}]}"#;

async fn open(env: &Env) -> Mooring {
    let profile = Profile::from_json(PROFILE).expect("profile");
    let tokens = std::sync::Arc::new(mooring_core::StaticToken(TOKEN.into()));
    let mut c = MooringConfig::new(env.server.root_url(), tokens, env.db(), profile);
    c.remote.backoff_base = Duration::from_millis(5);
    c.remote.backoff_cap = Duration::from_millis(50);
    c.remote.max_retries = 1;
    c.schedule = ScheduleConfig {
        upload_debounce: Duration::from_secs(3600),
        delta_interval: None,
        ..ScheduleConfig::default()
    };
    let app = Mooring::open(c).await.expect("open");
    app.sync_now().await.expect("first sync");
    app
}

fn obj(v: J) -> Map<String, J> {
    match v {
        J::Object(m) => m,
        _ => Map::new(),
    }
}

/// Every account row of the mirror, by key.
async fn snapshot(app: &Mooring) -> BTreeMap<String, Map<String, J>> {
    app.query(Query::table("accounts"))
        .await
        .expect("query")
        .into_iter()
        .map(|r| (r["accountid"].as_str().unwrap_or("").to_string(), r))
        .collect()
}

fn write_err(e: Error) -> WriteError {
    match e {
        Error::Write(w) => w,
        other => panic!("expected a typed write error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_values_are_stored_exactly_or_refused_by_name() {
    let env = env(20).await;
    let app = open(&env).await;
    let before = snapshot(&app).await;
    assert_eq!(before.len(), 20);

    // Stored exactly: SQL-looking text, quotes, LIKE wildcards, control
    // characters, NUL, lone surrogates' replacement, emoji, a 10 MB string.
    let nasty = [
        "'); DROP TABLE accounts;--",
        "\" OR 1=1; --",
        "Robert'); DELETE FROM outbox; --",
        "%_\\%[]^*",
        "a\u{0}b\u{1}\u{1b}[31mred\u{7f}\r\n\t",
        "\u{feff}\u{202e}right-to-left\u{fffd} 🧨",
    ];
    let mut created = Vec::new();
    for s in nasty {
        let id = app
            .create("accounts", obj(json!({"name": s, "telephone1": s})))
            .await
            .expect("create");
        let row = app.get("accounts", &id).await.expect("get").expect("row");
        assert_eq!(row["name"], json!(s), "read back equals written");
        assert_eq!(row["telephone1"], json!(s));
        let found = app
            .query(
                Query::table("accounts").filter(Filter::Eq("name".into(), Value::Text(s.into()))),
            )
            .await
            .expect("query by a hostile value");
        assert_eq!(found.len(), 1, "{s:?} matches itself only");
        let like = app
            .query(Query::table("accounts").filter(Filter::Contains("name".into(), s.into())))
            .await
            .expect("contains a hostile value");
        assert!(like.iter().any(|r| r["accountid"] == json!(id)), "{s:?}");
        created.push((id, s.to_string()));
    }
    let big = "x".repeat(10 * 1024 * 1024 - 3) + "end";
    let big_id = app
        .create("accounts", obj(json!({"name": "big", "telephone1": big})))
        .await
        .expect("a 10 MB string is stored");
    let row = app
        .get("accounts", &big_id)
        .await
        .expect("get")
        .expect("row");
    assert_eq!(row["telephone1"].as_str().map(str::len), Some(big.len()));
    assert!(row["telephone1"] == json!(big));

    // Numbers: extremes are kept; NaN and infinities cannot be JSON numbers
    // (serde_json makes them null), and as strings they are the wrong type.
    let id: String = app
        .create(
            "accounts",
            obj(json!({"name": "numbers", "revenue": 1e308, "numberofemployees": i64::MAX})),
        )
        .await
        .expect("extremes");
    let row = app.get("accounts", &id).await.expect("get").expect("row");
    assert_eq!(row["revenue"].as_f64(), Some(1e308));
    assert_eq!(row["numberofemployees"].as_i64(), Some(i64::MAX));
    for f in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let v = json!(f);
        assert!(v.is_null(), "serde_json has no NaN");
        app.update("accounts", &id, obj(json!({"revenue": v})))
            .await
            .expect("null");
        assert!(app.get("accounts", &id).await.expect("get").expect("row")["revenue"].is_null());
    }
    for (col, v, expected) in [
        ("revenue", json!("NaN"), "a number"),
        ("revenue", json!("Infinity"), "a number"),
        ("revenue", json!("1e999"), "a number"),
        ("numberofemployees", json!(1.5), "an integer"),
        ("numberofemployees", json!(u64::MAX), "an integer"),
        ("numberofemployees", json!("7"), "an integer"),
        ("name", json!(5), "a string"),
        ("name", json!(["a"]), "a string"),
        ("name", json!({"$gt": ""}), "a string"),
        ("telephone1", json!(true), "a string"),
    ] {
        let e = app
            .update("accounts", &id, obj(json!({ col: v })))
            .await
            .expect_err("wrong type");
        match write_err(e) {
            WriteError::WrongType {
                table,
                column,
                expected: ex,
                ..
            } => {
                assert_eq!((table.as_str(), column.as_str()), ("accounts", col));
                assert_eq!(ex, expected, "{col} {v}");
            }
            other => panic!("{col} {v}: {other:?}"),
        }
    }
    // A lookup that is not a GUID, or that points at nothing.
    for v in [
        json!("'; DROP TABLE contacts;--"),
        json!("not-a-guid"),
        json!(7),
    ] {
        let e = app
            .create(
                "contacts",
                obj(json!({"lastname": "x", "parentcustomerid": v})),
            )
            .await
            .expect_err("bad lookup");
        assert!(
            matches!(write_err(e), WriteError::WrongType { column, .. } if column == "parentcustomerid")
        );
    }
    let e = app
        .create(
            "contacts",
            obj(json!({"lastname": "x", "parentcustomerid": "00000000-0000-0000-0000-00000000dead"})),
        )
        .await
        .expect_err("dangling lookup");
    assert!(matches!(
        write_err(e),
        WriteError::MissingLookupTarget { .. }
    ));

    // Unknown tables and columns (SQL in their names included).
    for t in [
        "nosuchtable",
        "accounts; DROP TABLE accounts",
        "\"accounts\"",
        "",
        "sqlite_master",
    ] {
        let e = app
            .create(t, obj(json!({"name": "x"})))
            .await
            .expect_err("table");
        assert_eq!(write_err(e), WriteError::UnknownTable(t.to_string()));
        assert!(matches!(app.get(t, &id).await, Err(Error::Query(_))), "{t}");
        assert!(
            matches!(app.query(Query::table(t)).await, Err(Error::Query(_))),
            "{t}"
        );
    }
    for c in [
        "nosuchcolumn",
        "name\" = 'x' --",
        "accountid",
        "_mooring_version",
        "",
    ] {
        let e = app
            .update("accounts", &id, obj(json!({ c: "x" })))
            .await
            .expect_err("column");
        match write_err(e) {
            WriteError::UnknownColumn { column, .. } | WriteError::ReadOnly { column, .. } => {
                assert_eq!(column, c)
            }
            other => panic!("{c}: {other:?}"),
        }
        let q = app
            .query(Query::table("accounts").filter(Filter::Eq(c.into(), Value::Integer(1))))
            .await;
        assert!(
            matches!(q, Err(Error::Query(ref m)) if m.contains(c)) || c == "accountid",
            "{c}: {q:?}"
        );
    }
    let bad_sort = app
        .query(Query::table("accounts").sort(mooring_core::Sort::asc("name; DROP TABLE accounts")))
        .await;
    assert!(matches!(bad_sort, Err(Error::Query(_))), "{bad_sort:?}");

    // Ids that are not GUIDs: nothing found, nothing written.
    for bad in [
        "1 OR 1=1",
        "'; DROP TABLE accounts;--",
        "",
        "0",
        "{}",
        "\u{0}",
    ] {
        assert!(
            app.get("accounts", bad).await.expect("get").is_none(),
            "{bad:?}"
        );
        for e in [
            app.update("accounts", bad, obj(json!({"name": "x"})))
                .await
                .expect_err("update"),
            app.delete("accounts", bad).await.expect_err("delete"),
        ] {
            assert!(
                matches!(write_err(e), WriteError::RowNotFound { .. }),
                "{bad:?}"
            );
        }
    }
    // A well-formed id of no row.
    let e = app
        .delete("accounts", "00000000-0000-0000-0000-000000000000")
        .await
        .expect_err("no such row");
    assert!(matches!(write_err(e), WriteError::RowNotFound { .. }));

    // The mirror is sound and the seeded rows are untouched.
    assert_eq!(app.store().integrity_check().expect("check"), "ok");
    let after = snapshot(&app).await;
    for (k, v) in &before {
        assert_eq!(after.get(k), Some(v), "row {k} unchanged");
    }

    // Upload: the server holds exactly what was written; the 10 MB value is
    // refused by the server's column length (a typed sync error), never a
    // panic, and the other changes go through.
    let _ = app.upload_now().await;
    for (id, s) in &created {
        let uuid = uuid::Uuid::parse_str(id).expect("guid");
        let row = env
            .admin
            .row("accounts", uuid)
            .expect("admin")
            .expect("server row");
        assert_eq!(row["name"], json!(s), "the server has it");
    }
    // Refused by the server, typed: the 10 MB phone number (max length 50)
    // and i64::MAX employees (an Int32 on Dataverse). Nothing else.
    let errors = app.sync_errors().await.expect("sync errors");
    let mut refused: Vec<(&str, u16)> = errors
        .iter()
        .map(|e| (e.row_id.as_str(), e.status))
        .collect();
    refused.sort();
    let mut want = vec![(big_id.as_str(), 400), (id.as_str(), 400)];
    want.sort();
    assert!(refused == want, "refused: {refused:?}");
    assert_eq!(app.store().integrity_check().expect("check"), "ok");
    app.close().await;
}
