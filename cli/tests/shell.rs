//! `mooring shell` against a server it did not start (the emulator here,
//! a real environment in use): the loading screen, then script commands:
//! SQL over the mirror, a local create waiting as pending, a sync that
//! uploads it; the commands that drive the demo's emulator say so and make
//! the script exit non-zero.

use std::path::PathBuf;

use mooring_devserver::Config;

const TOKEN: &str = "shell-token";

fn temp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "mooring-cli-shell-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn shell(root: &str, dir: &std::path::Path, script: &str) -> std::process::Output {
    let script_file = dir.join(format!("script-{}.txt", fastrand::u32(..)));
    std::fs::write(&script_file, script).unwrap();
    tokio::process::Command::new(env!("CARGO_BIN_EXE_mooring"))
        .args(["shell", "--server", root, "--plain"])
        .arg("--profile")
        .arg(dir.join("profile.json"))
        .arg("--db")
        .arg(dir.join("m.db"))
        .arg("--script")
        .arg(&script_file)
        .env("MOORING_TOKEN", TOKEN)
        .output()
        .await
        .expect("binary runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shell_syncs_reads_sql_writes_and_uploads_against_any_server() {
    let server = mooring_devserver::start(Config {
        seed_rows: 25,
        seed_tables: vec!["accounts".into()],
        token: TOKEN.into(),
        ..Config::default()
    })
    .await
    .unwrap();
    let dir = temp_dir();
    std::fs::write(
        dir.join("profile.json"),
        r#"{"tables":[{"name":"accounts","columns":["name","telephone1"],"rows":"all"}]}"#,
    )
    .unwrap();
    let root = server.root_url();
    let out = shell(
        &root,
        &dir,
        "tables\n\
         sql SELECT count(*) AS n FROM accounts\n\
         offline\n\
         create accounts {\"name\":\"Shell Harbour\"}\n\
         pending\n\
         online\n\
         sync\n\
         wait connected 20\n\
         sql SELECT name FROM accounts WHERE name = 'Shell Harbour'\n\
         pending\n\
         quit\n",
    )
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("initial sync complete"),
        "the loading screen: {stderr}"
    );
    assert!(stdout.contains("accounts: 25 rows"), "{stdout}");
    assert!(
        stdout.contains("n\n--\n25\n(1 row)"),
        "count(*) over the mirror: {stdout}"
    );
    let pending_at = stdout.find("> pending").unwrap();
    assert!(
        stdout[pending_at..].contains("accounts") && stdout[pending_at..].contains("create"),
        "the pending create: {stdout}"
    );
    assert!(
        stdout[pending_at..].contains("1 change waiting for ")
            && stdout[pending_at..].contains(": no connection"),
        "why it waits: {stdout}"
    );
    assert!(stdout.contains("sync ok"), "{stdout}");
    assert!(stdout.contains("Shell Harbour\n(1 row)"), "{stdout}");
    let last_pending = stdout.rfind("> pending").unwrap();
    assert!(
        stdout[last_pending..].contains("nothing waits for upload"),
        "uploaded by the sync: {stdout}"
    );
    assert!(
        server
            .admin()
            .rows("accounts")
            .unwrap()
            .iter()
            .any(|r| r["name"] == "Shell Harbour"),
        "uploaded to the server"
    );

    // The emulator's own levers are the demo's; the mirror resumes without
    // a second download.
    let out = shell(&root, &dir, "other create accounts {}\nrevoke\nquit\n").await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "a failed script command exits non-zero"
    );
    assert!(
        stdout.matches("drives the demo's emulator").count() == 2,
        "{stdout}"
    );
    server.shutdown().await;
}
