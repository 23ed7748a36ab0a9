//! `MooringApp` end to end against the in-process emulator, called as the
//! Kotlin/Swift shells call it: a host token provider, a status listener,
//! an offline write, upload, typed errors, sign-out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mooring_devserver::Config;
use mooring_ffi::{
    AppConfig, Filter, MooringApp, MooringError, Query, Row, RowsListener, SortKey, StatusListener,
    SyncIcon, SyncStatus, TokenError, TokenProvider, Value,
};

const TOKEN: &str = "ffi-test-token-7f3a";
const PROFILE: &str = r#"{"tables":[
  {"name":"accounts","columns":["name","telephone1"],"rows":"all"},
  {"name":"contacts","columns":["lastname","parentcustomerid"],"rows":"all"}]}"#;

struct Tokens(String);
#[async_trait::async_trait]
impl TokenProvider for Tokens {
    async fn token(&self, _force_refresh: bool) -> Result<String, TokenError> {
        Ok(self.0.clone())
    }
}

#[derive(Default)]
struct Seen(Mutex<Vec<SyncStatus>>);
impl StatusListener for Seen {
    fn on_status(&self, status: SyncStatus) {
        self.0.lock().unwrap().push(status);
    }
}

#[derive(Default)]
struct Rows(Mutex<Vec<usize>>);
impl RowsListener for Rows {
    fn on_rows(&self, rows: Vec<Row>) {
        self.0.lock().unwrap().push(rows.len());
    }
}

fn temp_dir() -> std::path::PathBuf {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = std::env::temp_dir().join(format!("mooring-ffi-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn config(server_url: String, dir: &std::path::Path) -> AppConfig {
    AppConfig {
        server_url,
        data_dir: dir.to_string_lossy().into_owned(),
        account: "alice@contoso.test".into(),
        profile_json: Some(PROFILE.into()),
        manifest_json: None,
        encryption_key: None,
        host_online: true,
        metered: false,
        wifi_only: false,
        delta_interval_secs: None,
        probe_interval_secs: Some(30),
        upload_debounce_ms: Some(100),
        retry_base_ms: Some(200),
        retry_cap_ms: Some(1000),
        page_size: None,
        extra_roots_pem: None,
        proxy_url: None,
    }
}

async fn wait_for(app: &MooringApp, what: &str, ok: impl Fn(&SyncStatus) -> bool) -> SyncStatus {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let s = app.status();
        if ok(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; now {:?} {}",
            s.icon,
            s.message_key
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn text(s: &str) -> Value {
    Value::Text { value: s.into() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_sync_write_offline_upload_and_sign_out() {
    let server = mooring_devserver::start(Config {
        seed_rows: 20,
        token: TOKEN.into(),
        ..Config::default()
    })
    .await
    .expect("emulator");
    let admin = server.admin();
    let dir = temp_dir();
    let app = MooringApp::open(
        config(server.root_url(), &dir),
        Arc::new(Tokens(TOKEN.into())),
    )
    .await
    .expect("open");

    let seen = Arc::new(Seen::default());
    let handle = app.observe_status(seen.clone()).expect("observe");
    let connected = wait_for(&app, "connected", |s| s.icon == SyncIcon::Connected).await;
    assert!(connected.initial_sync_complete);
    assert_eq!(connected.message_key, "status.connected");
    {
        let seen = seen.0.lock().unwrap();
        assert!(!seen.is_empty(), "the listener got the current value first");
        assert!(
            seen.iter().any(|s| s.icon == SyncIcon::Syncing),
            "saw syncing"
        );
    }

    // Reads and typed queries.
    let all = app
        .query(Query {
            table: "accounts".into(),
            filters: vec![Filter::IsNotNull {
                column: "name".into(),
            }],
            order: vec![SortKey {
                column: "name".into(),
                descending: true,
            }],
            limit: Some(5),
            offset: None,
        })
        .await
        .expect("query");
    assert_eq!(all.len(), 5);
    // Keys read as GUIDs (typed by their column).
    let id = match &all[0]["accountid"] {
        Value::Guid { value } => value.clone(),
        other => panic!("key {other:?}"),
    };
    let row = app
        .get("accounts".into(), id.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row["name"], all[0]["name"]);
    assert!(
        app.get(
            "accounts".into(),
            "00000000-0000-0000-0000-000000000001".into()
        )
        .await
        .unwrap()
        .is_none()
    );

    let rows = Arc::new(Rows::default());
    let watch = app
        .watch(
            Query {
                table: "accounts".into(),
                filters: vec![Filter::StartsWith {
                    column: "name".into(),
                    text: "FFI".into(),
                }],
                order: vec![],
                limit: None,
                offset: None,
            },
            rows.clone(),
        )
        .await
        .expect("watch");
    assert_eq!(*rows.0.lock().unwrap(), vec![0], "the rows at once");

    // Offline: the write lands locally and waits.
    admin.set_refusing_connections(true);
    app.set_host_network(false, false);
    let mut values = HashMap::new();
    values.insert("name".to_string(), text("FFI offline"));
    values.insert("telephone1".to_string(), text("555-0199"));
    let new_id = app
        .create("accounts".into(), values)
        .await
        .expect("create offline");
    let pending = wait_for(&app, "pending upload", |s| {
        s.icon == SyncIcon::PendingUpload
    })
    .await;
    assert_eq!(pending.pending_changes, 1);
    assert_eq!(app.pending_count().await.unwrap(), 1);
    let deadline = Instant::now() + Duration::from_secs(5);
    while rows.0.lock().unwrap().last() != Some(&1) {
        assert!(Instant::now() < deadline, "watch saw the new row");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Typed errors for bad input; nothing written.
    let mut bad = HashMap::new();
    bad.insert("nosuchcolumn".to_string(), text("x"));
    match app.create("accounts".into(), bad).await {
        Err(MooringError::Validation { field, .. }) => {
            assert_eq!(field.as_deref(), Some("nosuchcolumn"))
        }
        other => panic!("{other:?}"),
    }
    let mut nan = HashMap::new();
    nan.insert("name".to_string(), Value::Real { value: f64::NAN });
    assert!(matches!(
        app.create("accounts".into(), nan).await,
        Err(MooringError::Validation { .. })
    ));
    let unknown = app
        .query(Query {
            table: "nosuchtable".into(),
            filters: vec![],
            order: vec![],
            limit: None,
            offset: None,
        })
        .await;
    assert!(unknown.is_err(), "{unknown:?}");
    assert!(matches!(
        app.delete(
            "accounts".into(),
            "00000000-0000-0000-0000-000000000001".into()
        )
        .await,
        Err(MooringError::NotFound { .. })
    ));
    // Sign-out refuses while a change is not on the server.
    assert_eq!(
        app.sign_out(false).await,
        Err(MooringError::PendingChanges { count: 1 })
    );

    // Back online: upload.
    admin.set_refusing_connections(false);
    app.set_host_network(true, false);
    app.upload_now().await.expect("upload");
    wait_for(&app, "uploaded", |s| {
        s.pending_changes == 0 && s.icon == SyncIcon::Connected
    })
    .await;
    let on_server = admin.rows("accounts").unwrap().into_iter().any(|r| {
        r.get("accountid")
            .and_then(|v| v.as_str())
            .is_some_and(|k| k.eq_ignore_ascii_case(&new_id))
    });
    assert!(on_server, "{new_id} uploaded");
    assert!(app.sync_errors().await.unwrap().is_empty());

    handle.cancel();
    assert!(handle.is_cancelled());
    watch.cancel();
    let before = seen.0.lock().unwrap().len();
    app.pause();
    app.resume();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(seen.0.lock().unwrap().len(), before, "no call after cancel");

    app.sign_out(false)
        .await
        .expect("sign out with nothing pending");
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert!(left.is_empty(), "the mirror files are deleted: {left:?}");
    assert!(matches!(
        app.pending_count().await,
        Err(MooringError::Closed)
    ));
    assert!(matches!(
        app.pending_changes(10).await,
        Err(MooringError::Closed)
    ));
    assert!(matches!(
        app.pending_summary().await,
        Err(MooringError::Closed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_an_auth_error_without_the_token() {
    let server = mooring_devserver::start(Config {
        seed_rows: 5,
        token: TOKEN.into(),
        ..Config::default()
    })
    .await
    .expect("emulator");
    let dir = temp_dir();
    let wrong = "wrong-token-c0ffee";
    let app = MooringApp::open(
        config(server.root_url(), &dir),
        Arc::new(Tokens(wrong.into())),
    )
    .await
    .expect("open works offline-first");
    let err = app.sync_now().await.expect_err("refused");
    assert!(matches!(err, MooringError::Auth { .. }), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(wrong) && !shown.contains(TOKEN), "{shown}");
    let s = wait_for(&app, "auth error", |s| s.icon == SyncIcon::Error).await;
    assert_eq!(s.message_key, "status.error.auth");
    app.shutdown().await;

    // Bad config is a typed error too.
    let mut c = config(server.root_url(), &dir);
    c.manifest_json = Some("{}".into());
    assert!(matches!(
        MooringApp::open(c, Arc::new(Tokens(TOKEN.into()))).await,
        Err(MooringError::Validation { .. })
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn init_logging_is_idempotent_and_checks_the_level() {
    mooring_ffi::init_logging("warn".into()).unwrap();
    mooring_ffi::init_logging("trace".into()).unwrap();
    assert!(matches!(
        mooring_ffi::init_logging("loud".into()),
        Err(MooringError::Validation { .. })
    ));
}
