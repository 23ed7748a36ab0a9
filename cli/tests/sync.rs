//! The `mooring sync` binary end to end against the in-process emulator:
//! the summary line's exact form, plain progress off a terminal, a second
//! run that only deltas, and failures that exit non-zero with the reason.

use std::path::{Path, PathBuf};
use std::process::Output;

use mooring_devserver::Config;

fn temp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "mooring-cli-test-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn run(args: &[&str], token: &str) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_mooring"));
    cmd.args(args).env("MOORING_TOKEN", token);
    cmd.output().await.expect("binary runs")
}

fn sync_args<'a>(server: &'a str, profile: &'a Path, db: &'a Path) -> Vec<String> {
    vec![
        "sync".into(),
        "--server".into(),
        server.into(),
        "--profile".into(),
        profile.display().to_string(),
        "--db".into(),
        db.display().to_string(),
        "--page-size".into(),
        "100".into(),
    ]
}

/// Parses `synced tables=.. rows=.. downloaded_rows=.. deleted_rows=..
/// json_bytes=.. wire_bytes=.. secs=.. uploaded=..`; checks that the pages came
/// compressed (fewer bytes on the wire than JSON).
fn summary(stdout: &str) -> [u64; 4] {
    let line = stdout.lines().last().expect("a summary line");
    let parts: Vec<&str> = line.split(' ').collect();
    assert_eq!(parts.len(), 9, "{line}");
    assert_eq!(parts[8], "uploaded=0", "nothing was queued: {line}");
    assert_eq!(parts[0], "synced");
    let mut out = [0u64; 6];
    for (i, name) in [
        "tables",
        "rows",
        "downloaded_rows",
        "deleted_rows",
        "json_bytes",
        "wire_bytes",
    ]
    .iter()
    .enumerate()
    {
        let v = parts[i + 1]
            .strip_prefix(&format!("{name}="))
            .unwrap_or_else(|| panic!("{line}"));
        out[i] = v.parse().unwrap();
    }
    let secs = parts[7].strip_prefix("secs=").unwrap();
    assert!(
        secs.parse::<f64>().is_ok() && secs.split('.').nth(1).is_some_and(|d| d.len() == 1),
        "{line}"
    );
    let (json, wire) = (out[4], out[5]);
    if out[2] >= 100 {
        assert!(wire * 2 < json, "pages travel gzip-compressed: {line}");
    }
    [out[0], out[1], out[2], out[3]]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_prints_the_summary_and_resyncs_by_delta() {
    let server = mooring_devserver::start(Config {
        seed_rows: 500,
        token: "t0k".into(),
        ..Config::default()
    })
    .await
    .unwrap();
    let dir = temp_dir();
    let profile = dir.join("profile.json");
    std::fs::write(
        &profile,
        r#"{"tables":[{"name":"accounts","columns":["name","telephone1"],"rows":"all"},
          {"name":"contacts","columns":["lastname","parentcustomerid"],"rows":"all"},
          {"name":"opportunities","columns":["name","estimatedvalue"],"rows":"all"},
          {"name":"tasks","columns":["subject"],"rows":"all"}]}"#,
    )
    .unwrap();
    let db = dir.join("m.db");
    let root = server.root_url();
    let args = sync_args(&root, &profile, &db);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args, "t0k").await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(summary(&stdout), [4, 2000, 2000, 0]);
    assert!(
        stderr.contains("initial") && stderr.contains("rows 2000/2000 (100%)"),
        "plain progress lines: {stderr}"
    );

    let me = server.admin().users()[0].id;
    let id = server.admin().rows("accounts").unwrap()[0]["accountid"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    server.admin().delete_row("accounts", id).unwrap();
    server
        .admin()
        .create_row("tasks", me, serde_json::json!({"subject": "call back"}))
        .unwrap();
    let out = run(&args, "t0k").await;
    assert!(out.status.success());
    assert_eq!(
        summary(&String::from_utf8_lossy(&out.stdout)),
        [4, 2000, 1, 1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_exit_non_zero_with_the_reason() {
    let server = mooring_devserver::start(Config {
        seed_rows: 10,
        token: "good".into(),
        ..Config::default()
    })
    .await
    .unwrap();
    let dir = temp_dir();
    let profile = dir.join("p.json");
    std::fs::write(
        &profile,
        r#"{"tables":[{"name":"accounts","columns":["name","no_such_column"]}]}"#,
    )
    .unwrap();
    let db = dir.join("m.db");
    let root = server.root_url();
    let args = sync_args(&root, &profile, &db);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    let out = run(&args, "good").await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("error:") && stderr.contains("no_such_column"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());

    std::fs::write(
        &profile,
        r#"{"tables":[{"name":"accounts","columns":["name"]}]}"#,
    )
    .unwrap();
    let out = run(&args, "secret-bad-token").await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("authentication"), "{stderr}");
    assert!(
        !stderr.contains("secret-bad-token"),
        "the token never reaches output"
    );

    let out = run(
        &[
            "sync",
            "--server",
            "http://127.0.0.1:1",
            "--profile",
            &profile.display().to_string(),
            "--db",
            &db.display().to_string(),
            "--retries",
            "1",
        ],
        "good",
    )
    .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("network"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_manifest_works_as_the_profile() {
    let server = mooring_devserver::start(Config {
        seed_rows: 40,
        token: "t".into(),
        ..Config::default()
    })
    .await
    .unwrap();
    let dir = temp_dir();
    let manifest = dir.join("app.json");
    std::fs::write(
        &manifest,
        r#"{"app":"Field sales","screens":[{"name":"Contacts","reads":[{"table":"contacts","columns":["lastname","parentcustomerid"]}]}]}"#,
    )
    .unwrap();
    let db = dir.join("m.db");
    let root = server.root_url();
    let args = sync_args(&root, &manifest, &db);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args, "t").await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let [tables, rows, ..] = summary(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(
        tables, 2,
        "contacts plus the accounts their lookup points at"
    );
    assert!(rows > 40 && rows <= 80, "{rows}");
}

/// Two `mooring sync` runs on one file, as a new user might start them:
/// the second is told at once that the mirror is in use, and by whom; the
/// first finishes untouched. Afterwards `mooring diagnostics` reads it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_process_on_the_same_mirror_is_told_it_is_in_use() {
    let server = mooring_devserver::start(Config {
        seed_rows: 200,
        token: "t0k".into(),
        ..Config::default()
    })
    .await
    .unwrap();
    // Slow answers: the first run holds the mirror for a few seconds.
    server
        .admin()
        .set_latency(std::time::Duration::from_millis(300));
    let dir = temp_dir();
    let profile = dir.join("profile.json");
    std::fs::write(
        &profile,
        r#"{"tables":[{"name":"accounts","columns":["name"],"rows":"all"}]}"#,
    )
    .unwrap();
    let db = dir.join("m.db");
    let root = server.root_url();
    let args = sync_args(&root, &profile, &db);
    let first = tokio::process::Command::new(env!("CARGO_BIN_EXE_mooring"))
        .args(&args)
        .env("MOORING_TOKEN", "t0k")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("first run");
    let lock = PathBuf::from(format!("{}-lock", db.display()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !std::fs::read_to_string(&lock).is_ok_and(|s| s.contains("pid")) {
        assert!(
            std::time::Instant::now() < deadline,
            "the first run never opened the mirror"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let second = run(&args, "t0k").await;
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "the second run is refused");
    assert!(
        stderr.contains("in use by mooring (pid"),
        "says who holds it: {stderr}"
    );
    let first = first.wait_with_output().await.expect("first run ends");
    assert!(
        first.status.success(),
        "the first run finished: {}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert_eq!(summary(&String::from_utf8_lossy(&first.stdout))[1], 200);

    let db_arg = db.display().to_string();
    let report = run(&["diagnostics", "--db", &db_arg], "").await;
    let text = String::from_utf8_lossy(&report.stdout);
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    assert!(text.contains("accounts: ready, 200 rows"), "{text}");
    assert!(text.contains("integrity: ok"), "{text}");
    let json = run(&["diagnostics", "--db", &db_arg, "--json"], "").await;
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("--json prints JSON");
    assert_eq!(v["tables"][0]["rows"], 200);
}
