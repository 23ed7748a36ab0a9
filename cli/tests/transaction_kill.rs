//! The transaction kill test: `mooring apply` (1,000 writes as one local
//! transaction) is SIGKILLed at random moments of its run. Each time the
//! mirror must hold all of the transaction (rows and queue entries) or
//! none of it, open again, and take the transaction once more.
//! MOORING_KILL_TRIALS (default 16) and MOORING_KILL_SEED tune it.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use mooring_core::remote::{Remote, RemoteConfig, StaticToken};
use mooring_core::{Profile, Store, SyncEngine};

const SEEDED: usize = 50;
const CREATES: usize = 950;
const TOKEN: &str = "transaction-kill-token";
const PROFILE: &str =
    r#"{"tables":[{"name":"accounts","columns":["name","numberofemployees"],"rows":"all"}]}"#;

fn counts(db: &Path) -> (i64, i64, i64) {
    let c = rusqlite::Connection::open(db).expect("db opens");
    let n = |sql: &str| c.query_row(sql, [], |r| r.get::<_, i64>(0)).expect(sql);
    (
        n("SELECT count(*) FROM accounts WHERE name LIKE 'tx create %'"),
        n("SELECT count(*) FROM accounts WHERE numberofemployees = 4242"),
        n("SELECT count(*) FROM mooring_outbox"),
    )
}

fn apply(db: &Path, file: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_mooring"));
    cmd.arg("apply")
        .arg("--db")
        .arg(db)
        .arg(file)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    cmd
}

fn temp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "mooring-transaction-kill-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// A synced mirror (its WAL folded in) and the file of 950 creates and
/// 50 updates.
async fn base(dir: &Path) -> (PathBuf, PathBuf) {
    let s = mooring_devserver::start(mooring_devserver::Config {
        seed_rows: SEEDED,
        token: TOKEN.into(),
        ..Default::default()
    })
    .await
    .expect("emulator");
    let remote = Remote::new(
        RemoteConfig::new(s.root_url()),
        Arc::new(StaticToken(TOKEN.into())),
    )
    .expect("remote");
    let db = dir.join("base.db");
    let store = Store::open(&db).expect("store");
    let profile = Profile::from_json(PROFILE).expect("profile");
    let (engine, _) = SyncEngine::prepare(remote, store, &profile)
        .await
        .expect("prepare");
    engine
        .sync(Arc::new(|_: &mooring_core::Progress| {}))
        .await
        .expect("sync");
    engine.remember_profile().expect("profile remembered");
    let ids: Vec<String> = engine
        .store()
        .query(&mooring_core::Query::table("accounts"))
        .expect("query")
        .iter()
        .map(|r| r["accountid"].as_str().expect("id").to_string())
        .collect();
    engine.store().close().expect("close");
    drop(engine);
    s.shutdown().await;
    let mut writes: Vec<serde_json::Value> = (0..CREATES)
        .map(|i| serde_json::json!({"create": "accounts", "values": {"name": format!("tx create {i}"), "numberofemployees": i}}))
        .collect();
    writes.extend(ids.iter().map(|id| {
        serde_json::json!({"update": "accounts", "id": id, "values": {"numberofemployees": 4242}})
    }));
    let file = dir.join("writes.json");
    std::fs::write(&file, serde_json::to_string(&writes).unwrap()).expect("writes");
    let snapshot = dir.join("base.snapshot");
    let c = rusqlite::Connection::open(&db).expect("db");
    c.execute("VACUUM INTO ?1", [snapshot.to_string_lossy().as_ref()])
        .expect("vacuum into");
    (snapshot, file)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_transaction_leaves_all_or_nothing() {
    let trials: usize = std::env::var("MOORING_KILL_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let seed: u64 = std::env::var("MOORING_KILL_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("transaction kill test: {trials} trials, MOORING_KILL_SEED={seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let dir = temp_dir();
    let (base, file) = base(&dir).await;
    let all = (CREATES as i64, SEEDED as i64, (CREATES + SEEDED) as i64);
    assert_eq!(counts(&base), (0, 0, 0));

    // Calibrate: an uninterrupted run.
    let full = {
        let db = dir.join("calibrate.db");
        std::fs::copy(&base, &db).expect("copy");
        let t0 = Instant::now();
        let out = apply(&db, &file).output().await.expect("runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let full = t0.elapsed();
        assert_eq!(counts(&db), all, "uninterrupted");
        eprintln!("uninterrupted apply: {full:?}");
        full
    };

    let (mut none, mut whole) = (0, 0);
    for trial in 0..trials {
        let db = dir.join(format!("trial-{trial}.db"));
        std::fs::copy(&base, &db).expect("copy");
        let mut child = apply(&db, &file).spawn().expect("spawns");
        let at = full.mul_f64(0.3 + 0.9 * rng.f64());
        if tokio::time::timeout(at, child.wait()).await.is_err() {
            child.start_kill().expect("SIGKILL");
            let _ = child.wait().await;
        }
        let after = counts(&db);
        match after {
            (0, 0, 0) => none += 1,
            c if c == all => whole += 1,
            c => panic!("trial {trial} (killed at {at:?}): a part of the transaction: {c:?}"),
        }
        if after == (0, 0, 0) {
            // The mirror opens again (the killed process's lock is gone)
            // and takes the transaction.
            let out = apply(&db, &file).output().await.expect("runs");
            assert!(
                out.status.success(),
                "trial {trial}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(counts(&db), all, "trial {trial}: applied after the kill");
        }
    }
    eprintln!("transaction kill test: {none} killed before the commit, {whole} after");
    let _ = std::fs::remove_dir_all(&dir);
    // Fewer would mean the kills missed the transaction altogether.
    assert!(
        none > 0 || trials < 4,
        "no kill landed before the commit: {none} / {trials}"
    );
}
