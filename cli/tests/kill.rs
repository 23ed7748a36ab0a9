//! The kill test: `mooring sync` is SIGKILLed at random moments of an
//! initial sync of two tables of 60,000 rows downloading in parallel, then
//! run again to completion. Each time the mirror must equal the server row
//! for row, table by table, and the rerun may download at most one page
//! per table beyond the rows the killed run had not committed (counted per
//! table by the emulator). MOORING_KILL_TRIALS (default 20) and MOORING_KILL_SEED tune
//! it; scripts/soak-kill runs many more trials.

use crate::common;

use common::{mirror_table_rows, server_table_rows};

use std::path::{Path, PathBuf};
use std::time::Instant;

use mooring_devserver::Config;

const ROWS: usize = 60_000;
const PAGE: u64 = 2_000;
const TOKEN: &str = "kill-token";
/// (entity set, key, columns): downloaded at once by one `mooring sync`.
const TABLES: [(&str, &str, &[&str]); 2] = [
    (
        "accounts",
        "accountid",
        &[
            "name",
            "accountnumber",
            "telephone1",
            "revenue",
            "modifiedon",
        ],
    ),
    (
        "contacts",
        "contactid",
        &["firstname", "lastname", "emailaddress1", "modifiedon"],
    ),
];

/// Rows the mirror holds now in `table` (0 if the killed run never made it).
fn held(db: &Path, table: &str) -> u64 {
    let Ok(c) = rusqlite::Connection::open(db) else {
        return 0;
    };
    c.query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| n as u64)
    .unwrap_or(0)
}

type Rows = std::collections::BTreeMap<String, Vec<String>>;

fn mirror_tables(db: &Path) -> Vec<Rows> {
    TABLES
        .iter()
        .map(|(t, k, c)| mirror_table_rows(db, t, k, c))
        .collect()
}

fn command(root: &str, profile: &Path, db: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_mooring"));
    cmd.args([
        "sync",
        "--server",
        root,
        "--page-size",
        &PAGE.to_string(),
        "--plain",
    ])
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

fn downloaded(stdout: &[u8]) -> u64 {
    let text = String::from_utf8_lossy(stdout);
    let line = text.lines().last().unwrap_or_default();
    line.split(' ')
        .find_map(|p| p.strip_prefix("downloaded_rows="))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no summary line in {text:?}"))
}

fn temp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "mooring-kill-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_at_random_points_then_rerun_converges() {
    let trials: usize = std::env::var("MOORING_KILL_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let seed: u64 = std::env::var("MOORING_KILL_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("kill test: {trials} trials, MOORING_KILL_SEED={seed}");
    let mut rng = fastrand::Rng::with_seed(seed);

    let server = mooring_devserver::start(Config {
        seed_rows: ROWS,
        seed_tables: TABLES.iter().map(|(t, ..)| t.to_string()).collect(),
        token: TOKEN.into(),
        ..Config::default()
    })
    .await
    .expect("emulator");
    let admin = server.admin();
    let root = server.root_url();
    let want: Vec<Rows> = TABLES
        .iter()
        .map(|(t, k, c)| server_table_rows(&admin, t, k, c))
        .collect();
    assert!(want.iter().all(|w| w.len() == ROWS));
    let dir = temp_dir();
    let profile = dir.join("profile.json");
    let tables: Vec<serde_json::Value> = TABLES
        .iter()
        .map(|(t, _, c)| serde_json::json!({"name": t, "columns": c, "rows": "all"}))
        .collect();
    std::fs::write(
        &profile,
        serde_json::json!({ "tables": tables }).to_string(),
    )
    .expect("profile");

    // Calibrate: how long an uninterrupted run takes.
    let db = dir.join("calibrate.db");
    let t0 = Instant::now();
    let out = command(&root, &profile, &db).output().await.expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let full = t0.elapsed();
    assert!(mirror_tables(&db) == want, "uninterrupted run");
    eprintln!("uninterrupted run: {full:?}");

    let mut interrupted = 0;
    for trial in 0..trials {
        let db = dir.join(format!("trial-{trial}.db"));
        // Some trials are killed twice: resuming a resumed sync.
        let kills = if trial % 4 == 3 { 2 } else { 1 };
        for _ in 0..kills {
            let mut child = command(&root, &profile, &db).spawn().expect("spawns");
            let at = full.mul_f64(rng.f64());
            let finished = tokio::time::timeout(at, child.wait()).await.is_ok();
            if !finished {
                child.start_kill().expect("SIGKILL");
                let _ = child.wait().await;
                interrupted += 1;
            }
        }
        let before: Vec<u64> = TABLES.iter().map(|(t, ..)| held(&db, t)).collect();
        admin.reset_stats();
        let out = command(&root, &profile, &db).output().await.expect("rerun");
        assert!(
            out.status.success(),
            "trial {trial}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stats = admin.stats();
        let served = stats.rows_served;
        for ((table, ..), before) in TABLES.iter().zip(&before) {
            let got = stats.rows_served_by_table.get(*table).copied().unwrap_or(0);
            let missing = ROWS as u64 - before;
            assert!(
                got <= missing + PAGE,
                "trial {trial}: the rerun downloaded {got} rows of {table} but only {missing} were missing (one page of {PAGE} allowed)"
            );
        }
        assert_eq!(
            downloaded(&out.stdout),
            served,
            "trial {trial}: the summary counts what was downloaded"
        );
        for (((table, ..), have), want) in TABLES.iter().zip(mirror_tables(&db)).zip(&want) {
            if &have != want {
                let extra = have.keys().filter(|k| !want.contains_key(*k)).count();
                let missing = want.keys().filter(|k| !have.contains_key(*k)).count();
                panic!(
                    "trial {trial} (seed {seed}): {table} differs: {} rows, {missing} missing, {extra} extra",
                    have.len()
                );
            }
        }
        let _ = std::fs::remove_file(&db);
    }
    eprintln!("{interrupted} kills over {trials} trials");
    assert!(
        interrupted * 2 >= trials,
        "most trials must really be interrupted ({interrupted}/{trials})"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
