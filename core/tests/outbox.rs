//! The outbox against the emulator over real loopback HTTP and real SQLite
//! files: offline create/update/delete then upload, validation, merge rules,
//! parent/child order, round trips, conflicts per mode, rejected changes
//! (listed, retried, discarded), faults during upload, downloads that keep
//! pending changes, restarts.

use crate::common;
use mooring_core::remote::TokenFuture;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use mooring_core::outbox::{ConflictMode, Outbox, OutboxConfig, SyncErrorKind, WriteError};
use mooring_core::store::Store;
use mooring_core::{Error, SyncEngine};
use serde_json::{Map, Value as J, json};
use uuid::Uuid;

const PROFILE: &str = r#"{"tables":[
    {"name":"accounts","columns":["name","telephone1","revenue","numberofemployees","createdon"],"rows":"all"},
    {"name":"contacts","columns":["firstname","lastname","parentcustomerid"],"rows":"all"}]}"#;
const ACCOUNT_COLS: &[&str] = &["name", "telephone1", "revenue", "numberofemployees"];
const CONTACT_COLS: &[&str] = &["firstname", "lastname", "parentcustomerid"];

fn obj(v: J) -> Map<String, J> {
    match v {
        J::Object(m) => m,
        _ => panic!("not an object"),
    }
}

async fn ready(env: &Env) -> SyncEngine {
    let engine = env.engine(PROFILE, 500).await;
    engine.sync(quiet()).await.expect("sync");
    engine
}

fn outbox(engine: &SyncEngine, batch_size: usize) -> Outbox {
    engine.outbox(OutboxConfig {
        batch_size,
        ..OutboxConfig::default()
    })
}

fn first_ids(admin: &mooring_devserver::Admin, table: &str, key: &str, n: usize) -> Vec<String> {
    admin
        .rows(table)
        .unwrap()
        .iter()
        .take(n)
        .map(|r| r[key].as_str().unwrap().to_lowercase())
        .collect()
}

fn server_row(admin: &mooring_devserver::Admin, table: &str, id: &str) -> Option<Map<String, J>> {
    admin.row(table, Uuid::parse_str(id).unwrap()).unwrap()
}

fn assert_synced(store: &Store, admin: &mooring_devserver::Admin) {
    assert_mirror(store, admin, "accounts", "accountid", ACCOUNT_COLS, all);
    assert_mirror(store, admin, "contacts", "contactid", CONTACT_COLS, all);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_create_update_delete_then_upload() {
    let env = env(20).await;
    let engine = ready(&env).await;
    let ob = outbox(&engine, 100);
    let ids = first_ids(&env.admin, "accounts", "accountid", 2);

    let new_id = ob
        .create(
            "accounts",
            &obj(json!({"name": "Offline Co", "revenue": 12.5, "numberofemployees": 7})),
        )
        .unwrap();
    ob.update("accounts", &ids[0], &obj(json!({"telephone1": "555-0100"})))
        .unwrap();
    ob.delete("accounts", &ids[1]).unwrap();

    // Queries see local changes at once; nothing reached the server.
    let s = engine.store();
    assert_eq!(
        s.get("accounts", &new_id).unwrap().unwrap()["name"],
        "Offline Co"
    );
    assert_eq!(
        s.get("accounts", &ids[0]).unwrap().unwrap()["telephone1"],
        "555-0100"
    );
    assert!(s.get("accounts", &ids[1]).unwrap().is_none());
    assert_eq!(ob.pending_count().unwrap(), 3);
    assert!(server_row(&env.admin, "accounts", &new_id).is_none());

    let sum = ob.upload().await.unwrap();
    assert_eq!((sum.uploaded, sum.rejected), (3, 0));
    assert_eq!(ob.pending_count().unwrap(), 0);
    assert_eq!(
        server_row(&env.admin, "accounts", &new_id).unwrap()["name"],
        "Offline Co"
    );
    assert_eq!(
        server_row(&env.admin, "accounts", &ids[0]).unwrap()["telephone1"],
        "555-0100"
    );
    assert!(server_row(&env.admin, "accounts", &ids[1]).is_none());
    // Server-set columns and the ETag came back with the acknowledgement.
    let row = s.get("accounts", &new_id).unwrap().unwrap();
    assert!(row["createdon"].is_string(), "{row:?}");
    assert_synced(s, &env.admin);
    // A delta afterwards changes nothing and keeps mirror == server.
    engine.delta(quiet()).await.unwrap();
    assert_synced(s, &env.admin);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_writes_are_typed_errors_and_write_nothing() {
    let env = env(5).await;
    let engine = ready(&env).await;
    let ob = outbox(&engine, 100);
    let id = first_ids(&env.admin, "accounts", "accountid", 1).remove(0);
    let before = engine.store().count("accounts").unwrap();
    let cases: Vec<(Result<(), Error>, &str)> = vec![
        (ob.create("nope", &Map::new()).map(|_| ()), "nope"),
        (
            ob.create("accounts", &obj(json!({"bogus": 1}))).map(|_| ()),
            "bogus",
        ),
        (
            ob.create("accounts", &obj(json!({"numberofemployees": "many"})))
                .map(|_| ()),
            "numberofemployees",
        ),
        (
            ob.update(
                "accounts",
                &id,
                &obj(json!({"createdon": "2020-01-01T00:00:00Z"})),
            ),
            "createdon",
        ),
        (
            ob.create(
                "contacts",
                &obj(json!({"parentcustomerid": Uuid::new_v4().to_string()})),
            )
            .map(|_| ()),
            "parentcustomerid",
        ),
        (
            ob.update(
                "accounts",
                &Uuid::new_v4().to_string(),
                &obj(json!({"name": "x"})),
            ),
            "no row",
        ),
    ];
    for (r, needle) in cases {
        let e = r.unwrap_err();
        assert!(matches!(e, Error::Write(_)), "{e:?}");
        assert!(e.to_string().contains(needle), "{e} should name {needle}");
    }
    let e = ob
        .create("accounts", &obj(json!({"revenue": "x"})))
        .unwrap_err();
    assert!(
        matches!(e, Error::Write(WriteError::WrongType { .. })),
        "{e:?}"
    );
    assert_eq!(ob.pending_count().unwrap(), 0);
    assert_eq!(engine.store().count("accounts").unwrap(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merge_rules() {
    let env = env(10).await;
    let engine = ready(&env).await;
    let ob = outbox(&engine, 100);
    let ids = first_ids(&env.admin, "accounts", "accountid", 2);

    // create + update = one create with merged values
    let a = ob
        .create("accounts", &obj(json!({"name": "A", "telephone1": "1"})))
        .unwrap();
    ob.update(
        "accounts",
        &a,
        &obj(json!({"telephone1": "2", "numberofemployees": 3})),
    )
    .unwrap();
    // create + delete = nothing
    let b = ob.create("accounts", &obj(json!({"name": "B"}))).unwrap();
    ob.delete("accounts", &b).unwrap();
    // update + update = one update of the changed columns
    ob.update("accounts", &ids[0], &obj(json!({"name": "U1"})))
        .unwrap();
    ob.update("accounts", &ids[0], &obj(json!({"telephone1": "T1"})))
        .unwrap();
    // update + delete = delete
    ob.update("accounts", &ids[1], &obj(json!({"name": "gone soon"})))
        .unwrap();
    ob.delete("accounts", &ids[1]).unwrap();
    assert_eq!(ob.pending_count().unwrap(), 3, "one change per row");

    env.admin.reset_stats();
    let sum = ob.upload().await.unwrap();
    assert_eq!(sum.uploaded, 3);
    assert_eq!(env.admin.stats().requests, 1, "one $batch");
    let ra = server_row(&env.admin, "accounts", &a).unwrap();
    assert_eq!(
        (
            ra["name"].as_str(),
            ra["telephone1"].as_str(),
            ra["numberofemployees"].as_i64()
        ),
        (Some("A"), Some("2"), Some(3))
    );
    assert!(server_row(&env.admin, "accounts", &b).is_none());
    let r0 = server_row(&env.admin, "accounts", &ids[0]).unwrap();
    assert_eq!(
        (r0["name"].as_str(), r0["telephone1"].as_str()),
        (Some("U1"), Some("T1"))
    );
    assert!(server_row(&env.admin, "accounts", &ids[1]).is_none());
    assert_synced(engine.store(), &env.admin);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parent_create_goes_before_child_create_and_survives_restart() {
    let env = env(3).await;
    for batch in [1usize, 100] {
        let (parent, child, late);
        {
            let engine = ready(&env).await;
            let ob = outbox(&engine, batch);
            let existing = first_ids(&env.admin, "contacts", "contactid", 1).remove(0);
            // An older change to a row, then a lookup from it to a newer row:
            // the new row's create must still go first.
            ob.update("contacts", &existing, &obj(json!({"firstname": "Early"})))
                .unwrap();
            parent = ob
                .create("accounts", &obj(json!({"name": format!("Parent {batch}")})))
                .unwrap();
            child = ob
                .create(
                    "contacts",
                    &obj(json!({"lastname": "Child", "parentcustomerid": parent})),
                )
                .unwrap();
            ob.update(
                "contacts",
                &existing,
                &obj(json!({"parentcustomerid": parent})),
            )
            .unwrap();
            late = existing;
            assert_eq!(ob.pending_count().unwrap(), 4);
        }
        // A restart: the queue is in SQLite.
        let engine = env.engine(PROFILE, 500).await;
        let ob = outbox(&engine, batch);
        assert_eq!(ob.pending_count().unwrap(), 4);
        let sum = ob.upload().await.unwrap();
        assert_eq!((sum.uploaded, sum.rejected), (4, 0), "batch {batch}");
        let c = server_row(&env.admin, "contacts", &child).unwrap();
        assert_eq!(c["_parentcustomerid_value"].as_str(), Some(parent.as_str()));
        let l = server_row(&env.admin, "contacts", &late).unwrap();
        assert_eq!(l["_parentcustomerid_value"].as_str(), Some(parent.as_str()));
        assert_eq!(l["firstname"].as_str(), Some("Early"));
        assert_synced(engine.store(), &env.admin);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_offline_changes_take_few_round_trips() {
    let env = env(500).await;
    let engine = ready(&env).await;
    let ob = outbox(&engine, 100);
    let ids = first_ids(&env.admin, "accounts", "accountid", 500);
    for (i, id) in ids.iter().enumerate() {
        ob.create(
            "accounts",
            &obj(json!({"name": format!("bulk {i}"), "numberofemployees": i})),
        )
        .unwrap();
        ob.update("accounts", id, &obj(json!({"telephone1": format!("t{i}")})))
            .unwrap();
    }
    assert_eq!(ob.pending_count().unwrap(), 1000);
    env.admin.reset_stats();
    let sum = ob.upload().await.unwrap();
    let requests = env.admin.stats().requests;
    assert_eq!(sum.uploaded, 1000);
    assert!(requests <= 10, "{requests} round trips for 1000 changes");
    assert_synced(engine.store(), &env.admin);
}

async fn conflict_case(mode: ConflictMode) {
    let env = env_with(mooring_devserver::Config {
        seed_rows: 5,
        token: TOKEN.into(),
        extra_users: vec![("Second User".into(), "second-token".into())],
        ..Default::default()
    })
    .await;
    let engine = ready(&env).await;
    let mut conflict = HashMap::new();
    conflict.insert("accounts".to_string(), mode);
    let ob = engine.outbox(OutboxConfig {
        batch_size: 100,
        conflict,
    });
    let other = env
        .admin
        .users()
        .iter()
        .find(|u| u.name == "Second User")
        .unwrap()
        .id;
    let id = first_ids(&env.admin, "accounts", "accountid", 1).remove(0);

    ob.update("accounts", &id, &obj(json!({"name": "mine"})))
        .unwrap();
    env.admin
        .update_row(
            "accounts",
            Uuid::parse_str(&id).unwrap(),
            other,
            json!({"name": "theirs", "telephone1": "their phone"}),
        )
        .unwrap();
    let untouched = ob
        .create("accounts", &obj(json!({"name": "unrelated"})))
        .unwrap();
    let sum = ob.upload().await.unwrap();
    let server = server_row(&env.admin, "accounts", &id).unwrap();
    match mode {
        ConflictMode::LastWriteWins => {
            assert_eq!((sum.uploaded, sum.rejected), (2, 0));
            // Per column: our name, their phone.
            assert_eq!(server["name"], "mine");
            assert_eq!(server["telephone1"], "their phone");
            assert_eq!(ob.sync_error_count().unwrap(), 0);
        }
        ConflictMode::Detect => {
            assert_eq!((sum.uploaded, sum.rejected), (1, 1));
            assert_eq!(server["name"], "theirs", "server wins");
            let errs = ob.sync_errors().unwrap();
            assert_eq!(errs.len(), 1);
            assert_eq!(
                (errs[0].kind, errs[0].status, errs[0].row_id.as_str()),
                (SyncErrorKind::Conflict, 412, id.as_str())
            );
            assert_eq!(errs[0].data["name"], "mine");
            // The mirror shows the server's row at once.
            assert_eq!(
                engine.store().get("accounts", &id).unwrap().unwrap()["name"],
                "theirs"
            );
        }
    }
    assert!(
        server_row(&env.admin, "accounts", &untouched).is_some(),
        "the queue went on"
    );
    assert_eq!(ob.pending_count().unwrap(), 0);
    assert_synced(engine.store(), &env.admin);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_edit_last_write_wins_per_column() {
    conflict_case(ConflictMode::LastWriteWins).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_edit_detected_server_wins_and_is_recorded() {
    conflict_case(ConflictMode::Detect).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_changes_are_listed_retried_and_discarded() {
    let env = env(10).await;
    let engine = ready(&env).await;
    let ob = outbox(&engine, 100);
    let ids = first_ids(&env.admin, "accounts", "accountid", 3);

    // 1: a validation error (name longer than the server's 160 characters)
    ob.update("accounts", &ids[0], &obj(json!({"name": "x".repeat(500)})))
        .unwrap();
    // 2: the row was deleted on the server meanwhile
    ob.update(
        "accounts",
        &ids[1],
        &obj(json!({"telephone1": "for a ghost"})),
    )
    .unwrap();
    env.admin
        .delete_row("accounts", Uuid::parse_str(&ids[1]).unwrap())
        .unwrap();
    // 3: a good change after both, in the same change set
    ob.update("accounts", &ids[2], &obj(json!({"name": "fine"})))
        .unwrap();

    let sum = ob.upload().await.unwrap();
    assert_eq!((sum.uploaded, sum.rejected), (1, 2));
    assert_eq!(
        server_row(&env.admin, "accounts", &ids[2]).unwrap()["name"],
        "fine"
    );
    let errs = ob.sync_errors().unwrap();
    assert_eq!(errs.len(), 2);
    assert_eq!(
        (errs[0].status, errs[0].kind, errs[0].table.as_str()),
        (400, SyncErrorKind::Other, "accounts")
    );
    assert!(!errs[0].message.is_empty() && errs[0].at_ms > 0);
    assert_eq!(
        (errs[1].status, errs[1].kind),
        (404, SyncErrorKind::RecordNotFound)
    );
    assert_eq!(errs[1].action.as_str(), "update");
    assert_eq!(errs[1].data["telephone1"], "for a ghost");
    // Rows are back to the server's state: the ghost is gone, the long
    // name reverted.
    assert!(engine.store().get("accounts", &ids[1]).unwrap().is_none());
    assert_ne!(
        engine.store().get("accounts", &ids[0]).unwrap().unwrap()["name"],
        J::String("x".repeat(500))
    );
    assert_eq!(ob.pending_count().unwrap(), 0);
    assert_synced(engine.store(), &env.admin);

    // Retry: the ghost's change comes back as a create with its values.
    ob.retry_sync_error(errs[1].id).unwrap();
    assert_eq!(ob.pending_count().unwrap(), 1);
    assert_eq!(
        engine.store().get("accounts", &ids[1]).unwrap().unwrap()["telephone1"],
        "for a ghost"
    );
    let sum = ob.upload().await.unwrap();
    assert_eq!((sum.uploaded, sum.rejected), (1, 0));
    assert_eq!(
        server_row(&env.admin, "accounts", &ids[1]).unwrap()["telephone1"],
        "for a ghost"
    );

    // Discard: the row keeps the server's state, the list empties.
    ob.discard_sync_error(errs[0].id).unwrap();
    assert_eq!(ob.sync_error_count().unwrap(), 0);
    assert!(ob.discard_sync_error(errs[0].id).is_err());
    assert_synced(engine.store(), &env.admin);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_throttling_and_dropped_connections_during_upload() {
    let env = env(50).await;
    let engine = ready(&env).await;
    let ob = outbox(&engine, 20);
    let ids = first_ids(&env.admin, "accounts", "accountid", 50);
    let mut created = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        created.push(
            ob.create("accounts", &obj(json!({"name": format!("fault {i}")})))
                .unwrap(),
        );
        ob.update(
            "accounts",
            id,
            &obj(json!({"numberofemployees": i as i64 + 1000})),
        )
        .unwrap();
    }
    env.admin.fail_next(2, 500);
    let sum = ob.upload().await.unwrap();
    assert_eq!(sum.uploaded, 100);

    for (i, id) in ids.iter().enumerate() {
        ob.update("accounts", id, &obj(json!({"telephone1": format!("p{i}")})))
            .unwrap();
    }
    env.admin.fail_next(2, 429);
    let sum = ob.upload().await.unwrap();
    assert_eq!(sum.uploaded, 50);

    for (i, id) in ids.iter().enumerate() {
        ob.update(
            "accounts",
            id,
            &obj(json!({"name": format!("dropped {i}")})),
        )
        .unwrap();
    }
    env.admin.set_refusing_connections(true);
    let admin = env.admin.clone();
    // Well inside the client's retry budget (6 retries, 5 ms doubling to
    // 50 ms: about 175 ms of waits), even on a loaded 2-core machine: at
    // 150 ms the test failed now and then under load.
    let healer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(40)).await;
        admin.set_refusing_connections(false);
    });
    let sum = ob.upload().await.unwrap();
    healer.await.unwrap();
    assert_eq!(sum.uploaded, 50);
    assert_eq!(ob.pending_count().unwrap(), 0);
    assert_eq!(ob.sync_error_count().unwrap(), 0);
    // Each created row exists exactly once.
    let names: Vec<String> = env
        .admin
        .rows("accounts")
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str().map(String::from))
        .collect();
    for i in 0..50 {
        assert_eq!(
            names.iter().filter(|n| **n == format!("fault {i}")).count(),
            1
        );
    }
    assert_synced(engine.store(), &env.admin);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_upload_fails_cleanly_and_keeps_everything() {
    let env = env(5).await;
    let engine = ready(&env).await;
    let ob = outbox(&engine, 100);
    let a = ob
        .create("accounts", &obj(json!({"name": "kept"})))
        .unwrap();
    env.admin.set_refusing_connections(true);
    let e = ob.upload().await.unwrap_err();
    assert!(e.is_network(), "{e:?}");
    assert_eq!(ob.pending_count().unwrap(), 1);
    env.admin.set_refusing_connections(false);
    ob.upload().await.unwrap();
    assert!(server_row(&env.admin, "accounts", &a).is_some());
    assert_synced(engine.store(), &env.admin);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn downloads_keep_pending_changes() {
    let env = env(20).await;
    let engine = ready(&env).await;
    let ob = outbox(&engine, 100);
    let ids = first_ids(&env.admin, "accounts", "accountid", 3);
    let me = env.admin.users()[0].id;
    ob.update("accounts", &ids[0], &obj(json!({"name": "local name"})))
        .unwrap();
    ob.delete("accounts", &ids[1]).unwrap();
    let fresh = ob
        .create("accounts", &obj(json!({"name": "not uploaded yet"})))
        .unwrap();
    env.admin
        .update_row(
            "accounts",
            Uuid::parse_str(&ids[0]).unwrap(),
            me,
            json!({"name": "server name", "telephone1": "server phone"}),
        )
        .unwrap();
    env.admin
        .update_row(
            "accounts",
            Uuid::parse_str(&ids[1]).unwrap(),
            me,
            json!({"telephone1": "x"}),
        )
        .unwrap();

    // A delta brings both server edits: the local values win per column.
    engine.delta(quiet()).await.unwrap();
    let s = engine.store();
    let r0 = s.get("accounts", &ids[0]).unwrap().unwrap();
    assert_eq!(
        (r0["name"].as_str(), r0["telephone1"].as_str()),
        (Some("local name"), Some("server phone"))
    );
    assert!(
        s.get("accounts", &ids[1]).unwrap().is_none(),
        "a pending delete stays deleted"
    );
    assert!(s.get("accounts", &fresh).unwrap().is_some());

    // A re-baseline (expired delta token) sweeps stale rows, not pending ones.
    env.admin.expire_delta_tokens();
    engine.delta(quiet()).await.unwrap();
    let r0 = s.get("accounts", &ids[0]).unwrap().unwrap();
    assert_eq!(r0["name"], "local name");
    assert!(s.get("accounts", &ids[1]).unwrap().is_none());
    assert!(
        s.get("accounts", &fresh).unwrap().is_some(),
        "a pending create survives the sweep"
    );
    assert_eq!(ob.pending_count().unwrap(), 3);

    ob.upload().await.unwrap();
    engine.delta(quiet()).await.unwrap();
    assert_synced(s, &env.admin);
    assert_eq!(
        server_row(&env.admin, "accounts", &ids[0]).unwrap()["telephone1"],
        "server phone"
    );
}

/// A loopback proxy in front of the emulator that cuts the connection in
/// the middle of the next `n` `$batch` responses, after the server applied
/// the change set: the acknowledgement is lost, the changes are not.
async fn batch_cutter(
    upstream: u16,
    cut_after: usize,
) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::Ordering;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let budget = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let b2 = budget.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let budget = b2.clone();
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                else {
                    return;
                };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let (mut up, mut down) = (vec![0u8; 64 * 1024], vec![0u8; 64 * 1024]);
                // Bytes of the current $batch response forwarded so far.
                let mut cutting: Option<usize> = None;
                loop {
                    tokio::select! {
                        n = cr.read(&mut up) => {
                            let Ok(n) = n else { return };
                            if n == 0 { return; }
                            let chunk = &up[..n];
                            let is_batch = chunk.starts_with(b"POST ") && chunk.windows(6).any(|w| w == b"$batch");
                            if is_batch && budget.load(Ordering::SeqCst) > 0 {
                                budget.fetch_sub(1, Ordering::SeqCst);
                                cutting = Some(0);
                            }
                            if sw.write_all(chunk).await.is_err() { return; }
                        }
                        n = sr.read(&mut down) => {
                            let Ok(n) = n else { return };
                            if n == 0 { return; }
                            match cutting {
                                Some(sent) => {
                                    let keep = cut_after.saturating_sub(sent).min(n);
                                    let _ = cw.write_all(&down[..keep]).await;
                                    if sent + n >= cut_after {
                                        return; // drop both sides mid-body
                                    }
                                    cutting = Some(sent + n);
                                }
                                None => if cw.write_all(&down[..n]).await.is_err() { return },
                            }
                        }
                    }
                }
            });
        }
    });
    (port, budget)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_batch_responses_make_no_duplicates() {
    let env = env(100).await;
    let engine = ready(&env).await;
    let ob = outbox(&engine, 25);
    let ids = first_ids(&env.admin, "accounts", "accountid", 100);
    let mut names = Vec::new();
    for i in 0..60 {
        let name = format!("cut {i}");
        ob.create("accounts", &obj(json!({"name": name}))).unwrap();
        names.push(name);
    }
    for (i, id) in ids.iter().take(30).enumerate() {
        ob.update(
            "accounts",
            id,
            &obj(json!({"numberofemployees": 5000 + i as i64})),
        )
        .unwrap();
    }
    for id in ids.iter().skip(30).take(10) {
        ob.delete("accounts", id).unwrap();
    }
    let (port, budget) = batch_cutter(env.server.port(), 400).await;
    budget.store(3, std::sync::atomic::Ordering::SeqCst);
    let mut cfg = mooring_core::RemoteConfig::new(format!("http://127.0.0.1:{port}"));
    cfg.backoff_base = Duration::from_millis(5);
    cfg.backoff_cap = Duration::from_millis(50);
    let remote = mooring_core::Remote::new(
        cfg,
        std::sync::Arc::new(mooring_core::StaticToken(TOKEN.into())),
    )
    .unwrap();
    let sum = ob.with_remote(remote).upload().await.unwrap();
    assert_eq!(
        budget.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "three responses were cut"
    );
    assert_eq!((sum.uploaded, sum.rejected), (100, 0));
    let rows = env.admin.rows("accounts").unwrap();
    for n in &names {
        assert_eq!(
            rows.iter()
                .filter(|r| r["name"].as_str() == Some(n))
                .count(),
            1,
            "{n}"
        );
    }
    assert_eq!(rows.len(), 100 + 60 - 10);
    assert_eq!(ob.pending_count().unwrap(), 0);
    assert_synced(engine.store(), &env.admin);
}

/// Hands out an expired token until asked for a fresh one.
struct Expiring {
    refreshed: std::sync::atomic::AtomicU32,
}

impl mooring_core::TokenProvider for Expiring {
    fn token(&self, force_refresh: bool) -> TokenFuture<'_> {
        Box::pin(async move {
            if force_refresh {
                self.refreshed
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            let fresh = self.refreshed.load(std::sync::atomic::Ordering::SeqCst) > 0;
            Ok(mooring_core::Secret::from(if fresh {
                TOKEN
            } else {
                "expired"
            }))
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refreshed_once_during_upload() {
    let env = env(5).await;
    let engine = ready(&env).await;
    let ob = outbox(&engine, 100);
    for i in 0..3 {
        ob.create("accounts", &obj(json!({"name": format!("auth {i}")})))
            .unwrap();
    }
    let tokens = std::sync::Arc::new(Expiring {
        refreshed: 0.into(),
    });
    let remote = env.remote_with(500, tokens.clone());
    let sum = ob.with_remote(remote).upload().await.unwrap();
    assert_eq!(sum.uploaded, 3);
    assert_eq!(
        tokens.refreshed.load(std::sync::atomic::Ordering::SeqCst),
        1
    );
    assert_synced(engine.store(), &env.admin);
    // A token the server keeps refusing: Error::Auth, the queue kept.
    ob.create("accounts", &obj(json!({"name": "never"})))
        .unwrap();
    let bad = env.remote_with(
        500,
        std::sync::Arc::new(mooring_core::StaticToken("nope".into())),
    );
    let e = ob.with_remote(bad).upload().await.unwrap_err();
    assert!(e.is_auth(), "{e:?}");
    assert_eq!(ob.pending_count().unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filtered_tables_keep_pending_rows_through_refreshes() {
    let env = env(30).await;
    let profile = r#"{"tables":[
        {"name":"accounts","columns":["name"],"rows":"all"},
        {"name":"contacts","columns":["firstname","lastname","ownerid"],"rows":"owned"}]}"#;
    let engine = env.engine(profile, 500).await;
    engine.sync(quiet()).await.unwrap();
    let ob = outbox(&engine, 100);
    let mine = engine.store().count("contacts").unwrap();
    let id = ob
        .create("contacts", &obj(json!({"lastname": "Pending"})))
        .unwrap();
    // A refresh (filter pass, key pass, sweep) before the upload keeps it.
    engine.delta(quiet()).await.unwrap();
    assert!(engine.store().get("contacts", &id).unwrap().is_some());
    ob.upload().await.unwrap();
    // Created as the signed-in user, so it is "owned" and stays after
    // the next refresh, now as a server row.
    engine.delta(quiet()).await.unwrap();
    let row = engine.store().get("contacts", &id).unwrap().unwrap();
    assert_eq!(row["lastname"], "Pending");
    assert_eq!(engine.store().count("contacts").unwrap(), mine + 1);
    let me = env.user_id(0);
    assert_mirror(
        engine.store(),
        &env.admin,
        "contacts",
        "contactid",
        &["firstname", "lastname"],
        owner_is(me),
    );
}

/// Found by the chaos soak (docs/robustness.md): a row created locally and
/// uploaded while its table waits for a baseline that has not started (a
/// profile change that adds a column, or a new table), then deleted on the
/// server before that baseline starts, must be swept by it: the delta link
/// the baseline ends with starts after the delete, so nothing else would
/// ever remove the row from the mirror.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_uploaded_then_deleted_before_the_next_baseline_leaves_the_mirror() {
    let env = env(5).await;
    let narrow = r#"{"tables":[{"name":"accounts","columns":["name"],"rows":"all"}]}"#;
    let wide = r#"{"tables":[
        {"name":"accounts","columns":["name","telephone1"],"rows":"all"},
        {"name":"contacts","columns":["lastname"],"rows":"all"}]}"#;
    let engine = env.engine(narrow, 500).await;
    engine.sync(quiet()).await.unwrap();
    engine.store().close().unwrap();
    drop(engine);

    // The new profile re-baselines accounts (a new column) and adds
    // contacts; before the next sync the app writes and uploads.
    let engine = env.engine(wide, 500).await;
    let ob = outbox(&engine, 100);
    let account = ob
        .create("accounts", &obj(json!({"name": "made, then deleted"})))
        .unwrap();
    let kept = ob
        .create("accounts", &obj(json!({"name": "made and kept"})))
        .unwrap();
    let contact = ob
        .create("contacts", &obj(json!({"lastname": "made, then deleted"})))
        .unwrap();
    assert_eq!(ob.upload().await.unwrap().uploaded, 3);
    env.admin
        .delete_row("accounts", Uuid::parse_str(&account).unwrap())
        .unwrap();
    env.admin
        .delete_row("contacts", Uuid::parse_str(&contact).unwrap())
        .unwrap();

    engine.sync(quiet()).await.unwrap();
    let s = engine.store();
    assert!(s.get("accounts", &account).unwrap().is_none(), "swept");
    assert!(s.get("contacts", &contact).unwrap().is_none(), "swept");
    assert!(
        s.get("accounts", &kept).unwrap().is_some(),
        "still on the server"
    );
    assert_mirror(
        s,
        &env.admin,
        "accounts",
        "accountid",
        &["name", "telephone1"],
        all,
    );
    assert_mirror(s, &env.admin, "contacts", "contactid", &["lastname"], all);
    // And the next delta keeps it so.
    engine.delta(quiet()).await.unwrap();
    assert!(s.get("accounts", &account).unwrap().is_none());
}

/// A profile that drops a column the user changed offline: the change is
/// neither sent trimmed nor lost; it waits in the sync errors with its
/// value until the column is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_to_a_column_the_new_profile_drops_waits_in_the_sync_errors() {
    const WITHOUT_PHONE: &str = r#"{"tables":[
        {"name":"accounts","columns":["name","revenue","numberofemployees","createdon"],"rows":"all"},
        {"name":"contacts","columns":["firstname","lastname","parentcustomerid"],"rows":"all"}]}"#;
    let env = env(5).await;
    let engine = ready(&env).await;
    let id = first_ids(&env.admin, "accounts", "accountid", 1).remove(0);
    let before = server_row(&env.admin, "accounts", &id).unwrap();
    outbox(&engine, 100)
        .update(
            "accounts",
            &id,
            &obj(json!({"name": "Renamed offline", "telephone1": "555-0100"})),
        )
        .unwrap();
    drop(engine);

    let engine = env.engine(WITHOUT_PHONE, 500).await;
    let ob = outbox(&engine, 100);
    let sum = ob.upload().await.unwrap();
    assert_eq!((sum.uploaded, sum.rejected), (0, 1));
    let server = server_row(&env.admin, "accounts", &id).unwrap();
    assert_eq!(server["name"], before["name"], "nothing was sent trimmed");
    assert_eq!(server["telephone1"], before["telephone1"]);
    let errs = ob.sync_errors().unwrap();
    assert_eq!(errs.len(), 1);
    assert_eq!(errs[0].status, 0);
    assert!(
        errs[0].message.contains("telephone1"),
        "{}",
        errs[0].message
    );
    assert_eq!(errs[0].data["telephone1"], "555-0100");
    assert_eq!(errs[0].data["name"], "Renamed offline");
    // Retrying under this profile would trim the value: refused, kept.
    match ob.retry_sync_error(errs[0].id) {
        Err(Error::Write(WriteError::UnknownColumn { column, .. })) => {
            assert_eq!(column, "telephone1")
        }
        other => panic!("expected UnknownColumn, got {other:?}"),
    }
    assert_eq!(ob.sync_error_count().unwrap(), 1);
    drop((ob, engine));

    // The column is back: the retry sends both values.
    let engine = env.engine(PROFILE, 500).await;
    let ob = outbox(&engine, 100);
    let id_err = ob.sync_errors().unwrap()[0].id;
    ob.retry_sync_error(id_err).unwrap();
    let sum = ob.upload().await.unwrap();
    assert_eq!((sum.uploaded, sum.rejected), (1, 0));
    let server = server_row(&env.admin, "accounts", &id).unwrap();
    assert_eq!(server["telephone1"], "555-0100");
    assert_eq!(server["name"], "Renamed offline");
}
