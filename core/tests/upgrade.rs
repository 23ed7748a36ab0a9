//! App upgrades: a mirror written by an older release opens with the
//! current code, nothing lost, and syncs on; a mirror written by a newer
//! release is refused with a typed error and left untouched.
//!
//! The fixtures in `tests/fixtures/upgrade/` were made by the release
//! before each change of Mooring's own schema, with `make_fixtures` below
//! (ignored: run it at that release, `cargo test --workspace --release
//! --features mooring-ffi/bindgen --test integration -- --ignored
//! upgrade::make_fixtures`). Each later
//! change of the internal schema adds the fixtures of the version before it.

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use mooring_core::profile::Profile;
use mooring_core::{Mooring, MooringConfig, Secret, StaticToken, TokenProvider};
use mooring_devserver::Config;

const PROFILE: &str = r#"{"tables":[
  {"name":"accounts","columns":["name","telephone1"],"rows":"all"},
  {"name":"contacts","columns":["lastname","parentcustomerid"],"rows":"all"}]}"#;
/// The emulator the fixtures were made against: the same seed, rows and
/// token give the same users and rows again.
const SEED_ROWS: usize = 40;
const FIXTURE_KEY: &str = "upgrade-fixture-key-0123456789abcdef";
/// The mirror keeps the server's links (delta links carry the origin), and
/// a link to another origin than the environment's is refused: the
/// environment keeps its URL across an upgrade, so the emulator keeps its
/// port. One emulator at a time on it: the tests below run in one function.
const PORT: u16 = 47_631;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upgrade")
}

async fn emulator() -> Env {
    env_with(Config {
        seed_rows: SEED_ROWS,
        token: TOKEN.into(),
        port: PORT,
        ..Config::default()
    })
    .await
}

fn config(env: &Env, db: PathBuf, key: Option<&str>) -> MooringConfig {
    let tokens: Arc<dyn TokenProvider> = Arc::new(StaticToken(Secret::new(TOKEN)));
    let profile = Profile::from_json(PROFILE).expect("profile");
    let mut c = MooringConfig::new(env.server.root_url(), tokens, db, profile);
    c.encryption_key = key.map(Secret::new);
    c.remote.max_retries = 1;
    c.schedule.upload_debounce = Duration::from_secs(3600);
    c
}

fn obj(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match v {
        serde_json::Value::Object(m) => m,
        _ => unreachable!(),
    }
}

/// Makes `v<N>-plain.db` and `v<N>-encrypted.db`: a synced mirror with one
/// change the server refused (a sync error) and one waiting for upload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "makes the fixtures; run at the release before a schema change"]
async fn make_fixtures() {
    let version = std::env::var("MOORING_FIXTURE_VERSION").unwrap_or_else(|_| "0".into());
    std::fs::create_dir_all(fixtures()).unwrap();
    for (name, key) in [("plain", None), ("encrypted", Some(FIXTURE_KEY))] {
        let env = emulator().await;
        let db = env.db();
        let app = Mooring::open(config(&env, db.clone(), key))
            .await
            .expect("open");
        app.sync_now().await.expect("first sync");
        // The server allows 50 characters in telephone1: refused.
        app.create(
            "accounts",
            obj(serde_json::json!({"name": "Refused", "telephone1": "5".repeat(80)})),
        )
        .await
        .unwrap();
        app.upload_now().await.expect("the upload itself works");
        assert_eq!(app.sync_errors().await.unwrap().len(), 1);
        app.set_host_network(false, false);
        app.create(
            "accounts",
            obj(serde_json::json!({"name": "Made offline before the upgrade"})),
        )
        .await
        .unwrap();
        assert_eq!(app.pending_count().await.unwrap(), 1);
        app.close().await;
        drop(app);
        env.server.shutdown().await;
        // Closed: the last connection folds the WAL into the file.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let out = fixtures().join(format!("v{version}-{name}.db"));
        assert!(
            !Path::new(&format!("{}-wal", db.display())).exists()
                || std::fs::metadata(format!("{}-wal", db.display()))
                    .unwrap()
                    .len()
                    == 0,
            "the WAL was folded in"
        );
        std::fs::copy(&db, &out).unwrap();
        eprintln!("wrote {}", out.display());
    }
}

/// A copy of a fixture in a fresh folder (tests never write the original).
fn copy_fixture(name: &str) -> PathBuf {
    let db = temp_dir().join("mirror.db");
    std::fs::copy(fixtures().join(name), &db).expect("the fixture is committed");
    db
}

async fn opens_with_nothing_lost_and_syncs_on(fixture: &str, key: Option<&str>) {
    let env = emulator().await;
    let db = copy_fixture(fixture);
    let mut cfg = config(&env, db.clone(), key);
    // Reopened offline first: what the old release left is all there.
    cfg.host_online = false;
    let app = Mooring::open(cfg).await.expect("the old mirror opens");
    let s = app.status();
    assert!(s.initial_sync_complete, "{fixture}: still synced");
    assert_eq!(
        app.pending_count().await.unwrap(),
        1,
        "{fixture}: the pending change"
    );
    let pending = app.pending_changes(5).await.unwrap();
    assert_eq!(
        (pending[0].transaction, pending[0].attempts),
        (None, 0),
        "{fixture}: a single change, never sent"
    );
    let errors = app.sync_errors().await.unwrap();
    assert_eq!(errors.len(), 1, "{fixture}: the sync error");
    assert!(errors[0].transaction.is_empty());
    assert_eq!(errors[0].status, 400);
    let accounts = app
        .query(mooring_core::Query::table("accounts"))
        .await
        .unwrap();
    // The server's rows and the one made offline (the refused create waits
    // in the sync-errors list, not in the mirror).
    assert_eq!(accounts.len(), SEED_ROWS + 1, "{fixture}: every row");
    // Offline writes work at once (the remembered profile came through).
    app.create(
        "accounts",
        obj(serde_json::json!({"name": "After the upgrade"})),
    )
    .await
    .expect("a write offline");
    // Online: the old pending change and the new one upload.
    app.set_host_network(true, false);
    app.sync_now().await.expect("sync resumes");
    assert_eq!(app.pending_count().await.unwrap(), 0);
    let names: Vec<String> = env
        .admin
        .rows("accounts")
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str().map(str::to_string))
        .collect();
    for want in ["Made offline before the upgrade", "After the upgrade"] {
        assert_eq!(
            names.iter().filter(|n| *n == want).count(),
            1,
            "{fixture}: {want} on the server once"
        );
    }
    assert_eq!(
        app.sync_errors().await.unwrap().len(),
        1,
        "the error is still listed"
    );
    app.close().await;
    drop(app);
    env.server.shutdown().await;
    if key.is_none() {
        let c = rusqlite::Connection::open(&db).unwrap();
        let v: u32 = c
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, mooring_core::store::SCHEMA_VERSION, "upgraded in place");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mirrors_of_older_versions_open_with_nothing_lost_and_sync_on() {
    // Version 1 had no local transactions and no send attempts.
    for v in 0..mooring_core::store::SCHEMA_VERSION {
        opens_with_nothing_lost_and_syncs_on(&format!("v{v}-plain.db"), None).await;
        opens_with_nothing_lost_and_syncs_on(&format!("v{v}-encrypted.db"), Some(FIXTURE_KEY))
            .await;
    }
}

#[test]
fn a_mirror_of_a_newer_release_is_refused_and_left_untouched() {
    let db = temp_dir().join("newer.db");
    let store = mooring_core::store::Store::open(&db).expect("a new mirror");
    store.close().unwrap();
    drop(store);
    {
        let c = rusqlite::Connection::open(&db).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
        c.execute_batch("PRAGMA journal_mode = DELETE;").unwrap();
    }
    let before = std::fs::read(&db).unwrap();
    let err = mooring_core::store::Store::open(&db)
        .err()
        .expect("a newer file is refused");
    assert!(
        matches!(
            err,
            mooring_core::Error::NewerDatabase {
                found: 99,
                supported
            } if supported == mooring_core::store::SCHEMA_VERSION
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("newer version of the app"),
        "{err}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), before, "the file is untouched");
    assert!(!Path::new(&format!("{}-wal", db.display())).exists());
}
