//! Initial sync against the in-process emulator: every sample table with
//! each row filter kind, honest progress, resume after a failure, and the
//! profile validated before any download.

use crate::common;

use common::*;
use mooring_core::Error;
use mooring_core::profile::Profile;
use mooring_core::store::{Store, TablePhase};
use mooring_core::sync::SyncEngine;

const ALL_TABLES: &str = r#"{"tables":[
  {"name":"accounts","columns":["name","accountnumber","telephone1","address1_city","revenue","numberofemployees","statecode","createdon","modifiedon"],"rows":"all"},
  {"name":"contacts","columns":["firstname","lastname","emailaddress1","parentcustomerid"],"rows":"all"},
  {"name":"opportunities","columns":["name","estimatedvalue","parentaccountid"],"rows":"all"},
  {"name":"tasks","columns":["subject","scheduledend","regardingobjectid"],"rows":"all"}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_sync_of_every_table_with_all_rows() {
    let env = env(250).await;
    let engine = env.engine(ALL_TABLES, 40).await;
    let (progress, seen) = recorder();
    let summary = engine.sync(progress).await.expect("sync");
    let store = engine.store();
    let n = assert_mirror(
        store,
        &env.admin,
        "accounts",
        "accountid",
        &[
            "name",
            "accountnumber",
            "telephone1",
            "address1_city",
            "revenue",
            "numberofemployees",
            "statecode",
            "createdon",
            "modifiedon",
        ],
        all,
    ) + assert_mirror(
        store,
        &env.admin,
        "contacts",
        "contactid",
        &["firstname", "lastname", "emailaddress1", "parentcustomerid"],
        all,
    ) + assert_mirror(
        store,
        &env.admin,
        "opportunities",
        "opportunityid",
        &["name", "estimatedvalue", "parentaccountid"],
        all,
    ) + assert_mirror(
        store,
        &env.admin,
        "tasks",
        "activityid",
        &["subject", "scheduledend", "regardingobjectid"],
        all,
    );
    assert_eq!(n, 1000);
    assert_eq!(
        (
            summary.tables,
            summary.rows,
            summary.downloaded_rows,
            summary.deleted_rows
        ),
        (4, 1000, 1000, 0)
    );
    // Lookup columns are indexed once their baseline is complete.
    let db = rusqlite::Connection::open(env.db()).unwrap();
    let indexed: Vec<String> = db
        .prepare("SELECT tbl_name || '.' || sql FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix_%' ORDER BY 1")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(indexed.len(), 3, "{indexed:?}");
    assert!(
        indexed
            .iter()
            .any(|i| i.starts_with("contacts.") && i.contains("\"parentcustomerid\"")),
        "{indexed:?}"
    );
    let due = engine.due_tables(i64::MAX / 2).await.unwrap();
    assert_eq!(due.len(), 4);
    assert!(
        engine.due_tables(0).await.unwrap().is_empty(),
        "all just synced"
    );
    for t in ["accounts", "contacts", "opportunities", "tasks"] {
        let s = store.table_state(t).unwrap().unwrap();
        assert_eq!(s.phase, TablePhase::Ready);
        assert!(s.delta_link.is_some(), "{t} has a delta link");
        assert!(s.next_link.is_none());
    }

    // Progress: totals known up front, never backwards, 100% only at the end.
    let seen = seen.lock().unwrap();
    let initial: Vec<_> = seen
        .iter()
        .filter(|p| p.phase == mooring_core::SyncKind::Initial)
        .collect();
    assert_eq!(initial[0].rows_total, 1000, "totals before the first page");
    assert_eq!(initial[0].tables_total, 4);
    let mut last = 0.0;
    for p in &initial {
        assert!(p.fraction() >= last, "fraction went backwards: {p:?}");
        assert!(p.rows_total >= 1000);
        assert!(p.finished || p.fraction() < 1.0);
        last = p.fraction();
    }
    let end = initial.last().unwrap();
    assert!(end.finished && end.rows_done == 1000 && end.tables_done == 4 && end.bytes > 0);
    assert!(
        initial.len() > 25,
        "an event per page, not just start and end"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owned_rows_only() {
    let env = env(200).await;
    let me = env.user_id(0);
    let engine = env
        .engine(
            r#"{"tables":[{"name":"accounts","columns":["name","ownerid"],"rows":"owned"}]}"#,
            30,
        )
        .await;
    let summary = engine.sync(quiet()).await.expect("sync");
    let n = assert_mirror(
        engine.store(),
        &env.admin,
        "accounts",
        "accountid",
        &["name", "ownerid"],
        owner_is(me),
    );
    assert!(n > 0 && n < 200, "some but not all rows are mine: {n}");
    assert_eq!(summary.rows, n as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_filter_ored_with_related_rows() {
    let env = env(150).await;
    let avery = env
        .admin
        .users()
        .iter()
        .find(|u| u.name == "Avery Quinn")
        .expect("seeded user")
        .id
        .to_string();
    // Tasks (all) point at contacts; contacts keep Avery's rows plus the
    // ones tasks point at. Accounts are reached only through contacts.
    let profile = format!(
        r#"{{"tables":[
          {{"name":"accounts","columns":["name"],"rows":"related"}},
          {{"name":"contacts","columns":["lastname","parentcustomerid","ownerid"],"rows":{{"filter":"_ownerid_value eq {avery}"}}}},
          {{"name":"tasks","columns":["subject","regardingobjectid"],"rows":"all"}}]}}"#
    );
    let engine = env.engine(&profile, 25).await;
    engine.sync(quiet()).await.expect("sync");
    let store = engine.store();
    assert_mirror(
        store,
        &env.admin,
        "tasks",
        "activityid",
        &["subject", "regardingobjectid"],
        all,
    );
    let referenced: std::collections::HashSet<String> = env
        .admin
        .rows("tasks")
        .unwrap()
        .iter()
        .filter_map(|r| {
            r.get("_regardingobjectid_value")
                .and_then(|v| v.as_str())
                .map(str::to_lowercase)
        })
        .collect();
    let avery2 = avery.clone();
    let contacts = assert_mirror(
        store,
        &env.admin,
        "contacts",
        "contactid",
        &["lastname", "parentcustomerid", "ownerid"],
        move |r| {
            owner_is(avery2.clone())(r)
                || referenced.contains(&r["contactid"].as_str().unwrap().to_lowercase())
        },
    );
    assert!(contacts > 0 && contacts < 150, "{contacts}");
    let held = store
        .query(&mooring_core::Query::table("contacts"))
        .unwrap();
    let accounts_wanted: std::collections::HashSet<String> = held
        .iter()
        .filter_map(|r| r["parentcustomerid"].as_str().map(str::to_lowercase))
        .collect();
    let accounts = assert_mirror(
        store,
        &env.admin,
        "accounts",
        "accountid",
        &["name"],
        move |r| accounts_wanted.contains(&r["accountid"].as_str().unwrap().to_lowercase()),
    );
    assert!(accounts > 0 && accounts < 150, "{accounts}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn profile_is_validated_before_any_download() {
    let env = env(50).await;
    let store = Store::open(env.db()).unwrap();
    for (profile, needle) in [
        (
            r#"{"tables":[{"name":"acounts","columns":["name"]}]}"#,
            "table acounts",
        ),
        (
            r#"{"tables":[{"name":"accounts","columns":["nmae"]}]}"#,
            "column nmae",
        ),
        (
            r#"{"tables":[{"name":"accounts","rows":{"filter":"statecode eq"}}]}"#,
            "statecode eq",
        ),
        (
            r#"{"tables":[{"name":"accounts","rows":{"filter":"bogus eq 1"}}]}"#,
            "column bogus",
        ),
    ] {
        let err = match Profile::from_json(profile) {
            Err(e) => e,
            Ok(p) => match SyncEngine::prepare(env.remote(100), store.clone(), &p).await {
                Err(e) => e,
                Ok(_) => panic!("{profile} should be refused"),
            },
        };
        assert!(matches!(err, Error::Profile(_)), "{err:?}");
        assert!(
            err.to_string().contains(needle),
            "{err} should name {needle}"
        );
    }
    assert_eq!(env.admin.stats().rows_served, 0, "nothing downloaded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_initial_sync_resumes_where_it_stopped() {
    let env = env(600).await;
    let profile =
        r#"{"tables":[{"name":"accounts","columns":["name","telephone1"],"rows":"all"}]}"#;
    {
        let engine = env.engine(profile, 50).await;
        // The server goes away after a few pages; retries give up.
        let admin = env.admin.clone();
        let cut = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let progress: mooring_core::ProgressFn =
            std::sync::Arc::new(move |p: &mooring_core::Progress| {
                if p.rows_done >= 200 && !cut.swap(true, std::sync::atomic::Ordering::SeqCst) {
                    admin.set_refusing_connections(true);
                }
            });
        let err = engine
            .initial(progress)
            .await
            .expect_err("the server went away");
        assert!(err.is_network(), "{err:?}");
    }
    env.admin.set_refusing_connections(false);
    let store = Store::open(env.db()).unwrap();
    let held_before = store.count("accounts").unwrap();
    assert!((200..600).contains(&held_before), "{held_before}");
    let state = store.table_state("accounts").unwrap().unwrap();
    assert!(state.next_link.is_some() && state.phase == TablePhase::Initial);
    // The app's next launch: one opener of the mirror at a time.
    drop(store);
    env.admin.reset_stats();
    let engine = env.engine(profile, 50).await;
    let summary = engine.initial(quiet()).await.expect("resume");
    assert_mirror(
        engine.store(),
        &env.admin,
        "accounts",
        "accountid",
        &["name", "telephone1"],
        all,
    );
    let served = env.admin.stats().rows_served;
    let missing = 600 - held_before;
    assert!(
        served <= missing + 50,
        "resume downloaded {served} rows for {missing} missing"
    );
    assert_eq!(summary.downloaded_rows, served);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_table_with_filtered_row_kinds_then_delta() {
    let env = env(120).await;
    let me = env.user_id(0);
    // accounts: a custom filter ORed with the rows contacts and opportunities
    // point at; contacts and tasks: owned; opportunities: a custom filter only.
    let profile = format!(
        r#"{{"tables":[
          {{"name":"accounts","columns":["name","statecode"],"rows":{{"filter":"statecode eq 1"}}}},
          {{"name":"contacts","columns":["lastname","parentcustomerid","ownerid"],"rows":"owned"}},
          {{"name":"opportunities","columns":["name","parentaccountid","ownerid"],"rows":{{"filter":"_ownerid_value ne {me}","related":false}}}},
          {{"name":"tasks","columns":["subject","regardingobjectid","ownerid"],"rows":"owned"}}]}}"#
    );
    let engine = env.engine(&profile, 20).await;

    let check = |store: &mooring_core::Store| {
        let mine = owner_is(me.clone());
        let contacts = assert_mirror(
            store,
            &env.admin,
            "contacts",
            "contactid",
            &["lastname", "parentcustomerid", "ownerid"],
            &mine,
        );
        let tasks = assert_mirror(
            store,
            &env.admin,
            "tasks",
            "activityid",
            &["subject", "regardingobjectid", "ownerid"],
            &mine,
        );
        let not_mine = |r: &serde_json::Map<String, serde_json::Value>| !mine(r);
        let opps = assert_mirror(
            store,
            &env.admin,
            "opportunities",
            "opportunityid",
            &["name", "parentaccountid", "ownerid"],
            not_mine,
        );
        let mut pointed: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (t, c) in [
            ("contacts", "parentcustomerid"),
            ("opportunities", "parentaccountid"),
        ] {
            for r in store.query(&mooring_core::Query::table(t)).unwrap() {
                if let Some(v) = r[c].as_str() {
                    pointed.insert(v.to_lowercase());
                }
            }
        }
        let accounts = assert_mirror(
            store,
            &env.admin,
            "accounts",
            "accountid",
            &["name", "statecode"],
            move |r| {
                r["statecode"] == 1
                    || pointed.contains(&r["accountid"].as_str().unwrap().to_lowercase())
            },
        );
        for n in [contacts, tasks, opps, accounts] {
            assert!(
                n > 0 && n < 120,
                "a real subset: {contacts} {tasks} {opps} {accounts}"
            );
        }
    };
    engine.sync(quiet()).await.expect("initial");
    check(engine.store());

    // Server-side changes that move rows in and out of every filter.
    let users = env.admin.users();
    let avery = users.iter().find(|u| u.name == "Avery Quinn").unwrap().id;
    let uid = users[0].id;
    let contacts = env.admin.rows("contacts").unwrap();
    let mine_contact = contacts.iter().find(|r| owner_is(me.clone())(r)).unwrap();
    let their_contact = contacts.iter().find(|r| !owner_is(me.clone())(r)).unwrap();
    let give = serde_json::json!({"ownerid@odata.bind": format!("/systemusers({avery})")});
    let take = serde_json::json!({"ownerid@odata.bind": format!("/systemusers({uid})")});
    env.admin
        .update_row(
            "contacts",
            mine_contact["contactid"].as_str().unwrap().parse().unwrap(),
            uid,
            give,
        )
        .unwrap();
    env.admin
        .update_row(
            "contacts",
            their_contact["contactid"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap(),
            uid,
            take,
        )
        .unwrap();
    let account = env
        .admin
        .rows("accounts")
        .unwrap()
        .into_iter()
        .find(|r| r["statecode"] == 0)
        .unwrap();
    env.admin
        .update_row(
            "accounts",
            account["accountid"].as_str().unwrap().parse().unwrap(),
            uid,
            serde_json::json!({"statecode": 1}),
        )
        .unwrap();
    let task = env
        .admin
        .rows("tasks")
        .unwrap()
        .into_iter()
        .find(|r| owner_is(me.clone())(r))
        .unwrap();
    env.admin
        .delete_row(
            "tasks",
            task["activityid"].as_str().unwrap().parse().unwrap(),
        )
        .unwrap();
    engine.delta(quiet()).await.expect("delta");
    check(engine.store());
}

/// The round trips of a first sync are counted (emulator stats), so a
/// regression fails here. A first sync of N small tables: the list of
/// tables, the N details and the totals (those two at once), one page per
/// table; no delta right after a baseline. The next sync: one small request
/// per table whose delta is empty. The pages travel gzip-compressed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_sync_makes_the_requests_it_needs_and_no_more() {
    let env = env(120).await;
    let n = 4;
    env.admin.reset_stats();
    let engine = env.engine(ALL_TABLES, 5000).await;
    let summary = engine.sync(quiet()).await.expect("first sync");
    let s = env.admin.stats();
    // Labels: one request per table and kind of choice column the profile
    // keeps (here accounts' statecode).
    assert_eq!(
        s.requests,
        1 + n + 1 + 1 + n,
        "list, details, totals, choice labels, pages: {s:?}"
    );
    assert!(summary.wire_bytes * 3 < summary.bytes, "{summary:?}");
    assert!(s.wire_bytes < s.body_bytes, "{s:?}");

    env.admin.reset_stats();
    engine.sync(quiet()).await.expect("delta");
    assert_eq!(env.admin.stats().requests, n, "one empty delta per table");

    // Through the app facade: the scheduler's probe (WhoAmI) is the one
    // extra request, and the engine reuses the connection pool.
    let env = common::env(120).await;
    env.admin.reset_stats();
    let profile = Profile::from_json(ALL_TABLES).expect("profile");
    let tokens = std::sync::Arc::new(mooring_core::StaticToken(TOKEN.into()));
    let mut c = mooring_core::MooringConfig::new(env.server.root_url(), tokens, env.db(), profile);
    c.schedule = mooring_core::ScheduleConfig {
        upload_debounce: std::time::Duration::from_secs(3600),
        delta_interval: None,
        ..mooring_core::ScheduleConfig::default()
    };
    let app = mooring_core::Mooring::open(c).await.expect("open");
    app.sync_now().await.expect("first sync");
    assert_eq!(
        env.admin.stats().requests,
        1 + 1 + n + 1 + 1 + n,
        "probe, list, details, totals, choice labels, pages"
    );
    // The labels are remembered with the profile: the next sync does not
    // ask for them again.
    env.admin.reset_stats();
    app.sync_now().await.expect("second sync");
    let again = env.admin.stats().requests;
    env.admin.reset_stats();
    app.sync_now().await.expect("third sync");
    assert_eq!(
        env.admin.stats().requests,
        again,
        "the same requests each time"
    );
    assert!(
        again <= 1 + n + n,
        "list, details and deltas at most: {again}"
    );
    app.close().await;
}
