//! Delta sync against the in-process emulator: server-side creates,
//! updates and deletes; next links inside a delta; an expired token; a
//! profile change; filtered tables kept current.

use crate::common;

use common::*;
use mooring_core::store::Store;
use serde_json::json;
use uuid::Uuid;

const ACCOUNTS: &str = r#"{"tables":[{"name":"accounts","columns":["name","telephone1"],"rows":"all"},
  {"name":"contacts","columns":["lastname"],"rows":"all"}]}"#;

fn ids(admin: &mooring_devserver::Admin, table: &str, key: &str) -> Vec<Uuid> {
    admin
        .rows(table)
        .unwrap()
        .iter()
        .map(|r| r[key].as_str().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delta_applies_creates_updates_and_deletes() {
    let env = env(120).await;
    let engine = env.engine(ACCOUNTS, 50).await;
    engine.sync(quiet()).await.expect("first sync");
    let me = env.admin.users()[0].id;
    let accounts = ids(&env.admin, "accounts", "accountid");
    let created = env
        .admin
        .create_row(
            "accounts",
            me,
            json!({"name": "New Co", "telephone1": "555"}),
        )
        .unwrap();
    env.admin
        .update_row(
            "accounts",
            accounts[3],
            me,
            json!({"telephone1": "changed"}),
        )
        .unwrap();
    env.admin.delete_row("accounts", accounts[7]).unwrap();
    env.admin.delete_row("accounts", accounts[8]).unwrap();
    env.admin.reset_stats();

    let (progress, _) = recorder();
    let s = engine.delta(progress).await.expect("delta");
    let store = engine.store();
    assert_mirror(
        store,
        &env.admin,
        "accounts",
        "accountid",
        &["name", "telephone1"],
        all,
    );
    assert_mirror(
        store,
        &env.admin,
        "contacts",
        "contactid",
        &["lastname"],
        all,
    );
    assert_eq!(
        (s.downloaded_rows, s.deleted_rows, s.rows),
        (2, 2, 119 + 120)
    );
    assert!(
        store
            .get("accounts", &created.to_string())
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store
            .get("accounts", &accounts[3].to_string())
            .unwrap()
            .unwrap()["telephone1"],
        "changed"
    );
    assert!(
        store
            .get("accounts", &accounts[7].to_string())
            .unwrap()
            .is_none()
    );
    // Contacts had nothing new: one request, no rows.
    assert_eq!(env.admin.stats().requests, 2, "one delta request per table");

    // Nothing new at all: nothing downloaded, links refreshed.
    let s = engine.delta(quiet()).await.expect("empty delta");
    assert_eq!((s.downloaded_rows, s.deleted_rows), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_links_inside_a_delta_are_followed() {
    let env = env(60).await;
    let engine = env.engine(ACCOUNTS, 10).await;
    engine.sync(quiet()).await.expect("first sync");
    let me = env.admin.users()[0].id;
    let accounts = ids(&env.admin, "accounts", "accountid");
    for (i, id) in accounts.iter().take(25).enumerate() {
        env.admin
            .update_row("accounts", *id, me, json!({"name": format!("renamed {i}")}))
            .unwrap();
    }
    for id in accounts.iter().skip(40).take(12) {
        env.admin.delete_row("accounts", *id).unwrap();
    }
    env.admin.reset_stats();
    let s = engine.delta(quiet()).await.expect("delta");
    assert_mirror(
        engine.store(),
        &env.admin,
        "accounts",
        "accountid",
        &["name", "telephone1"],
        all,
    );
    assert_eq!((s.downloaded_rows, s.deleted_rows), (25, 12));
    assert!(
        env.admin.stats().requests >= 4,
        "the 37 changes came in pages of 10"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_rebaselines_only_that_table() {
    let env = env(80).await;
    let engine = env.engine(ACCOUNTS, 30).await;
    engine.sync(quiet()).await.expect("first sync");
    let me = env.admin.users()[0].id;
    let accounts = ids(&env.admin, "accounts", "accountid");
    env.admin.expire_delta_tokens();
    env.admin
        .update_row("accounts", accounts[0], me, json!({"name": "after expiry"}))
        .unwrap();
    env.admin.delete_row("accounts", accounts[1]).unwrap();
    env.admin.reset_stats();
    let s = engine.delta(quiet()).await.expect("delta re-baselines");
    let store = engine.store();
    assert_mirror(
        store,
        &env.admin,
        "accounts",
        "accountid",
        &["name", "telephone1"],
        all,
    );
    assert_mirror(
        store,
        &env.admin,
        "contacts",
        "contactid",
        &["lastname"],
        all,
    );
    assert_eq!(
        s.deleted_rows, 1,
        "the stale generation sweep removes the deleted row"
    );
    // Both tokens expired (the emulator expires all): each table re-read once.
    assert_eq!(env.admin.stats().rows_served, 79 + 80);
    // And delta works again afterwards.
    env.admin
        .update_row("accounts", accounts[2], me, json!({"name": "later"}))
        .unwrap();
    let s = engine
        .delta(quiet())
        .await
        .expect("delta after re-baseline");
    assert_eq!(s.downloaded_rows, 1);
    assert_mirror(
        store,
        &env.admin,
        "accounts",
        "accountid",
        &["name", "telephone1"],
        all,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_changes_refetch_only_the_changed_table() {
    let env = env(70).await;
    let store = Store::open(env.db()).unwrap();
    let p1 = r#"{"tables":[{"name":"accounts","columns":["name"],"rows":"all"},
        {"name":"contacts","columns":["lastname","firstname"],"rows":"all"},
        {"name":"tasks","columns":["subject"],"rows":"all"}]}"#;
    // One store for the test's reads and the engines: the mirror has one
    // opener at a time.
    let p1 = mooring_core::Profile::from_json(p1).unwrap();
    let (engine, _) = mooring_core::SyncEngine::prepare(env.remote(50), store.clone(), &p1)
        .await
        .unwrap();
    engine.sync(quiet()).await.expect("first sync");
    drop(engine);
    // accounts gains a column, contacts loses one, tasks leaves, opportunities joins.
    let p2 = r#"{"tables":[{"name":"accounts","columns":["name","telephone1"],"rows":"all"},
        {"name":"contacts","columns":["lastname"],"rows":"all"},
        {"name":"opportunities","columns":["name"],"rows":"all"}]}"#;
    let profile = mooring_core::Profile::from_json(p2).unwrap();
    let (engine, migration) =
        mooring_core::SyncEngine::prepare(env.remote(50), store.clone(), &profile)
            .await
            .unwrap();
    assert_eq!(migration.rebaselined, vec!["accounts"]);
    assert_eq!(migration.created, vec!["opportunities"]);
    assert_eq!(migration.dropped, vec!["tasks"]);
    // Readable during the re-baseline: the old rows are still there.
    assert_eq!(store.count("accounts").unwrap(), 70);
    env.admin.reset_stats();
    engine.sync(quiet()).await.expect("second sync");
    assert_eq!(
        env.admin.stats().rows_served,
        140,
        "accounts and opportunities only, contacts kept"
    );
    assert_mirror(
        &store,
        &env.admin,
        "accounts",
        "accountid",
        &["name", "telephone1"],
        all,
    );
    assert_mirror(
        &store,
        &env.admin,
        "contacts",
        "contactid",
        &["lastname"],
        all,
    );
    assert_mirror(
        &store,
        &env.admin,
        "opportunities",
        "opportunityid",
        &["name"],
        all,
    );
    assert!(store.tables().unwrap() == vec!["accounts", "contacts", "opportunities"]);
    assert!(
        store
            .query(&mooring_core::Query::table("contacts"))
            .unwrap()[0]
            .get("firstname")
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filtered_tables_follow_server_changes() {
    let env = env(100).await;
    let users = env.admin.users();
    let me = users[0].id;
    let other = users.iter().find(|u| u.name == "Avery Quinn").unwrap().id;
    let profile = r#"{"tables":[{"name":"accounts","columns":["name","ownerid"],"rows":"owned"}]}"#;
    let engine = env.engine(profile, 20).await;
    engine.sync(quiet()).await.expect("first sync");
    let mine = owner_is(me.to_string());
    let before = assert_mirror(
        engine.store(),
        &env.admin,
        "accounts",
        "accountid",
        &["name", "ownerid"],
        &mine,
    );
    let rows = env.admin.rows("accounts").unwrap();
    let my_ids: Vec<Uuid> = rows
        .iter()
        .filter(|r| mine(r))
        .map(|r| r["accountid"].as_str().unwrap().parse().unwrap())
        .collect();
    let their_ids: Vec<Uuid> = rows
        .iter()
        .filter(|r| !mine(r))
        .map(|r| r["accountid"].as_str().unwrap().parse().unwrap())
        .collect();
    // Renamed, deleted, given away, received, created.
    env.admin
        .update_row("accounts", my_ids[0], me, json!({"name": "renamed"}))
        .unwrap();
    env.admin.delete_row("accounts", my_ids[1]).unwrap();
    let give = json!({"ownerid@odata.bind": format!("/systemusers({other})")});
    env.admin
        .update_row("accounts", my_ids[2], me, give)
        .unwrap();
    let take = json!({"ownerid@odata.bind": format!("/systemusers({me})")});
    env.admin
        .update_row("accounts", their_ids[0], me, take)
        .unwrap();
    env.admin
        .create_row("accounts", me, json!({"name": "mine, new"}))
        .unwrap();
    let s = engine.delta(quiet()).await.expect("delta");
    let after = assert_mirror(
        engine.store(),
        &env.admin,
        "accounts",
        "accountid",
        &["name", "ownerid"],
        &mine,
    );
    assert_eq!(
        after, before,
        "-1 deleted, -1 given, +1 received, +1 created"
    );
    assert_eq!(s.deleted_rows, 2);
}
