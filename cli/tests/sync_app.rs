//! `mooring sync --app` and `mooring profile from-app` end to end: a small
//! canvas app of our own (`canvas/tests/fixtures/unpack-sales`, over the
//! emulator's sample tables) read by the real binary, its profile checked
//! against the in-process emulator's schema, then synced into a real
//! SQLite mirror that holds exactly the rows the formulas need.

use std::path::{Path, PathBuf};

use mooring_devserver::Config;

fn app() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../canvas/tests/fixtures/unpack-sales")
}

async fn run(args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_mooring"))
        .args(args)
        .env("MOORING_TOKEN", "t0k")
        .output()
        .await
        .expect("binary runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_app_keeps_the_rows_the_formulas_need() {
    let server = mooring_devserver::start(Config {
        seed_rows: 300,
        token: "t0k".into(),
        ..Config::default()
    })
    .await
    .unwrap();
    let url = server.root_url();
    let dir = std::env::temp_dir().join(format!("mooring-sync-app-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("sales.db");
    let app = app();

    // The profile, checked against the server, with its explanation.
    let out = run(&[
        "profile",
        "from-app",
        app.to_str().unwrap(),
        "--server",
        &url,
        "--explain",
    ])
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json_end = stdout.find("\n\napp ").expect("explanation after the JSON");
    let profile: serde_json::Value = serde_json::from_str(&stdout[..json_end]).unwrap();
    assert_eq!(
        profile,
        serde_json::json!({"tables": [
            // Owner = User() in galAccounts; Contacts' 'Company Name'.Account
            // reaches it, so the accounts contacts point at come too.
            {"name": "accounts", "columns": ["name", "ownerid", "telephone1"],
             "rows": {"filter": null, "owned": true, "related": true}},
            // 'Last Name' <> "" is known on the device; the comparison with
            // galAccounts.Selected is the app's state (dropped from the AND).
            {"name": "contacts", "columns": ["firstname", "lastname", "parentcustomerid"],
             "rows": {"filter": "lastname ne ''", "owned": false, "related": false}}
        ]})
    );
    assert!(
        stdout.contains("table Accounts (account, entity set accounts): read"),
        "{stdout}"
    );

    // Sync straight from the app.
    let out = run(&[
        "sync",
        "--app",
        app.to_str().unwrap(),
        "--server",
        &url,
        "--db",
        db.to_str().unwrap(),
    ])
    .await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout
            .lines()
            .last()
            .unwrap()
            .starts_with("synced tables=2 "),
        "{stdout}"
    );

    // The mirror: every contact with a last name; accounts owned by the
    // user or pointed at by a kept contact, and no other.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let me = server.admin().users()[0].id.to_string();
    let contacts: i64 = conn
        .query_row("SELECT count(*) FROM contacts", [], |r| r.get(0))
        .unwrap();
    let server_contacts = server
        .admin()
        .rows("contacts")
        .unwrap()
        .iter()
        .filter(|r| {
            r.get("lastname")
                .and_then(|v| v.as_str())
                .is_some_and(|s| !s.is_empty())
        })
        .count();
    assert_eq!(contacts as usize, server_contacts);
    let stray: i64 = conn
        .query_row(
            "SELECT count(*) FROM accounts a WHERE lower(a.ownerid) <> lower(?1)
               AND NOT EXISTS (SELECT 1 FROM contacts c WHERE lower(c.parentcustomerid) = lower(a.accountid))",
            [me],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(stray, 0, "accounts neither owned nor related");
    let accounts: i64 = conn
        .query_row("SELECT count(*) FROM accounts", [], |r| r.get(0))
        .unwrap();
    assert!(accounts > 0 && (accounts as usize) < 300, "{accounts}");

    // A column the app names but the server lacks: an error naming the formula.
    let bad = dir.join("bad-app");
    copy_dir(&app, &bad);
    let screen = bad.join("Src/Accounts Screen.fx.yaml");
    let text = std::fs::read_to_string(&screen).unwrap();
    std::fs::write(&screen, text.replace("'Main Phone'", "'Fax'")).unwrap();
    let ds = bad.join("DataSources/Accounts.json");
    let text = std::fs::read_to_string(&ds).unwrap();
    std::fs::write(
        &ds,
        text.replace("\"telephone1\": \"Main Phone\"", "\"fax\": \"Fax\""),
    )
    .unwrap();
    let out = run(&[
        "profile",
        "from-app",
        bad.to_str().unwrap(),
        "--server",
        &url,
    ])
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("column fax does not exist on the server")
            && stderr.contains("Src/Accounts Screen.fx.yaml:7:")
            && stderr.contains("lblName.Text"),
        "{stderr}"
    );
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}
