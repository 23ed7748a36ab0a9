//! SQL reads over a synced mirror: joins with bound parameters that see
//! local changes, refusals of everything that is not one read of the
//! mirror's tables, and watches over a join that fire when either table
//! changes and not otherwise.

use crate::common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use mooring_core::{Error, OutboxConfig, Query, SqlRefusal, SqlRows, Value};
use serde_json::json;

const PROFILE: &str = r#"{"tables":[
  {"name":"accounts","columns":["name","statecode","numberofemployees"],"rows":"all"},
  {"name":"contacts","columns":["lastname","parentcustomerid"],"rows":"all"},
  {"name":"tasks","columns":["subject"],"rows":"all"}]}"#;

const JOIN: &str = "SELECT a.name, c.lastname FROM accounts a \
     JOIN contacts c ON c.parentcustomerid = a.accountid \
     WHERE a.statecode = ? ORDER BY c.contactid";

/// (account name, contact last name) pairs of active accounts, from the
/// server's own rows.
fn server_join(env: &Env) -> Vec<(String, String)> {
    let accounts: BTreeMap<String, (String, i64)> = env
        .admin
        .rows("accounts")
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["accountid"].as_str().unwrap().to_lowercase(),
                (
                    r["name"].as_str().unwrap_or("").to_string(),
                    r["statecode"].as_i64().unwrap_or(-1),
                ),
            )
        })
        .collect();
    let mut contacts: Vec<(String, String, String)> = env
        .admin
        .rows("contacts")
        .unwrap()
        .iter()
        .filter_map(|r| {
            let parent = r.get("_parentcustomerid_value")?.as_str()?.to_lowercase();
            Some((
                r["contactid"].as_str().unwrap().to_lowercase(),
                parent,
                r["lastname"].as_str().unwrap_or("").to_string(),
            ))
        })
        .collect();
    contacts.sort();
    contacts
        .into_iter()
        .filter_map(|(_, parent, last)| match accounts.get(&parent) {
            Some((name, 0)) => Some((name.clone(), last)),
            _ => None,
        })
        .collect()
}

fn pairs(rows: &SqlRows) -> Vec<(String, String)> {
    rows.rows
        .iter()
        .map(|r| match (&r[0], &r[1]) {
            (Value::Text(a), Value::Text(b)) => (a.clone(), b.clone()),
            other => panic!("two texts expected, got {other:?}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_with_bound_parameters_reads_the_mirror_with_local_changes() {
    let env = env(60).await;
    let engine = env.engine(PROFILE, 100).await;
    engine.sync(quiet()).await.unwrap();
    let store = engine.store();

    let rows = store.sql(JOIN, &[Value::Integer(0)]).unwrap();
    assert_eq!(rows.columns, vec!["name", "lastname"]);
    let expected = server_join(&env);
    assert!(
        !expected.is_empty(),
        "the sample data has contacts of active accounts"
    );
    assert_eq!(pairs(&rows), expected);

    // The tables a watch of it would follow: exactly the two it reads.
    let (_, read) = store.sql_with_tables(JOIN, &[Value::Integer(0)]).unwrap();
    assert_eq!(
        read.into_iter().collect::<Vec<_>>(),
        vec!["accounts", "contacts"]
    );
    let (_, read) = store
        .sql_with_tables("SELECT count(*) FROM tasks", &[])
        .unwrap();
    assert_eq!(
        read.into_iter().collect::<Vec<_>>(),
        vec!["tasks"],
        "no column named"
    );
    let (_, read) = store.sql_with_tables("SELECT 1 + 1", &[]).unwrap();
    assert!(read.is_empty());

    // Numbered parameters, aggregates, a CTE and a table-valued JSON function.
    let agg = store
        .sql(
            "WITH big AS (SELECT accountid FROM accounts WHERE numberofemployees >= ?1) \
             SELECT count(*) AS n, (SELECT count(*) FROM json_each('[1,2]')) AS two FROM big",
            &[Value::Integer(100)],
        )
        .unwrap();
    let big = env
        .admin
        .rows("accounts")
        .unwrap()
        .iter()
        .filter(|r| r["numberofemployees"].as_i64().unwrap_or(0) >= 100)
        .count() as i64;
    assert_eq!(agg.columns, vec!["n", "two"]);
    assert_eq!(agg.rows, vec![vec![Value::Integer(big), Value::Integer(2)]]);

    // A local write is in the next read, before any upload.
    let outbox = engine.outbox(OutboxConfig::default());
    let acc = outbox
        .create(
            "accounts",
            json!({"name": "Local Harbour", "statecode": 0})
                .as_object()
                .unwrap(),
        )
        .unwrap();
    outbox
        .create(
            "contacts",
            json!({"lastname": "Quayside", "parentcustomerid": acc})
                .as_object()
                .unwrap(),
        )
        .unwrap();
    let after = store
        .sql(
            "SELECT a.name, c.lastname FROM accounts a JOIN contacts c \
             ON c.parentcustomerid = a.accountid WHERE c.lastname = ?",
            &[Value::Text("Quayside".into())],
        )
        .unwrap();
    assert_eq!(
        pairs(&after),
        vec![("Local Harbour".to_string(), "Quayside".to_string())]
    );
    // A quote in a parameter is data, never SQL.
    assert!(
        store
            .sql(
                "SELECT name FROM accounts WHERE name = ?",
                &[Value::Text("x' OR 1=1 --".into())]
            )
            .unwrap()
            .rows
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_pragmas_and_mooring_own_tables_are_refused_and_nothing_changes() {
    let env = env(20).await;
    let engine = env.engine(PROFILE, 100).await;
    engine.sync(quiet()).await.unwrap();
    let store = engine.store();
    let before = store.count("accounts").unwrap();

    let cases: &[(&str, SqlRefusal)] = &[
        ("DELETE FROM accounts", SqlRefusal::Write),
        ("UPDATE accounts SET name = 'x'", SqlRefusal::Write),
        (
            "INSERT INTO tasks (activityid, subject) VALUES ('a', 'b')",
            SqlRefusal::Write,
        ),
        ("DROP TABLE accounts", SqlRefusal::Write),
        ("CREATE TABLE x (y)", SqlRefusal::Write),
        ("BEGIN", SqlRefusal::Write),
        ("SELECT 1; DELETE FROM accounts", SqlRefusal::Write),
        ("PRAGMA table_info(accounts)", SqlRefusal::NotAllowed),
        ("PRAGMA query_only = OFF", SqlRefusal::NotAllowed),
        ("ATTACH DATABASE '/tmp/x.db' AS x", SqlRefusal::NotAllowed),
        ("SELECT * FROM mooring_outbox", SqlRefusal::HiddenTable),
        ("SELECT * FROM mooring_meta", SqlRefusal::HiddenTable),
        ("SELECT name FROM sqlite_master", SqlRefusal::HiddenTable),
        (
            "SELECT a.name FROM accounts a JOIN mooring_tables t ON t.name = a.name",
            SqlRefusal::HiddenTable,
        ),
        ("SELECT 1; SELECT 2", SqlRefusal::Invalid),
        ("SELEC name FROM accounts", SqlRefusal::Invalid),
        ("SELECT nope FROM accounts", SqlRefusal::Invalid),
        ("SELECT * FROM leads", SqlRefusal::Invalid),
        ("", SqlRefusal::Invalid),
    ];
    for (sql, want) in cases {
        match store.sql(sql, &[]) {
            Err(Error::SqlRefused { refusal, reason }) => {
                assert_eq!(refusal, *want, "{sql}: {reason}");
                assert!(!reason.is_empty());
            }
            other => panic!("{sql}: refused as {want:?} expected, got {other:?}"),
        }
    }
    match store.sql("SELECT name FROM accounts WHERE statecode = ?", &[]) {
        Err(Error::SqlRefused { refusal, reason }) => {
            assert_eq!(refusal, SqlRefusal::Invalid);
            assert!(reason.contains("1 parameters, 0 given"), "{reason}");
        }
        other => panic!("missing parameter: {other:?}"),
    }

    // Mooring's own columns are not part of a row.
    let star = store.sql("SELECT * FROM accounts LIMIT 1", &[]).unwrap();
    assert_eq!(
        star.columns,
        vec!["accountid", "name", "statecode", "numberofemployees"]
    );
    let explicit = store
        .sql("SELECT name, _etag FROM accounts LIMIT 1", &[])
        .unwrap();
    assert_eq!(explicit.columns, vec!["name"]);

    // Nothing changed, and the readers that refused still serve the app's
    // other reads (the authorizer is gone from them).
    assert_eq!(store.count("accounts").unwrap(), before);
    assert_eq!(
        store.query(&Query::table("accounts")).unwrap().len() as u64,
        before
    );
    assert_eq!(store.pending_count().unwrap(), 0);
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

/// Every result a watch delivered, in order.
type Seen = Arc<Mutex<Vec<Vec<(String, String)>>>>;

async fn wait_for(what: &str, cond: impl Fn() -> bool) {
    for _ in 0..300 {
        if cond() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what}: not in 3 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_over_a_join_fires_when_either_table_changes_and_not_otherwise() {
    let env = env(30).await;
    let engine = env.engine(PROFILE, 100).await;
    engine.sync(quiet()).await.unwrap();
    let store = engine.store();
    let outbox = engine.outbox(OutboxConfig::default());

    let seen: Seen = Arc::default();
    let s2 = seen.clone();
    let handle = store
        .watch_sql(JOIN, vec![Value::Integer(0)], move |rows| {
            s2.lock().unwrap().push(pairs(rows))
        })
        .unwrap();
    assert_eq!(seen.lock().unwrap().len(), 1, "the current result at once");
    let first = seen.lock().unwrap()[0].clone();
    assert_eq!(first, server_join(&env));

    // A table the join does not read: no call.
    let task = outbox
        .create(
            "tasks",
            json!({"subject": "call back"}).as_object().unwrap(),
        )
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(seen.lock().unwrap().len(), 1, "tasks is not in the join");

    // An account of the join renamed: one call with the new name.
    let (acc_name, _) = first[0].clone();
    let acc_id = match &store
        .sql(
            "SELECT accountid FROM accounts WHERE name = ?",
            &[Value::Text(acc_name.clone())],
        )
        .unwrap()
        .rows[0][0]
    {
        Value::Text(id) => id.clone(),
        other => panic!("{other:?}"),
    };
    outbox
        .update(
            "accounts",
            &acc_id,
            json!({"name": "Renamed Ltd"}).as_object().unwrap(),
        )
        .unwrap();
    wait_for("the rename", || seen.lock().unwrap().len() == 2).await;
    assert!(
        seen.lock().unwrap()[1]
            .iter()
            .any(|(a, _)| a == "Renamed Ltd")
    );

    // A new contact of that account, from the server through a delta sync.
    let me = env.admin.users()[0].id;
    env.admin
        .create_row(
            "contacts",
            me,
            json!({"lastname": "Zzyzx", "parentcustomerid_account@odata.bind": format!("/accounts({acc_id})")}),
        )
        .unwrap();
    engine.delta(quiet()).await.unwrap();
    wait_for("the new contact", || seen.lock().unwrap().len() == 3).await;
    assert!(
        seen.lock().unwrap()[2]
            .iter()
            .any(|(a, c)| a == "Renamed Ltd" && c == "Zzyzx")
    );

    // A change to a read table that leaves the result as it was: no call.
    let unrelated = store
        .sql(
            "SELECT accountid FROM accounts WHERE statecode <> 0 \
             OR accountid NOT IN (SELECT parentcustomerid FROM contacts WHERE parentcustomerid IS NOT NULL) \
             LIMIT 1",
            &[],
        )
        .unwrap();
    if let Some(Value::Text(id)) = unrelated.rows.first().map(|r| r[0].clone()) {
        outbox
            .update(
                "accounts",
                &id,
                json!({"numberofemployees": 7}).as_object().unwrap(),
            )
            .unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            seen.lock().unwrap().len(),
            3,
            "the same result is not sent again"
        );
    }

    drop(handle);
    outbox.delete("tasks", &task).unwrap();
    outbox
        .update(
            "accounts",
            &acc_id,
            json!({"name": "After"}).as_object().unwrap(),
        )
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        seen.lock().unwrap().len(),
        3,
        "no call after the handle is dropped"
    );
}
