//! The diagnostics report a support engineer asks for: what it says about a
//! real app after a sync, a refused change and a pending one, and that the
//! log records it carries survive the app closing (they are kept in the
//! mirror). Its own test binary: the process-wide subscriber with the log
//! ring is this test's alone. No token, key or row value in it: the
//! secrets test (`security_logs.rs`) checks that.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{TOKEN, env};
use mooring_core::diagnostics::Report;
use mooring_core::{Mooring, MooringConfig, Profile, Secret, StaticToken, Store};
use tracing_subscriber::prelude::*;

const PROFILE: &str = r#"{"tables":[
  {"name":"accounts","columns":["name","telephone1"],"rows":"all"},
  {"name":"contacts","columns":["lastname","parentcustomerid"],"rows":"all"}]}"#;

fn obj(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match v {
        serde_json::Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_tells_a_support_engineer_what_happened() {
    tracing_subscriber::registry()
        .with(mooring_core::diagnostics::log_layer())
        .init();
    let env = env(120).await;
    let db = env.dir.join("mirror.db");
    let profile = Profile::from_json(PROFILE).unwrap();
    let mut cfg = MooringConfig::new(
        env.server.root_url(),
        Arc::new(StaticToken(Secret::new(TOKEN))),
        &db,
        profile,
    );
    cfg.remote.page_size = 50;
    cfg.schedule.upload_debounce = Duration::from_secs(3600);
    let app = Mooring::open(cfg).await.expect("open");
    app.sync_now().await.expect("first sync");
    // The server allows 50 characters in telephone1: refused, a sync error.
    app.create(
        "accounts",
        obj(serde_json::json!({"name": "Refused", "telephone1": "5".repeat(80)})),
    )
    .await
    .unwrap();
    app.upload_now().await.expect("the upload itself works");
    app.set_host_network(false, false);
    app.create("accounts", obj(serde_json::json!({"name": "Waiting"})))
        .await
        .unwrap();
    // An edit of a server row (not of the one just created, which would
    // merge into its create).
    let rows = app
        .query(mooring_core::Query::table("accounts"))
        .await
        .unwrap();
    let server_row = rows
        .iter()
        .find(|r| r["name"] != "Waiting")
        .and_then(|r| r["accountid"].as_str())
        .expect("a server row");
    app.update(
        "accounts",
        server_row,
        obj(serde_json::json!({"name": "Edited"})),
    )
    .await
    .unwrap();

    let r = app.diagnostics().await.expect("report");
    assert_eq!(r.versions.schema, mooring_core::store::SCHEMA_VERSION);
    assert_eq!(r.database.integrity, "ok");
    assert!(!r.database.encrypted);
    assert!(r.database.size_bytes > 0);
    assert_eq!(
        r.database.file, "mirror.db",
        "the file name, not the folder"
    );
    let profile = r.profile.as_ref().expect("the resolved profile");
    assert_eq!(
        profile.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["accounts", "contacts"]
    );
    assert_eq!(profile[0].columns, ["name", "telephone1"]);
    assert_eq!(profile[0].rows, "all");
    let accounts = r.tables.iter().find(|t| t.name == "accounts").unwrap();
    assert_eq!(accounts.phase, "ready");
    assert_eq!(
        accounts.rows, 121,
        "120 from the server and the one waiting"
    );
    assert!(accounts.change_tracked && !accounts.interrupted);
    assert!(accounts.last_synced_ms.is_some());
    assert_eq!(r.outbox.pending, 2);
    assert_eq!(
        (r.outbox.creates, r.outbox.updates, r.outbox.deletes),
        (1, 1, 0)
    );
    assert!(r.outbox.oldest_pending_age_secs.is_some());
    assert_eq!(r.sync_errors.len(), 1);
    assert_eq!(r.sync_errors[0].status, 400);
    assert_eq!(r.sync_errors[0].action, "create");
    assert_eq!(r.sync_errors[0].table, "accounts");
    let status = r.status.as_ref().expect("a live app's status");
    assert_eq!(status.pending_changes, 2);
    assert!(
        r.transitions.iter().any(|t| t.icon == "Syncing"),
        "the status changes: {:?}",
        r.transitions
    );
    let full = &r.runs[0];
    assert_eq!((full.kind.as_str(), full.outcome.as_str()), ("full", "ok"));
    // WhoAmI is the probe's; the run reads the schema, counts and pages
    // (120 accounts in pages of 50: three), at least.
    assert!(full.requests >= 5, "{full:?}");
    assert!(
        r.runs.iter().any(|run| run.kind == "upload"),
        "{:?}",
        r.runs
    );
    assert!(
        r.log.iter().any(|l| l.message.contains("initial sync")),
        "Mooring's log records: {:?}",
        r.log
    );
    let text = r.to_text();
    for section in [
        "## Database",
        "## Profile",
        "## Tables",
        "## Outbox",
        "## Sync errors (1)",
        "## Sync runs",
        "## Log",
    ] {
        assert!(text.contains(section), "{section} in\n{text}");
    }
    let json: serde_json::Value = serde_json::from_str(&r.to_json()).expect("JSON");
    assert_eq!(json["outbox"]["pending"], 2);
    app.close().await;
    drop(app);

    // Closed and reopened (the next launch, a crash before it): the log
    // records are still in the mirror.
    let store = Store::open(&db).expect("reopen");
    let again = Report::from_store(&store).expect("report from the file");
    assert!(again.status.is_none() && again.runs.is_empty());
    assert!(
        again.log.iter().any(|l| l.message.contains("initial sync")),
        "kept in the mirror: {:?}",
        again.log
    );
    assert_eq!(again.outbox.pending, 2);
}
