//! The app's read API on a synced mirror: get by id, typed queries, watches
//! that fire when sync changes their rows, and readers that work while a
//! sync writes.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use mooring_core::{Error, Filter, Query, Sort, Value};
use serde_json::json;

const PROFILE: &str = r#"{"tables":[{"name":"accounts","columns":["name","numberofemployees","statecode","address1_city"],"rows":"all"}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_queries_and_get() {
    let env = env(100).await;
    let engine = env.engine(PROFILE, 100).await;
    engine.sync(quiet()).await.unwrap();
    let store = engine.store();
    let server = env.admin.rows("accounts").unwrap();

    let big: Vec<_> = server
        .iter()
        .filter(|r| r["numberofemployees"].as_i64().unwrap_or(0) >= 100 && r["statecode"] == 0)
        .collect();
    let q = Query::table("accounts")
        .filter(Filter::And(vec![
            Filter::Ge("numberofemployees".into(), Value::Integer(100)),
            Filter::Eq("statecode".into(), 0i64.into()),
        ]))
        .sort(Sort::desc("numberofemployees"));
    let rows = store.query(&q).unwrap();
    assert_eq!(rows.len(), big.len());
    assert!(
        rows.windows(2)
            .all(|w| w[0]["numberofemployees"].as_i64() >= w[1]["numberofemployees"].as_i64())
    );
    assert_eq!(
        store.query(&q.clone().limit(3).offset(1)).unwrap(),
        rows[1..4.min(rows.len())].to_vec()
    );

    let first = &server[0];
    let id = first["accountid"].as_str().unwrap();
    let got = store
        .get("accounts", &id.to_uppercase())
        .unwrap()
        .expect("by id, any case");
    assert_eq!(got["name"], first["name"]);
    let prefix: String = first["name"].as_str().unwrap().chars().take(3).collect();
    let hits = store
        .query(&Query::table("accounts").filter(Filter::StartsWith("name".into(), prefix.clone())))
        .unwrap();
    assert!(
        hits.iter().any(|r| r["accountid"] == id)
            && hits.iter().all(|r| r["name"]
                .as_str()
                .unwrap()
                .to_lowercase()
                .starts_with(&prefix.to_lowercase()))
    );
    // A quote in a value is data, never SQL.
    assert!(
        store
            .query(
                &Query::table("accounts").filter(Filter::Eq("name".into(), "x' OR 1=1 --".into()))
            )
            .unwrap()
            .is_empty()
    );

    for bad in [
        Query::table("nope"),
        Query::table("accounts").sort(Sort::asc("name; DROP TABLE accounts")),
    ] {
        assert!(matches!(store.query(&bad), Err(Error::Query(_))));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_fire_when_sync_changes_their_rows() {
    let env = env(50).await;
    let engine = env.engine(PROFILE, 100).await;
    engine.sync(quiet()).await.unwrap();
    let store = engine.store();
    let calls: Arc<Mutex<Vec<usize>>> = Arc::default();
    let c2 = calls.clone();
    let q =
        Query::table("accounts").filter(Filter::Eq("address1_city".into(), "Mooringville".into()));
    let handle = store
        .watch(q, move |rows| c2.lock().unwrap().push(rows.len()))
        .unwrap();
    assert_eq!(*calls.lock().unwrap(), vec![0], "current rows at once");

    let me = env.admin.users()[0].id;
    let id = env
        .admin
        .create_row(
            "accounts",
            me,
            json!({"name": "Harbour", "address1_city": "Mooringville"}),
        )
        .unwrap();
    engine.delta(quiet()).await.unwrap();
    wait_for(|| calls.lock().unwrap().last() == Some(&1)).await;

    // A change elsewhere in the table does not fire this watch.
    let rows = env.admin.rows("accounts").unwrap();
    let other_row = rows
        .iter()
        .find(|r| r["address1_city"] != "Mooringville")
        .expect("a row elsewhere");
    let other = other_row["accountid"].as_str().unwrap().parse().unwrap();
    env.admin
        .update_row("accounts", other, me, json!({"name": "unrelated"}))
        .unwrap();
    engine.delta(quiet()).await.unwrap();
    env.admin.delete_row("accounts", id).unwrap();
    engine.delta(quiet()).await.unwrap();
    wait_for(|| calls.lock().unwrap().last() == Some(&0)).await;
    assert_eq!(*calls.lock().unwrap(), vec![0, 1, 0]);

    drop(handle);
    env.admin
        .create_row(
            "accounts",
            me,
            json!({"name": "Quay", "address1_city": "Mooringville"}),
        )
        .unwrap();
    engine.delta(quiet()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        calls.lock().unwrap().len(),
        3,
        "no calls after the handle is dropped"
    );
}

async fn wait_for(cond: impl Fn() -> bool) {
    for _ in 0..200 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not met in 2 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_work_while_sync_writes() {
    let env = env(3000).await;
    let engine = Arc::new(env.engine(PROFILE, 100).await);
    let e2 = engine.clone();
    let sync = tokio::spawn(async move { e2.sync(quiet()).await });
    let store = engine.store().clone();
    let mut reads = 0;
    let mut last = 0;
    while !sync.is_finished() {
        let s = store.clone();
        let n = tokio::task::spawn_blocking(move || s.count("accounts"))
            .await
            .unwrap()
            .unwrap();
        assert!(
            n >= last,
            "a reader never sees rows disappear during an initial sync"
        );
        last = n;
        reads += 1;
    }
    sync.await.unwrap().unwrap();
    assert!(reads > 1);
    assert_eq!(store.count("accounts").unwrap(), 3000);
}

/// One open mirror per file: a second opener (here, in this process) is
/// told the mirror is in use and by whom, and touches nothing; once the
/// first closes, it opens.
#[test]
fn a_mirror_open_elsewhere_is_in_use_until_closed() {
    let dir = common::temp_dir();
    let db = dir.join("m.db");
    let first = mooring_core::Store::open(&db).expect("first");
    let e = mooring_core::Store::open(&db).err().expect("in use");
    match &e {
        mooring_core::Error::InUse { holder: Some(h) } => {
            assert!(h.contains(&format!("pid {}", std::process::id())), "{h}")
        }
        other => panic!("not InUse: {other:?}"),
    }
    assert!(e.to_string().contains("in use by"), "{e}");
    first.close().expect("close");
    let second = mooring_core::Store::open(&db).expect("opens once the first closed");
    drop(second);
    mooring_core::Store::open(&db).expect("and once the second was dropped");
}
