//! Local transactions (`write_transaction`) against the emulator over real
//! loopback HTTP and real SQLite files: all of a transaction's writes reach
//! the mirror and the queue or none do; it uploads as one `$batch` change
//! set (dependent creates in it, parent first); a refusal of any part
//! leaves the server untouched and is one sync error (retry, discard); an
//! earlier attempt the answer of which was lost is recognised as applied.
//! The kill half (a process killed inside a transaction) is
//! `cli/tests/transaction_kill.rs`.

use crate::common;

use common::*;
use mooring_core::outbox::{Outbox, OutboxConfig, WriteError};
use mooring_core::store::{Op, Store};
use mooring_core::{Error, SyncEngine};
use serde_json::{Map, Value as J, json};
use uuid::Uuid;

const PROFILE: &str = r#"{"tables":[
    {"name":"accounts","columns":["name","telephone1"],"rows":"all"},
    {"name":"contacts","columns":["lastname","parentcustomerid"],"rows":"all"}]}"#;

fn obj(v: J) -> Map<String, J> {
    v.as_object().cloned().expect("an object")
}

async fn ready(env: &Env) -> (SyncEngine, Outbox) {
    let engine = env.engine(PROFILE, 500).await;
    engine.sync(quiet()).await.expect("sync");
    let ob = engine.outbox(OutboxConfig::default());
    (engine, ob)
}

fn count(store: &Store, sql: &str) -> i64 {
    match store.sql(sql, &[]).expect("sql").rows[0][0] {
        mooring_core::Value::Integer(n) => n,
        ref v => panic!("{v:?}"),
    }
}

fn server_names(env: &Env, table: &str, column: &str) -> Vec<String> {
    env.admin
        .rows(table)
        .unwrap()
        .iter()
        .filter_map(|r| r[column].as_str().map(str::to_string))
        .collect()
}

fn first_account(env: &Env) -> (String, String) {
    let r = &env.admin.rows("accounts").unwrap()[0];
    (
        r["accountid"].as_str().unwrap().to_lowercase(),
        r["name"].as_str().unwrap().to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_and_two_dependent_creates_upload_as_one_change_set() {
    let env = env(10).await;
    let (_engine, ob) = ready(&env).await;
    let (account, c1, c2) = ob
        .write_transaction(|tx| {
            let a = tx.create("accounts", &obj(json!({"name": "Parent Co"})))?;
            let c1 = tx.create(
                "contacts",
                &obj(json!({"lastname": "First", "parentcustomerid": a})),
            )?;
            let c2 = tx.create(
                "contacts",
                &obj(json!({"lastname": "Second", "parentcustomerid": a})),
            )?;
            Ok((a, c1, c2))
        })
        .unwrap();
    // One entry per row, all of one transaction, parent first.
    let pending = ob.store().pending_changes(10).unwrap();
    assert_eq!(pending.len(), 3);
    assert!(pending[0].transaction.is_some());
    assert!(
        pending
            .iter()
            .all(|p| p.transaction == pending[0].transaction)
    );
    assert_eq!(
        pending
            .iter()
            .map(|p| p.row_id.as_str())
            .collect::<Vec<_>>(),
        [account.as_str(), c1.as_str(), c2.as_str()]
    );
    assert!(
        pending
            .iter()
            .all(|p| p.op == Op::Create && p.attempts == 0)
    );

    env.admin.reset_stats();
    let sum = ob.upload().await.expect("upload");
    assert_eq!((sum.uploaded, sum.rejected), (3, 0));
    let stats = env.admin.stats();
    assert_eq!(stats.requests, 1, "one request: {stats:?}");
    assert_eq!(stats.batch_requests, 1);
    for id in [&c1, &c2] {
        let row = env
            .admin
            .row("contacts", Uuid::parse_str(id).unwrap())
            .unwrap()
            .expect("the contact is on the server");
        assert_eq!(
            row["_parentcustomerid_value"]
                .as_str()
                .map(str::to_lowercase),
            Some(account.clone()),
            "bound to the account created in the same change set"
        );
    }
    assert_eq!(ob.pending_count().unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_part_leaves_none_of_it_on_the_server_and_one_sync_error() {
    let env = env(10).await;
    let (engine, ob) = ready(&env).await;
    let (existing, old_name) = first_account(&env);
    // A single change before it and after it: they are not part of it.
    ob.create("accounts", &obj(json!({"name": "Before"})))
        .unwrap();
    ob.write_transaction(|tx| {
        tx.update("accounts", &existing, &obj(json!({"name": "Renamed"})))?;
        let a = tx.create(
            "accounts",
            // The server allows 50 characters in telephone1: refused.
            &obj(json!({"name": "Refused Co", "telephone1": "5".repeat(80)})),
        )?;
        tx.create(
            "contacts",
            &obj(json!({"lastname": "Child", "parentcustomerid": a})),
        )
    })
    .unwrap();
    ob.create("accounts", &obj(json!({"name": "After"})))
        .unwrap();
    assert_eq!(ob.pending_count().unwrap(), 5);

    let sum = ob.upload().await.expect("the upload itself works");
    assert_eq!((sum.uploaded, sum.rejected), (2, 1), "{sum:?}");
    let names = server_names(&env, "accounts", "name");
    assert!(names.contains(&"Before".to_string()) && names.contains(&"After".to_string()));
    assert!(
        names.contains(&old_name),
        "the update of the transaction was not applied"
    );
    assert!(!names.iter().any(|n| n == "Renamed" || n == "Refused Co"));
    assert!(!server_names(&env, "contacts", "lastname").contains(&"Child".to_string()));

    // One entry, holding the three changes; the mirror is the server's again.
    let errors = ob.sync_errors().unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(ob.sync_error_count().unwrap(), 1);
    let e = &errors[0];
    assert_eq!(e.status, 400);
    assert_eq!(
        e.transaction
            .iter()
            .map(|c| (c.table.as_str(), c.action))
            .collect::<Vec<_>>(),
        [
            ("accounts", Op::Update),
            ("accounts", Op::Create),
            ("contacts", Op::Create)
        ]
    );
    assert_eq!(ob.pending_count().unwrap(), 0);
    let store = engine.store();
    assert_eq!(
        count(
            store,
            "SELECT count(*) FROM accounts WHERE name IN ('Renamed', 'Refused Co')"
        ),
        0
    );
    assert_eq!(
        count(
            store,
            "SELECT count(*) FROM contacts WHERE lastname = 'Child'"
        ),
        0
    );
    assert_mirror(
        store,
        &env.admin,
        "accounts",
        "accountid",
        &["name", "telephone1"],
        all,
    );

    // Discard forgets all of it.
    ob.discard_sync_error(e.id).unwrap();
    assert_eq!(ob.sync_errors().unwrap(), vec![]);
    assert_eq!(ob.sync_error_count().unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_refused_whole_is_retried_whole() {
    let env = env(10).await;
    let (_engine, ob) = ready(&env).await;
    let (existing, _) = first_account(&env);
    ob.write_transaction(|tx| {
        let a = tx.create("accounts", &obj(json!({"name": "Retried Co"})))?;
        tx.create(
            "contacts",
            &obj(json!({"lastname": "Retried", "parentcustomerid": a})),
        )?;
        tx.update(
            "accounts",
            &existing,
            &obj(json!({"telephone1": "555-0199"})),
        )
    })
    .unwrap();
    // The server refuses the whole $batch request once.
    env.admin.fail_next(1, 400);
    let sum = ob.upload().await.unwrap();
    assert_eq!(sum.rejected, 1);
    let errors = ob.sync_errors().unwrap();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].transaction.len(), 3);

    ob.retry_sync_error(errors[0].id).unwrap();
    assert_eq!(ob.sync_error_count().unwrap(), 0);
    let pending = ob.store().pending_changes(10).unwrap();
    assert_eq!(pending.len(), 3);
    assert!(
        pending[0].transaction.is_some(),
        "queued again as a transaction"
    );
    assert!(
        pending
            .iter()
            .all(|p| p.transaction == pending[0].transaction)
    );

    env.admin.reset_stats();
    let sum = ob.upload().await.unwrap();
    assert_eq!((sum.uploaded, sum.rejected), (3, 0));
    assert_eq!(env.admin.stats().batch_requests, 1);
    assert!(server_names(&env, "accounts", "name").contains(&"Retried Co".to_string()));
    assert!(server_names(&env, "contacts", "lastname").contains(&"Retried".to_string()));
    let row = env
        .admin
        .row("accounts", Uuid::parse_str(&existing).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(row["telephone1"], "555-0199");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_or_nothing_in_the_mirror_and_the_queue() {
    let env = env(10).await;
    let (engine, ob) = ready(&env).await;
    let store = engine.store();
    let accounts = count(store, "SELECT count(*) FROM accounts");

    // The closure fails after two writes: neither stays.
    let err = ob
        .write_transaction(|tx| {
            tx.create("accounts", &obj(json!({"name": "Undone 1"})))?;
            tx.create("accounts", &obj(json!({"name": "Undone 2"})))?;
            Err::<(), _>(Error::Query("the app changed its mind".into()))
        })
        .unwrap_err();
    assert!(matches!(err, Error::Query(_)), "{err:?}");
    assert_eq!(count(store, "SELECT count(*) FROM accounts"), accounts);
    assert_eq!(ob.pending_count().unwrap(), 0);

    // A refused write comes back as its typed error; propagated, it undoes
    // the others.
    let err = ob
        .write_transaction(|tx| {
            tx.create("accounts", &obj(json!({"name": "Undone 3"})))?;
            tx.create("accounts", &obj(json!({"no_such_column": 1})))
        })
        .unwrap_err();
    assert!(
        matches!(err, Error::Write(WriteError::UnknownColumn { .. })),
        "{err:?}"
    );
    assert_eq!(count(store, "SELECT count(*) FROM accounts"), accounts);

    // A lookup at a row the transaction has not created is refused.
    let err = ob
        .write_transaction(|tx| {
            tx.create(
                "contacts",
                &obj(json!({"lastname": "Orphan", "parentcustomerid": Uuid::new_v4().to_string()})),
            )
        })
        .unwrap_err();
    assert!(
        matches!(err, Error::Write(WriteError::MissingLookupTarget { .. })),
        "{err:?}"
    );

    // A panic inside rolls back too, and the writer works afterwards.
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = ob.write_transaction(|tx| -> mooring_core::Result<()> {
            tx.create("accounts", &obj(json!({"name": "Undone 4"})))?;
            panic!("the app's closure panics");
        });
    }));
    assert!(caught.is_err());
    assert_eq!(count(store, "SELECT count(*) FROM accounts"), accounts);
    ob.create("accounts", &obj(json!({"name": "Still writable"})))
        .unwrap();

    // Swallowing a refused write keeps the others, and nothing of it.
    let id = ob
        .write_transaction(|tx| {
            let id = tx.create("accounts", &obj(json!({"name": "Kept"})))?;
            assert!(
                tx.update(
                    "accounts",
                    &Uuid::new_v4().to_string(),
                    &obj(json!({"name": "x"}))
                )
                .is_err()
            );
            Ok(id)
        })
        .unwrap();
    assert_eq!(count(store, "SELECT count(*) FROM accounts"), accounts + 2);
    assert_eq!(ob.pending_count().unwrap(), 2);
    assert!(
        ob.store()
            .pending_changes(5)
            .unwrap()
            .iter()
            .any(|p| p.row_id == id)
    );

    // More changes than one $batch takes: refused whole, before upload.
    let err = ob
        .write_transaction(|tx| {
            for i in 0..=mooring_core::outbox::MAX_TRANSACTION_CHANGES {
                tx.create("accounts", &obj(json!({"name": format!("Too many {i}")})))?;
            }
            Ok(())
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Write(WriteError::TransactionTooLarge {
                changes: 1001,
                max: 1000
            })
        ),
        "{err:?}"
    );
    assert_eq!(count(store, "SELECT count(*) FROM accounts"), accounts + 2);

    // A create with an id that is not a GUID is a typed error.
    let err = ob
        .write_transaction(|tx| tx.create_with_id("accounts", "not-a-guid", &Map::new()))
        .unwrap_err();
    assert!(
        matches!(err, Error::Write(WriteError::WrongType { .. })),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_earlier_attempt_whose_answer_was_lost_counts_as_applied() {
    let env = env(10).await;
    let (engine, ob) = ready(&env).await;
    let rows = env.admin.rows("accounts").unwrap();
    let id = |i: usize| rows[i]["accountid"].as_str().unwrap().to_lowercase();
    let (gone, renamed) = (id(0), id(1));
    let created = Uuid::new_v4().to_string();
    ob.write_transaction(|tx| {
        tx.delete("accounts", &gone)?;
        tx.update("accounts", &renamed, &obj(json!({"name": "Renamed once"})))?;
        tx.create_with_id("accounts", &created, &obj(json!({"name": "Made once"})))
    })
    .unwrap();
    // What the lost attempt did on the server: the retried change set now
    // fails there (the delete is a 404), yet all of it is in place.
    let user = Uuid::parse_str(&env.user_id(0)).unwrap();
    env.admin
        .delete_row("accounts", Uuid::parse_str(&gone).unwrap())
        .unwrap();
    env.admin
        .update_row(
            "accounts",
            Uuid::parse_str(&renamed).unwrap(),
            user,
            json!({"name": "Renamed once"}),
        )
        .unwrap();
    env.admin
        .create_row(
            "accounts",
            user,
            json!({"accountid": created, "name": "Made once"}),
        )
        .unwrap();
    let sum = ob.upload().await.unwrap();
    assert_eq!((sum.uploaded, sum.rejected), (3, 0), "{sum:?}");
    assert_eq!(ob.sync_error_count().unwrap(), 0);
    assert_eq!(ob.pending_count().unwrap(), 0);
    let names = server_names(&env, "accounts", "name");
    assert_eq!(names.iter().filter(|n| *n == "Made once").count(), 1);
    assert_mirror(
        engine.store(),
        &env.admin,
        "accounts",
        "accountid",
        &["name", "telephone1"],
        all,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_error_keeps_the_transaction_queued_and_counts_its_attempts() {
    let env = env(10).await;
    let (_engine, ob) = ready(&env).await;
    ob.write_transaction(|tx| {
        tx.create("accounts", &obj(json!({"name": "Waits Co"})))?;
        tx.create("accounts", &obj(json!({"name": "Waits Too"})))
    })
    .unwrap();
    // More 503s than the client's retries: the upload fails for now.
    env.admin.fail_next(50, 503);
    assert!(ob.upload().await.is_err());
    env.admin.clear_faults();
    let pending = ob.store().pending_changes(5).unwrap();
    assert_eq!(pending.len(), 2, "still queued, not a sync error");
    assert!(
        pending.iter().all(|p| p.in_flight && p.attempts == 1),
        "{pending:?}"
    );
    assert_eq!(ob.sync_error_count().unwrap(), 0);
    let sum = ob.upload().await.unwrap();
    assert_eq!(sum.uploaded, 2);
    assert_eq!(
        server_names(&env, "accounts", "name")
            .iter()
            .filter(|n| n.starts_with("Waits"))
            .count(),
        2
    );
}
