//! The `Mooring` facade end to end against the emulator's fault injection:
//! the scheduler's decisions and the status they produce. Intervals are
//! shortened through `ScheduleConfig`, so nothing here sleeps for minutes.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{TOKEN, all, assert_mirror, env, env_with};
use mooring_core::remote::{TokenFuture, TokenProvider};
use mooring_core::status::{CanvasSync, Connectivity, UnreachableReason};
use mooring_core::{
    Error, Icon, Mooring, MooringConfig, Profile, ScheduleConfig, Secret, StaticToken, SyncStatus,
};
use mooring_devserver::Config;

const PROFILE: &str = r#"{"tables":[
  {"name":"accounts","columns":["name","telephone1"],"rows":"all"},
  {"name":"contacts","columns":["lastname","parentcustomerid"],"rows":"all"}]}"#;

fn fast_schedule() -> ScheduleConfig {
    ScheduleConfig {
        probe_timeout: Duration::from_secs(2),
        probe_interval: Duration::from_secs(30),
        upload_debounce: Duration::from_millis(100),
        retry_base: Duration::from_millis(200),
        retry_cap: Duration::from_secs(1),
        delta_interval: None,
    }
}

fn config(
    server_url: &str,
    db: std::path::PathBuf,
    tokens: Arc<dyn TokenProvider>,
    page_size: u32,
) -> MooringConfig {
    let profile = Profile::from_json(PROFILE).expect("profile");
    let mut c = MooringConfig::new(server_url, tokens, db, profile);
    c.remote.page_size = page_size;
    c.remote.backoff_base = Duration::from_millis(5);
    c.remote.backoff_cap = Duration::from_millis(50);
    c.remote.max_retries = 1;
    c.remote.connect_timeout = Duration::from_secs(2);
    c.remote.request_timeout = Duration::from_secs(10);
    c.schedule = fast_schedule();
    c
}

fn token() -> Arc<dyn TokenProvider> {
    Arc::new(StaticToken(Secret::new(TOKEN)))
}

/// Every status a listener saw, in order.
fn record(app: &Mooring) -> (mooring_core::StatusHandle, Arc<Mutex<Vec<SyncStatus>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    let handle = app.observe_status(move |s| s2.lock().unwrap().push(s.clone()));
    (handle, seen)
}

fn icons(seen: &Mutex<Vec<SyncStatus>>) -> Vec<Icon> {
    let mut out: Vec<Icon> = Vec::new();
    for s in seen.lock().unwrap().iter() {
        if out.last() != Some(&s.icon) {
            out.push(s.icon);
        }
    }
    out
}

/// Whether `want` appears in `have` in order (other icons may come between).
fn in_order(have: &[Icon], want: &[Icon]) -> bool {
    let mut it = have.iter();
    want.iter().all(|w| it.any(|h| h == w))
}

async fn wait_for(
    app: &Mooring,
    what: &str,
    limit: Duration,
    ok: impl Fn(&SyncStatus) -> bool,
) -> SyncStatus {
    let deadline = Instant::now() + limit;
    loop {
        let s = app.status();
        if ok(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; status now {:?} {}",
            s.icon,
            s.message.key
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_mid_initial_sync_then_back_resumes_where_it_stopped() {
    let env = env(2000).await;
    // Slow pages, so going offline lands in the middle.
    env.admin.set_latency(Duration::from_millis(25));
    let app = Mooring::open(config(&env.server.root_url(), env.db(), token(), 100))
        .await
        .expect("open");
    let (_h, seen) = record(&app);
    let before = wait_for(&app, "some rows", Duration::from_secs(30), |s| {
        s.initial_progress.is_some_and(|p| p.rows_done >= 600)
    })
    .await;
    assert_eq!(before.icon, Icon::Syncing);
    assert_eq!(before.canvas, CanvasSync::ConnectedRefresh);

    // The phone loses its network, and the server is unreachable too.
    env.admin.set_refusing_connections(true);
    app.set_host_network(false, false);
    let off = app.status();
    // A first sync interrupted half-way: not connected, its download
    // paused (docs/status.md).
    assert_eq!(off.connectivity, Connectivity::Offline);
    assert_eq!(off.icon, Icon::NotConnected);
    assert_eq!(off.canvas, CanvasSync::NotConnected);
    assert_eq!(off.message.key, "status.not_connected.first_sync_paused");
    let done_offline = off
        .initial_progress
        .expect("progress kept while interrupted")
        .rows_done;
    assert!(done_offline >= 600);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!app.status().initial_sync_complete);

    env.admin.set_refusing_connections(false);
    env.admin.set_latency(Duration::ZERO);
    app.set_host_network(true, false);
    let resumed_at = seen.lock().unwrap().len();
    let done = wait_for(
        &app,
        "connected after resume",
        Duration::from_secs(60),
        |s| s.icon == Icon::Connected,
    )
    .await;
    assert!(done.initial_sync_complete);
    assert!(done.last_synced_at_ms.is_some());

    // Resumed, not restarted: the first progress after reconnecting counts
    // the rows committed before.
    let after: Vec<u64> = seen.lock().unwrap()[resumed_at..]
        .iter()
        .filter_map(|s| s.initial_progress.map(|p| p.rows_done))
        .collect();
    assert!(
        after.first().is_some_and(|&n| n >= done_offline),
        "restarted from zero: {after:?}"
    );
    let icons = icons(&seen);
    assert!(
        in_order(
            &icons,
            &[
                Icon::Syncing,
                Icon::NotConnected,
                Icon::Syncing,
                Icon::Connected
            ]
        ),
        "{icons:?}"
    );
    assert_mirror(
        app.store(),
        &env.admin,
        "accounts",
        "accountid",
        &["name", "telephone1"],
        all,
    );
    assert_mirror(
        app.store(),
        &env.admin,
        "contacts",
        "contactid",
        &["lastname", "parentcustomerid"],
        all,
    );
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_launch_offline_says_the_first_sync_needs_a_connection() {
    let env = env(50).await;
    let mut c = config(&env.server.root_url(), env.db(), token(), 5000);
    c.host_online = false;
    let app = Mooring::open(c).await.expect("open works offline");
    let s = app.status();
    assert_eq!(s.icon, Icon::Warning);
    assert_eq!(s.message.key, "status.warning.first_sync_needs_connection");
    assert_eq!(s.message.title, "The first sync needs a connection");
    let e = app.sync_now().await.expect_err("no sync while offline");
    assert!(matches!(e, Error::Offline), "the real reason, typed: {e:?}");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        env.admin.stats().requests,
        0,
        "offline means no request at all"
    );

    app.set_host_network(true, false);
    app.sync_now().await.expect("sync once online");
    let s = app.status();
    assert_eq!(s.icon, Icon::Connected, "{}", s.message.key);
    assert!(s.initial_sync_complete);
    app.close().await;

    // Reopened offline, the mirror remembers it is complete.
    let mut c = config(&env.server.root_url(), env.db(), token(), 5000);
    c.host_online = false;
    let app = Mooring::open(c).await.expect("reopen");
    let s = app.status();
    assert_eq!(s.icon, Icon::NotConnected);
    assert!(s.initial_sync_complete && s.last_synced_at_ms.is_some());
    assert_eq!(
        app.query(mooring_core::Query::table("accounts"))
            .await
            .expect("reads offline")
            .len(),
        50
    );
    app.close().await;
}

/// A token the test can revoke and restore, as a host whose sign-in expired.
struct Switch(Mutex<String>);

impl TokenProvider for Switch {
    fn token(&self, _force_refresh: bool) -> TokenFuture<'_> {
        Box::pin(async move { Ok(Secret::new(self.0.lock().unwrap().clone())) })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_is_an_error_until_the_host_has_a_good_one() {
    let env = env(20).await;
    let tokens = Arc::new(Switch(Mutex::new(TOKEN.into())));
    let app = Mooring::open(config(
        &env.server.root_url(),
        env.db(),
        tokens.clone(),
        5000,
    ))
    .await
    .expect("open");
    app.sync_now().await.expect("first sync");
    *tokens.0.lock().unwrap() = "expired".into();
    let err = app
        .sync_now()
        .await
        .expect_err("the server refuses the token");
    assert!(
        !err.to_string().contains("expired"),
        "no token in errors: {err}"
    );
    let s = app.status();
    assert_eq!(s.icon, Icon::Error);
    assert_eq!(s.canvas, CanvasSync::ConnectedError);
    assert_eq!(s.message.key, "status.error.auth");
    assert_eq!(s.message.title, "Sign in again");
    // The host signs in again: the next probe sees it and sync resumes.
    *tokens.0.lock().unwrap() = TOKEN.into();
    wait_for(&app, "connected again", Duration::from_secs(10), |s| {
        s.icon == Icon::Connected
    })
    .await;
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_is_a_warning_that_clears_by_itself() {
    let env = env(20).await;
    let mut c = config(&env.server.root_url(), env.db(), token(), 5000);
    c.remote.max_throttle_retries = 1;
    let app = Mooring::open(c).await.expect("open");
    app.sync_now().await.expect("first sync");
    // More 429s (each with Retry-After: 1) than the client retries.
    env.admin.fail_next(3, 429);
    let e = app.sync_now().await.expect_err("throttled");
    assert!(
        matches!(e, Error::Throttled { retry_after: Some(d), .. } if d.as_secs() == 1),
        "throttled with the server's Retry-After: {e:?}"
    );
    let s = app.status();
    assert_eq!(s.icon, Icon::Warning);
    assert_eq!(s.canvas, CanvasSync::ConnectedWithWarning);
    assert_eq!(s.message.key, "status.warning.throttled");
    assert!(
        s.message.description.starts_with("Too many requests"),
        "{}",
        s.message.description
    );
    wait_for(&app, "throttling over", Duration::from_secs(15), |s| {
        s.icon == Icon::Connected
    })
    .await;
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_unreachable_while_the_os_says_online_is_a_warning() {
    let env = env(20).await;
    let app = Mooring::open(config(&env.server.root_url(), env.db(), token(), 5000))
        .await
        .expect("open");
    app.sync_now().await.expect("first sync");
    env.admin.set_refusing_connections(true);
    let e = app.sync_now().await.expect_err("server unreachable");
    assert!(matches!(e, Error::Network(_)), "{e:?}");
    let s = app.status();
    assert_eq!(s.icon, Icon::Warning);
    assert_eq!(s.canvas, CanvasSync::NotConnectedWithWarning);
    assert_eq!(s.message.key, "status.warning.server_unreachable");
    env.admin.set_refusing_connections(false);
    // Probed again with backoff (200 ms doubling, capped at 1 s).
    wait_for(&app, "reachable again", Duration::from_secs(10), |s| {
        s.icon == Icon::Connected
    })
    .await;
    app.close().await;
}

/// A "network" that answers every request with a sign-in page.
async fn captive_portal() -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let body =
                    "<html><body><h1>Welcome to Hotel Wi-Fi</h1>Sign in to continue</body></html>";
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_captive_portal_is_not_the_server() {
    let url = captive_portal().await;
    let dir = common::temp_dir();
    let app = Mooring::open(config(&url, dir.join("m.db"), token(), 5000))
        .await
        .expect("open");
    let s = wait_for(&app, "the probe's verdict", Duration::from_secs(10), |s| {
        s.connectivity != Connectivity::Checking
    })
    .await;
    assert_eq!(
        s.connectivity,
        Connectivity::Unreachable(UnreachableReason::CaptivePortal)
    );
    assert_eq!(s.icon, Icon::Warning);
    // Never synced: the first warning is that the first sync needs a
    // connection; the portal is the next one.
    assert_eq!(s.message.key, "status.warning.first_sync_needs_connection");
    assert!(
        s.warnings
            .contains(&mooring_core::status::Warning::ServerUnreachable(
                UnreachableReason::CaptivePortal
            ))
    );
    assert!(app.sync_now().await.is_err());
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delta_runs_at_the_interval_and_stops_while_paused() {
    let env = env(30).await;
    let mut c = config(&env.server.root_url(), env.db(), token(), 5000);
    c.schedule.delta_interval = Some(Duration::from_millis(300));
    let app = Mooring::open(c).await.expect("open");
    app.sync_now().await.expect("first sync");
    let other = env.admin.users()[0].id;
    let id = env
        .admin
        .create_row(
            "accounts",
            other,
            serde_json::json!({"name": "From elsewhere"}),
        )
        .unwrap();
    let seen = || {
        app.store()
            .get("accounts", &id.to_string())
            .unwrap()
            .is_some()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen() {
        assert!(
            Instant::now() < deadline,
            "the periodic delta never brought the row"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    app.pause();
    tokio::time::sleep(Duration::from_millis(100)).await;
    env.admin
        .update_row(
            "accounts",
            id,
            other,
            serde_json::json!({"name": "Changed while paused"}),
        )
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let name = |app: &Mooring| {
        app.store()
            .get("accounts", &id.to_string())
            .unwrap()
            .unwrap()["name"]
            .clone()
    };
    assert_eq!(name(&app), "From elsewhere", "no sync while paused");
    let e = app.sync_now().await.expect_err("paused");
    assert!(matches!(e, Error::Paused), "{e:?}");
    let e = app.upload_now().await.expect_err("paused");
    assert!(matches!(e, Error::Paused), "{e:?}");
    app.resume();
    let deadline = Instant::now() + Duration::from_secs(10);
    while name(&app) != "Changed while paused" {
        assert!(Instant::now() < deadline, "resume did not sync");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wifi_only_waits_on_a_metered_network() {
    let env = env(10).await;
    let mut c = config(&env.server.root_url(), env.db(), token(), 5000);
    c.wifi_only = true;
    c.metered = true;
    let app = Mooring::open(c).await.expect("open");
    let s = wait_for(&app, "probe", Duration::from_secs(10), |s| {
        s.connectivity == Connectivity::Reachable
    })
    .await;
    assert!(
        s.warnings
            .contains(&mooring_core::status::Warning::WaitingForWifi)
    );
    let e = app
        .sync_now()
        .await
        .expect_err("Wi-Fi only on a metered network");
    assert!(matches!(e, Error::WaitingForWifi), "{e:?}");
    assert!(!app.status().initial_sync_complete);
    app.set_host_network(true, false);
    wait_for(&app, "synced on Wi-Fi", Duration::from_secs(10), |s| {
        s.icon == Icon::Connected && s.initial_sync_complete
    })
    .await;
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listener_gets_the_current_status_first_and_nothing_after_cancel() {
    let env = env_with(Config {
        seed_rows: 10,
        token: TOKEN.into(),
        ..Config::default()
    })
    .await;
    let app = Mooring::open(config(&env.server.root_url(), env.db(), token(), 5000))
        .await
        .expect("open");
    app.sync_now().await.expect("sync");
    let (handle, seen) = record(&app);
    tokio::time::sleep(Duration::from_millis(50)).await;
    {
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "the current value, once");
        assert_eq!(seen[0], app.status());
    }
    handle.cancel();
    app.set_host_network(false, false);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(seen.lock().unwrap().len(), 1, "nothing after cancel");
    app.close().await;
}

fn obj(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match v {
        serde_json::Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_edits_wait_as_pending_then_upload_on_reconnect() {
    let env = env(20).await;
    let app = Mooring::open(config(&env.server.root_url(), env.db(), token(), 5000))
        .await
        .expect("open");
    app.sync_now().await.expect("first sync");
    let (_h, seen) = record(&app);

    env.admin.set_refusing_connections(true);
    app.set_host_network(false, false);
    let a = app
        .create("accounts", obj(serde_json::json!({"name": "Offline One"})))
        .await
        .expect("create offline");
    app.update(
        "accounts",
        &a,
        obj(serde_json::json!({"telephone1": "555-0101"})),
    )
    .await
    .expect("update offline");
    let b = app
        .create("accounts", obj(serde_json::json!({"name": "Offline Two"})))
        .await
        .expect("create offline");
    let s = app.status();
    assert_eq!(s.icon, Icon::PendingUpload);
    assert_eq!(s.canvas, CanvasSync::NotConnectedPendingUpsync);
    assert_eq!(
        s.pending_changes, 2,
        "create+update of one row is one change"
    );
    assert_eq!(s.message.key, "status.pending_upload.offline");
    assert_eq!(
        s.message.description,
        "2 changes saved on this device will be uploaded when you are back online."
    );
    // Reads see local changes at once.
    assert_eq!(
        app.get("accounts", &a).await.unwrap().unwrap()["telephone1"],
        "555-0101"
    );

    env.admin.set_refusing_connections(false);
    app.set_host_network(true, false);
    wait_for(&app, "uploaded", Duration::from_secs(15), |s| {
        s.icon == Icon::Connected && s.pending_changes == 0
    })
    .await;
    for id in [&a, &b] {
        assert!(
            env.admin
                .row("accounts", id.parse().unwrap())
                .unwrap()
                .is_some(),
            "{id} on the server"
        );
    }
    let icons = icons(&seen);
    assert!(
        in_order(
            &icons,
            &[Icon::PendingUpload, Icon::Syncing, Icon::Connected]
        ),
        "{icons:?}"
    );
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_while_online_uploads_by_itself_after_the_debounce() {
    let env = env(10).await;
    let app = Mooring::open(config(&env.server.root_url(), env.db(), token(), 5000))
        .await
        .expect("open");
    app.sync_now().await.expect("first sync");
    let started = Instant::now();
    let id = app
        .create("accounts", obj(serde_json::json!({"name": "Online"})))
        .await
        .expect("create");
    assert_eq!(
        app.status().icon,
        Icon::PendingUpload,
        "pending until the debounce ends"
    );
    let uuid = id.parse().unwrap();
    while env.admin.row("accounts", uuid).unwrap().is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never uploaded"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    wait_for(&app, "connected", Duration::from_secs(5), |s| {
        s.icon == Icon::Connected
    })
    .await;
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_change_is_an_error_until_discarded() {
    let env = env(10).await;
    let app = Mooring::open(config(&env.server.root_url(), env.db(), token(), 5000))
        .await
        .expect("open");
    app.sync_now().await.expect("first sync");
    // The server allows 50 characters; the profile does not say so.
    let long = "5".repeat(80);
    let id = app
        .create(
            "accounts",
            obj(serde_json::json!({"name": "Refused", "telephone1": long})),
        )
        .await
        .expect("accepted locally");
    app.sync_now().await.expect("the sync itself works");
    let s = app.status();
    assert_eq!(s.icon, Icon::Error);
    assert_eq!(s.canvas, CanvasSync::ConnectedError);
    assert_eq!((s.pending_changes, s.sync_errors), (0, 1));
    assert_eq!(s.message.key, "status.error.sync_errors");
    assert!(
        s.message
            .description
            .starts_with("The server rejected 1 change."),
        "{}",
        s.message.description
    );
    let errors = app.sync_errors().await.expect("list");
    assert_eq!(errors.len(), 1);
    assert_eq!(
        (
            errors[0].table.as_str(),
            errors[0].row_id.as_str(),
            errors[0].status
        ),
        ("accounts", id.as_str(), 400)
    );
    // Other changes go on meanwhile.
    let ok = app
        .create("accounts", obj(serde_json::json!({"name": "Fine"})))
        .await
        .expect("create");
    app.sync_now().await.expect("sync");
    assert!(
        env.admin
            .row("accounts", ok.parse().unwrap())
            .unwrap()
            .is_some()
    );
    assert_eq!(app.status().icon, Icon::Error, "still one refused change");

    app.discard_sync_error(errors[0].id).await.expect("discard");
    let s = app.status();
    assert_eq!((s.icon, s.sync_errors), (Icon::Connected, 0));
    app.close().await;

    // Reopened offline: pending and errors come from the mirror, and
    // writes still work (the resolved profile is remembered).
    let mut c = config(&env.server.root_url(), env.db(), token(), 5000);
    c.host_online = false;
    let app = Mooring::open(c).await.expect("reopen offline");
    app.create(
        "accounts",
        obj(serde_json::json!({"name": "After restart"})),
    )
    .await
    .expect("write offline after restart");
    let s = app.status();
    assert_eq!((s.icon, s.pending_changes), (Icon::PendingUpload, 1));
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_out_deletes_the_users_local_data() {
    let env = env(10).await;
    let app = Mooring::open(config(&env.server.root_url(), env.db(), token(), 5000))
        .await
        .expect("open");
    app.sync_now().await.expect("sync");
    assert!(env.db().exists());
    app.sign_out(false).await.expect("sign out");
    assert!(!env.db().exists(), "the mirror is gone");
    // A new sign-in starts from nothing: the first sync needs a connection.
    let mut c = config(&env.server.root_url(), env.db(), token(), 5000);
    c.host_online = false;
    let app = Mooring::open(c).await.expect("open again");
    assert_eq!(
        app.status().message.key,
        "status.warning.first_sync_needs_connection"
    );
    app.close().await;
}

/// An app that drops its handle mid-sync (a Kotlin `close()`, a Swift
/// deinit) and opens the mirror again at once gets it: the file is given up
/// when the handle goes, not later when the aborted runner's tasks finish.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_handle_mid_sync_frees_the_file_for_an_immediate_reopen() {
    let env = env(2000).await;
    env.admin.set_latency(Duration::from_millis(20));
    for round in 0..5 {
        let app = Mooring::open(config(&env.server.root_url(), env.db(), token(), 100))
            .await
            .unwrap_or_else(|e| panic!("open, round {round}: {e}"));
        wait_for(&app, "the sync under way", Duration::from_secs(30), |s| {
            s.icon == Icon::Syncing
        })
        .await;
        drop(app);
    }
    let app = Mooring::open(config(&env.server.root_url(), env.db(), token(), 100))
        .await
        .expect("the last reopen");
    app.close().await;
}
