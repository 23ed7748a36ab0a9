//! Issue 8, secrets: tokens never reach logs (at any level, ours and our
//! dependencies'), error messages or the database. Its own test binary, so
//! the process-wide tracing subscriber (trace level, into a buffer) is this
//! test's alone.

mod common;

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{TOKEN, env};
use mooring_core::remote::{TokenFuture, TokenProvider};
use mooring_core::{
    Mooring, MooringConfig, Profile, Remote, RemoteConfig, ScheduleConfig, Secret, Store,
};
use serde_json::{Map, Value as J};

const PROFILE: &str = r#"{"tables":[
  {"name":"accounts","columns":["name","telephone1"],"rows":"all"},
  {"name":"contacts","columns":["lastname","parentcustomerid"],"rows":"all"}]}"#;

/// The emulator's valid token is `TOKEN`; these are what the host hands
/// out besides: an expired one (refused with 401, then refreshed) and the
/// encryption key. None of them may show anywhere.
const STALE: &str = "eyJ0eXAiOiJKV1Qi.stale-token-7f3a9c.sig";
const DB_KEY: &str = "db-key-1b6e0d2c44f5a8e9";
/// Values of a row the server refuses: in the sync errors list, never in a
/// diagnostics report.
const ROW_VALUE: &str = "Row value 4e1f private";
const LONG_PHONE: &str = "55501234567890555012345678905550123456789055501234567890";

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Ok(mut b) = self.0.lock() {
            b.extend_from_slice(buf);
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Hands out the stale token until asked to refresh, then the valid one;
/// `expire()` makes the next request stale again (a token that timed out).
struct Rotating {
    fresh: AtomicBool,
}

impl Rotating {
    fn expire(&self) {
        self.fresh.store(false, Ordering::SeqCst);
    }
}

impl TokenProvider for Rotating {
    fn token(&self, force_refresh: bool) -> TokenFuture<'_> {
        Box::pin(async move {
            if force_refresh {
                self.fresh.store(true, Ordering::SeqCst);
            }
            Ok(Secret::new(if self.fresh.load(Ordering::SeqCst) {
                TOKEN
            } else {
                STALE
            }))
        })
    }
}

/// Never a good token.
struct AlwaysStale;

impl TokenProvider for AlwaysStale {
    fn token(&self, _force_refresh: bool) -> TokenFuture<'_> {
        Box::pin(async move { Ok(Secret::new(STALE)) })
    }
}

fn obj(v: J) -> Map<String, J> {
    match v {
        J::Object(m) => m,
        _ => panic!("not an object"),
    }
}

fn config(url: &str, db: &Path, tokens: Arc<dyn TokenProvider>) -> MooringConfig {
    let profile = Profile::from_json(PROFILE).expect("profile");
    let mut c = MooringConfig::new(url, tokens, db, profile);
    c.remote.backoff_base = Duration::from_millis(5);
    c.remote.backoff_cap = Duration::from_millis(50);
    c.remote.max_retries = 1;
    c.remote.connect_timeout = Duration::from_secs(2);
    c.schedule = ScheduleConfig {
        probe_timeout: Duration::from_secs(2),
        probe_interval: Duration::from_secs(30),
        upload_debounce: Duration::from_millis(50),
        retry_base: Duration::from_millis(100),
        retry_cap: Duration::from_millis(500),
        delta_interval: None,
    };
    c.encryption_key = Some(Secret::new(DB_KEY));
    c
}

fn secrets() -> [&'static str; 3] {
    [TOKEN, STALE, DB_KEY]
}

fn assert_clean(what: &str, text: &str) {
    for s in secrets() {
        assert!(!text.contains(s), "{what} contains a secret: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_reach_no_log_no_error_and_no_database() {
    let logs = Buffer::default();
    let writer = logs.clone();
    {
        use tracing_subscriber::prelude::*;
        tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(move || writer.clone()),
            )
            // The diagnostics report's log ring: checked below too.
            .with(mooring_core::diagnostics::log_layer())
            .init();
    }
    // The emulator's own token must not be something ours could be
    // confused with.
    assert!(TOKEN.len() >= 8, "a token distinctive enough to search for");

    let env = env(300).await;
    let url = env.server.root_url();
    let db = env.dir.join("mirror.db");
    let tokens = Arc::new(Rotating {
        fresh: AtomicBool::new(false),
    });
    let mut errors: Vec<String> = Vec::new();
    fn record_into(errors: &mut Vec<String>, e: &mooring_core::Error) {
        errors.push(e.to_string());
        errors.push(format!("{e:?}"));
    }

    // A full sync that starts with an expired token (401, refresh), a
    // local write, an upload that meets an expired token again, a delta.
    let app = Mooring::open(config(&url, &db, tokens.clone()))
        .await
        .expect("open");
    app.sync_now().await.expect("sync");
    let id = app
        .create(
            "accounts",
            obj(serde_json::json!({"name": "Written offline"})),
        )
        .await
        .expect("write");
    tokens.expire();
    app.upload_now().await.expect("upload after a refresh");
    assert_eq!(app.pending_count().await.expect("pending"), 0);
    env.admin
        .update_row(
            "accounts",
            id.parse().expect("uuid"),
            env.user_id(0).parse().expect("uuid"),
            serde_json::json!({"name": "Changed on the server"}),
        )
        .expect("server edit");
    tokens.expire();
    app.sync_now().await.expect("delta after a refresh");
    for text in [
        format!("{:?}", app.status()),
        app.status().message.description,
    ] {
        assert_clean("the status", &text);
    }
    // A change the server refuses (telephone1 holds 50 characters), with
    // values a report must not repeat.
    app.create(
        "accounts",
        obj(serde_json::json!({"name": ROW_VALUE, "telephone1": LONG_PHONE})),
    )
    .await
    .expect("write");
    app.upload_now()
        .await
        .expect("upload: the refusal is a sync error");
    assert_eq!(app.sync_errors().await.expect("errors").len(), 1);
    let report = app.diagnostics().await.expect("the diagnostics report");
    assert!(!report.log.is_empty(), "the report carries log records");
    for text in [report.to_text(), report.to_json()] {
        assert_clean("the diagnostics report", &text);
        for value in [
            ROW_VALUE,
            LONG_PHONE,
            "Written offline",
            "Changed on the server",
        ] {
            assert!(!text.contains(value), "a row value in the report: {text}");
        }
    }
    // Discarded: the checks below expect a mirror with nothing refused.
    let refused = app.sync_errors().await.expect("errors");
    app.discard_sync_error(refused[0].id)
        .await
        .expect("discard");
    app.close().await;
    drop(app);
    // The report of the file alone, as `mooring diagnostics --db` makes it.
    let store = Store::open_with_key(&db, Some(Secret::new(DB_KEY))).expect("reopen");
    let report = mooring_core::diagnostics::Report::from_store(&store).expect("report");
    assert!(
        !report.log.is_empty(),
        "the log records were kept in the mirror"
    );
    for text in [report.to_text(), report.to_json()] {
        assert_clean("the report of the file", &text);
        assert!(
            !text.contains(ROW_VALUE) && !text.contains(LONG_PHONE),
            "{text}"
        );
    }
    store.close().expect("close");
    drop(store);

    // Errors of every kind the token could travel with.
    let remote_with = |url: &str, tokens: Arc<dyn TokenProvider>| {
        let mut cfg = RemoteConfig::new(url);
        cfg.max_retries = 1;
        cfg.backoff_base = Duration::from_millis(5);
        cfg.connect_timeout = Duration::from_secs(2);
        Remote::new(cfg, tokens).expect("remote")
    };
    let refused = remote_with(&url, Arc::new(AlwaysStale));
    let e = refused
        .get(&refused.url("accounts"), None, "accounts")
        .await
        .err()
        .expect("401 twice");
    assert!(e.is_auth(), "{e:?}");
    record_into(&mut errors, &e);
    let good = remote_with(&url, tokens.clone());
    let e = good
        .get(&good.url("nosuchset"), None, "nosuchset")
        .await
        .err()
        .expect("404");
    record_into(&mut errors, &e);
    let closed_port = remote_with("http://127.0.0.1:9", tokens.clone());
    let e = closed_port
        .get(&closed_port.url("WhoAmI"), None, "WhoAmI")
        .await
        .err()
        .expect("no server there");
    record_into(&mut errors, &e);
    let e = good
        .get(
            "https://elsewhere.example/api/data/v9.2/accounts",
            None,
            "link",
        )
        .await
        .err()
        .expect("other origin");
    record_into(&mut errors, &e);
    let e = Store::open_with_key(&db, Some(Secret::new(STALE)))
        .err()
        .expect("wrong key");
    record_into(&mut errors, &e);
    let e = Store::open(&db).err().expect("no key");
    record_into(&mut errors, &e);
    let rejected = Mooring::open(config(&url, &db, Arc::new(AlwaysStale)))
        .await
        .expect("open");
    let e = rejected.sync_now().await.expect_err("token rejected");
    record_into(&mut errors, &e);
    assert!(
        e.is_auth(),
        "a refused token is an auth error, typed: {e:?}"
    );
    let s = rejected.status();
    assert_eq!(s.message.key, "status.error.auth");
    errors.push(format!("{s:?}"));
    rejected.close().await;
    drop(rejected);
    let e = Mooring::open(config("http://example.com", &db, tokens.clone()))
        .await
        .err()
        .expect("insecure");
    record_into(&mut errors, &e);
    for text in &errors {
        assert_clean("an error", text);
    }

    // The logs: plenty written (trace level from every crate), no secret.
    let text = String::from_utf8_lossy(&logs.0.lock().expect("logs")).to_string();
    assert!(
        text.lines().count() > 50,
        "trace logging was captured: {} lines",
        text.lines().count()
    );
    assert!(text.contains("401"), "the refresh path ran and was logged");
    assert_clean("the logs", &text);

    // The database: the encrypted mirror, and a plain one synced the same
    // way (so even without encryption no token is stored).
    let plain = env.dir.join("plain.db");
    let mut c = config(&url, &plain, tokens.clone());
    c.encryption_key = None;
    tokens.expire();
    let app = Mooring::open(c).await.expect("open plain");
    app.sync_now().await.expect("plain sync");
    app.close().await;
    drop(app);
    for file in std::fs::read_dir(&env.dir).expect("dir").flatten() {
        let bytes = std::fs::read(file.path()).unwrap_or_default();
        for s in secrets() {
            assert!(
                !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
                "{} holds a secret",
                file.path().display()
            );
        }
    }
}
