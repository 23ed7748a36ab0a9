//! The host's log sink: Mooring's records reach it (level, target,
//! message) while an app opens, syncs and uploads, with no token or row
//! value in any of them; after `clear_log_sink` nothing more arrives. Its
//! own process, as logging is global.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mooring_devserver::Config;
use mooring_ffi::{
    AppConfig, LogLevel, LogRecord, LogSink, MooringApp, SyncIcon, TokenError, TokenProvider,
    Value, clear_log_sink, init_logging, set_log_sink,
};

const TOKEN: &str = "sink-test-token-51c9";
const MARKER: &str = "Sink Marker Harbour 0451";
const PHONE: &str = "555-0451-9";

struct Tokens;
#[async_trait::async_trait]
impl TokenProvider for Tokens {
    async fn token(&self, _force_refresh: bool) -> Result<String, TokenError> {
        Ok(TOKEN.into())
    }
}

#[derive(Default)]
struct Capture(Mutex<Vec<LogRecord>>);
impl LogSink for Capture {
    fn on_record(&self, record: LogRecord) {
        self.0.lock().unwrap().push(record);
    }
}

struct Panics;
impl LogSink for Panics {
    fn on_record(&self, _record: LogRecord) {
        panic!("a host logger that panics");
    }
}

async fn until(app: &MooringApp, what: &str, ok: impl Fn(SyncIcon, u64) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let s = app.status();
        if ok(s.icon, s.pending_changes) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: now {:?}", s.icon);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_reach_the_hosts_sink_without_tokens_or_values_until_it_is_cleared() {
    init_logging("debug".into()).unwrap();
    let capture = Arc::new(Capture::default());
    set_log_sink(capture.clone());

    let server = mooring_devserver::start(Config {
        seed_rows: 30,
        seed_tables: vec!["accounts".into()],
        token: TOKEN.into(),
        ..Config::default()
    })
    .await
    .unwrap();
    let dir = std::env::temp_dir().join(format!("mooring-ffi-sink-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = AppConfig {
        server_url: server.root_url(),
        data_dir: dir.to_string_lossy().into_owned(),
        account: "sink@contoso.test".into(),
        profile_json: Some(
            r#"{"tables":[{"name":"accounts","columns":["name","telephone1"],"rows":"all"}]}"#
                .into(),
        ),
        manifest_json: None,
        encryption_key: None,
        host_online: true,
        metered: false,
        wifi_only: false,
        delta_interval_secs: None,
        probe_interval_secs: Some(30),
        upload_debounce_ms: Some(50),
        retry_base_ms: Some(200),
        retry_cap_ms: Some(1000),
        page_size: Some(10),
        extra_roots_pem: None,
        proxy_url: None,
    };
    let app = MooringApp::open(config, Arc::new(Tokens)).await.unwrap();
    until(&app, "connected", |icon, _| icon == SyncIcon::Connected).await;
    let mut values = HashMap::new();
    values.insert(
        "name".to_string(),
        Value::Text {
            value: MARKER.into(),
        },
    );
    values.insert(
        "telephone1".to_string(),
        Value::Text {
            value: PHONE.into(),
        },
    );
    app.create("accounts".into(), values).await.unwrap();
    app.upload_now().await.unwrap();
    until(&app, "uploaded", |icon, pending| {
        icon == SyncIcon::Connected && pending == 0
    })
    .await;

    let records = capture.0.lock().unwrap().clone();
    assert!(
        records
            .iter()
            .any(|r| r.target.starts_with("mooring_core") && r.level == LogLevel::Info),
        "Mooring's own info records: {records:#?}"
    );
    assert!(
        records.iter().any(|r| r.level == LogLevel::Debug),
        "debug records at init_logging(\"debug\")"
    );
    assert!(records.iter().all(|r| !r.message.is_empty()));
    for r in &records {
        for secret in [TOKEN, MARKER, PHONE] {
            assert!(!r.message.contains(secret), "{secret} in a record: {r:?}");
        }
    }

    // A sink that panics costs the app nothing.
    set_log_sink(Arc::new(Panics));
    app.sync_now().await.expect("sync with a panicking sink");

    set_log_sink(capture.clone());
    clear_log_sink();
    let before = capture.0.lock().unwrap().len();
    app.sync_now().await.unwrap();
    assert_eq!(
        capture.0.lock().unwrap().len(),
        before,
        "nothing after clear_log_sink"
    );
    app.shutdown().await;
    server.shutdown().await;
}
