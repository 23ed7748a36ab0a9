//! `mooring demo --script` end to end: the emulator in-process, the facade,
//! and a script that walks the status icon through all six states, each
//! asserted from the `status` lines; then `mooring status --db` on the
//! mirror the demo left behind.

use std::path::PathBuf;

fn temp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "mooring-demo-test-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn mooring(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_mooring"))
        .args(args)
        .output()
        .expect("binary runs")
}

/// The `icon=` of every `status icon=<icon> pending=<n> errors=<n>` line.
fn status_lines(stdout: &str) -> Vec<(String, u64, u64)> {
    stdout
        .lines()
        .filter(|l| l.starts_with("status icon="))
        .map(|l| {
            let mut parts = l.split(' ');
            assert_eq!(parts.next(), Some("status"));
            let field = |p: Option<&str>, name: &str| -> String {
                p.and_then(|p| p.strip_prefix(&format!("{name}=")))
                    .unwrap_or_else(|| panic!("{name} in {l}"))
                    .to_string()
            };
            let icon = field(parts.next(), "icon");
            let pending = field(parts.next(), "pending")
                .parse()
                .expect("pending is a number");
            let errors = field(parts.next(), "errors")
                .parse()
                .expect("errors is a number");
            (icon, pending, errors)
        })
        .collect()
}

#[test]
fn the_demo_script_walks_through_all_six_icons() {
    let dir = temp_dir();
    let script = dir.join("script.txt");
    std::fs::write(
        &script,
        r#"# connected after the initial sync
wait connected 30
status
list accounts 2
# the phone goes offline; edits are kept and counted (changes, not rows)
offline
status
create accounts {"name":"Made offline"}
update accounts $last {"telephone1":"555-0100"}
create contacts {"lastname":"Offline"}
status
# back online: uploaded, synced
online
sync
status
# a slow server: caught while syncing
latency 400
sync start
wait syncing 10
status
latency 0
wait connected 30
# the network is up but the server does not answer
unreachable
wait warning 15
status
explain
reachable
sync
wait connected 15
# the server no longer accepts the sign-in
revoke
wait error 15
status
restore
sync
wait connected 15
status
# a change the server refuses (a phone number longer than it allows)
create accounts {"name":"Too long","telephone1":"+1-555-0100-0100-0100-0100-0100-0100-0100-0100-0100-0100"}
sync
status
errors
discard 1
status
other create accounts {"name":"Made elsewhere"}
sync
show accounts $last
quit
"#,
    )
    .unwrap();
    let data = dir.join("data");
    let out = mooring(&[
        "demo",
        "--script",
        script.to_str().unwrap(),
        "--rows",
        "200",
        "--data-dir",
        data.to_str().unwrap(),
        "--plain",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "demo failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stderr.contains("initial sync complete"), "{stderr}");
    let lines = status_lines(&stdout);
    let icons: Vec<&str> = lines.iter().map(|(i, _, _)| i.as_str()).collect();
    assert_eq!(
        icons,
        [
            "connected",
            "not_connected",
            "pending_upload",
            "connected",
            "syncing",
            "warning",
            "error",
            "connected",
            "error",
            "connected"
        ],
        "{stdout}"
    );
    // Create + update of one row merge into one change; the contact is the
    // second.
    assert_eq!((lines[2].1, lines[2].2), (2, 0), "{stdout}");
    assert_eq!((lines[3].1, lines[3].2), (0, 0), "{stdout}");
    assert_eq!(
        (lines[8].1, lines[8].2),
        (0, 1),
        "the refused change: {stdout}"
    );
    assert_eq!((lines[9].1, lines[9].2), (0, 0), "discarded: {stdout}");
    assert!(
        stdout.contains("HTTP 400"),
        "errors lists the refusal: {stdout}"
    );
    assert!(
        stdout.contains("Server unreachable"),
        "explain shows the title: {stdout}"
    );
    assert!(
        stdout.contains("Made elsewhere"),
        "the other user's row arrived: {stdout}"
    );

    // The mirror the demo left behind, read without a network.
    let db = data.join("mirror.db");
    let out = mooring(&["status", "--db", db.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let lines = status_lines(&stdout);
    assert_eq!(lines.len(), 1, "{stdout}");
    assert_eq!((lines[0].1, lines[0].2), (0, 0));
    assert!(stdout.contains("initial_sync_complete=true"), "{stdout}");
    // 200 seeded + "Made offline" + "Made elsewhere" (the refused one is gone).
    assert!(stdout.contains("accounts:202"), "{stdout}");
    assert!(
        !mooring(&["status", "--db", dir.join("missing.db").to_str().unwrap()])
            .status
            .success()
    );
}
