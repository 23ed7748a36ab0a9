//! The upload kill test: `mooring upload` is SIGKILLed at random moments
//! of an upload of 1,000 offline changes (creates, updates, deletes), then
//! run again to completion. Each time the server must hold every change
//! exactly once (no duplicate creates, nothing lost) and the mirror must
//! equal the server. MOORING_KILL_TRIALS (default 20) and MOORING_KILL_SEED
//! tune it.

use crate::common;

use common::{mirror_rows, server_rows};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mooring_core::remote::{Remote, RemoteConfig, StaticToken};
use mooring_core::{OutboxConfig, Profile, Store, SyncEngine};
use mooring_devserver::{Config, RunningServer};

const SEEDED: usize = 400;
const CREATES: usize = 600;
const UPDATES: usize = 300;
const DELETES: usize = 100;
const TOKEN: &str = "kill-token";
const COLUMNS: [&str; 3] = ["name", "telephone1", "numberofemployees"];
const PROFILE: &str = r#"{"tables":[{"name":"accounts","columns":["name","telephone1","numberofemployees"],"rows":"all"}]}"#;

fn count(db: &Path, table: &str) -> i64 {
    let c = rusqlite::Connection::open(db).expect("db opens");
    c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .expect("count")
}

fn command(root: &str, profile: &Path, db: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_mooring"));
    cmd.args(["upload", "--server", root, "--batch-size", "50"])
        .arg("--profile")
        .arg(profile)
        .arg("--db")
        .arg(db)
        .env("MOORING_TOKEN", TOKEN)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    cmd
}

fn temp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "mooring-upload-kill-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// The same seed gives the same rows and ids: every trial's server starts
/// identical to the one the base database was synced from.
async fn server() -> RunningServer {
    let s = mooring_devserver::start(Config {
        seed_rows: SEEDED,
        seed: 7,
        token: TOKEN.into(),
        ..Config::default()
    })
    .await
    .expect("emulator");
    // A little latency widens the window the kills land in.
    s.admin().set_latency(Duration::from_millis(15));
    s
}

/// Syncs a mirror and makes 1,000 offline changes in it; returns the
/// names of the created rows, (id, employees) of the updates, deleted ids.
async fn base_db(root: &str, db: &Path) -> (Vec<String>, Vec<(String, i64)>, Vec<String>) {
    let mut cfg = RemoteConfig::new(root);
    cfg.backoff_base = Duration::from_millis(5);
    let remote = Remote::new(cfg, Arc::new(StaticToken(TOKEN.into()))).expect("remote");
    let store = Store::open(db).expect("store");
    let profile = Profile::from_json(PROFILE).expect("profile");
    let (engine, _) = SyncEngine::prepare(remote, store, &profile)
        .await
        .expect("prepare");
    engine
        .sync(Arc::new(|_: &mooring_core::Progress| {}))
        .await
        .expect("sync");
    let ob = engine.outbox(OutboxConfig::default());
    let ids: Vec<String> = engine
        .store()
        .query(&mooring_core::Query::table("accounts").sort(mooring_core::Sort::asc("accountid")))
        .expect("query")
        .iter()
        .map(|r| r["accountid"].as_str().expect("id").to_string())
        .collect();
    let mut created = Vec::new();
    for i in 0..CREATES {
        let name = format!("kill create {i}");
        let v = serde_json::json!({"name": name, "numberofemployees": i});
        ob.create("accounts", v.as_object().expect("object"))
            .expect("create");
        created.push(name);
    }
    let mut updated = Vec::new();
    for (i, id) in ids.iter().take(UPDATES).enumerate() {
        let n = 100_000 + i as i64;
        let v = serde_json::json!({"numberofemployees": n, "telephone1": format!("k{i}")});
        ob.update("accounts", id, v.as_object().expect("object"))
            .expect("update");
        updated.push((id.clone(), n));
    }
    let deleted: Vec<String> = ids.iter().skip(UPDATES).take(DELETES).cloned().collect();
    for id in &deleted {
        ob.delete("accounts", id).expect("delete");
    }
    assert_eq!(
        ob.pending_count().expect("pending"),
        (CREATES + UPDATES + DELETES) as u64
    );
    // A standalone copy (WAL folded in) that trials copy byte for byte.
    let snapshot = db.with_extension("snapshot");
    let c = rusqlite::Connection::open(db).expect("db");
    c.execute("VACUUM INTO ?1", [snapshot.to_string_lossy().as_ref()])
        .expect("vacuum into");
    assert_eq!(
        count(&snapshot, "mooring_outbox"),
        (CREATES + UPDATES + DELETES) as i64
    );
    (created, updated, deleted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_upload_then_rerun_applies_each_change_once() {
    let trials: usize = std::env::var("MOORING_KILL_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let seed: u64 = std::env::var("MOORING_KILL_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("upload kill test: {trials} trials, MOORING_KILL_SEED={seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let dir = temp_dir();
    let profile = dir.join("profile.json");
    std::fs::write(&profile, PROFILE).expect("profile");
    let base = dir.join("base.snapshot");
    let (created, updated, deleted) = {
        let s = server().await;
        let r = base_db(&s.root_url(), &dir.join("base.db")).await;
        s.shutdown().await;
        r
    };

    // Calibrate: an uninterrupted upload.
    let full = {
        let s = server().await;
        let db = dir.join("calibrate.db");
        std::fs::copy(&base, &db).expect("copy");
        let t0 = Instant::now();
        let out = command(&s.root_url(), &profile, &db)
            .output()
            .await
            .expect("runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let full = t0.elapsed();
        assert_eq!(
            mirror_rows(&db, &COLUMNS),
            server_rows(&s.admin(), &COLUMNS),
            "uninterrupted upload"
        );
        eprintln!(
            "uninterrupted upload: {full:?}: {}",
            String::from_utf8_lossy(&out.stdout).trim()
        );
        s.shutdown().await;
        full
    };

    let mut interrupted = 0;
    for trial in 0..trials {
        let s = server().await;
        let admin = s.admin();
        let root = s.root_url();
        let db = dir.join(format!("trial-{trial}.db"));
        std::fs::copy(&base, &db).expect("copy");
        let kills = if trial % 4 == 3 { 2 } else { 1 };
        for _ in 0..kills {
            let mut child = command(&root, &profile, &db).spawn().expect("spawns");
            let at = full.mul_f64(rng.f64());
            if tokio::time::timeout(at, child.wait()).await.is_err() {
                child.start_kill().expect("SIGKILL");
                let _ = child.wait().await;
                interrupted += 1;
            }
        }
        let out = command(&root, &profile, &db).output().await.expect("rerun");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "trial {trial}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("pending=0 errors=0"),
            "trial {trial}: {stdout}"
        );

        let rows = admin.rows("accounts").expect("rows");
        for name in &created {
            let n = rows
                .iter()
                .filter(|r| r["name"].as_str() == Some(name))
                .count();
            assert_eq!(n, 1, "trial {trial}: {name} is on the server {n} times");
        }
        let server = server_rows(&admin, &COLUMNS);
        for (id, n) in &updated {
            assert_eq!(
                server[id][2],
                format!("{}", *n as f64),
                "trial {trial}: update of {id} lost"
            );
        }
        for id in &deleted {
            assert!(
                !server.contains_key(id),
                "trial {trial}: delete of {id} lost"
            );
        }
        assert_eq!(server.len(), SEEDED + CREATES - DELETES, "trial {trial}");
        assert_eq!(
            mirror_rows(&db, &COLUMNS),
            server,
            "trial {trial}: mirror differs from server"
        );
        assert_eq!(count(&db, "mooring_outbox"), 0);
        assert_eq!(count(&db, "mooring_sync_errors"), 0);
        s.shutdown().await;
        let _ = std::fs::remove_file(&db);
    }
    eprintln!("{interrupted} runs killed mid-upload over {trials} trials");
    assert!(
        interrupted >= trials / 2,
        "too few kills landed: {interrupted}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
