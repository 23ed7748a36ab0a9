//! The one-shot commands on a mirror, as real processes: `create`,
//! `update`, `delete`, `query --sql` and `pending` with no server named,
//! bad input refused with the reason and a non-zero exit, then `mooring
//! sync` uploads what waited and the server has it.

use std::path::{Path, PathBuf};
use std::process::Output;

use mooring_devserver::Config;

const TOKEN: &str = "cli-offline";

fn temp_dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "mooring-cli-offline-{}-{}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&d).unwrap();
    d
}

async fn mooring(args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_mooring"))
        .args(args)
        .env("MOORING_TOKEN", TOKEN)
        .output()
        .await
        .expect("binary runs")
}

/// Runs a command that must succeed; its stdout.
async fn ok(args: &[&str]) -> String {
    let out = mooring(args).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?} failed: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a command that must fail; its stderr.
async fn fails(args: &[&str]) -> String {
    let out = mooring(args).await;
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(out.stdout.is_empty(), "{args:?} printed a result");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn sync<'a>(root: &'a str, profile: &'a Path, db: &'a Path) -> [String; 7] {
    [
        "sync".into(),
        "--server".into(),
        root.into(),
        "--profile".into(),
        profile.display().to_string(),
        "--db".into(),
        db.display().to_string(),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_made_offline_by_one_shot_commands_are_uploaded_by_the_next_sync() {
    let server = mooring_devserver::start(Config {
        seed_rows: 20,
        seed_tables: vec!["accounts".into(), "contacts".into()],
        token: TOKEN.into(),
        ..Config::default()
    })
    .await
    .unwrap();
    let admin = server.admin();
    let dir = temp_dir();
    let profile = dir.join("profile.json");
    std::fs::write(
        &profile,
        r#"{"tables":[{"name":"accounts","columns":["name","telephone1","numberofemployees"],"rows":"all"},
          {"name":"contacts","columns":["lastname","parentcustomerid"],"rows":"all"}]}"#,
    )
    .unwrap();
    let db = dir.join("m.db");
    let dbs = db.display().to_string();
    let root = server.root_url();

    // Before any sync there is no mirror to write to.
    let e = fails(&["create", "accounts", "--db", &dbs, "name=x"]).await;
    assert!(e.contains("no database at"), "{e}");

    let args = sync(&root, &profile, &db);
    ok(&args.iter().map(String::as_str).collect::<Vec<_>>()).await;

    // From here on no command is given a server: the emulator refuses
    // connections, and every one of them still works.
    admin.set_refusing_connections(true);
    let out = ok(&[
        "create",
        "accounts",
        "--db",
        &dbs,
        "name=CLI Harbour",
        "numberofemployees=12",
    ])
    .await;
    let words: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(words[..2], ["created", "accounts"], "{out}");
    assert_eq!(words[3], "(pending=1)", "{out}");
    let account = words[2].to_string();
    let out = ok(&[
        "create",
        "contacts",
        "--db",
        &dbs,
        "lastname=Quayside",
        &format!("parentcustomerid={account}"),
    ])
    .await;
    assert!(out.trim_end().ends_with("(pending=2)"), "{out}");
    let server_accounts = admin.rows("accounts").unwrap();
    let edited = server_accounts[0]["accountid"]
        .as_str()
        .unwrap()
        .to_string();
    let deleted = server_accounts[1]["accountid"]
        .as_str()
        .unwrap()
        .to_string();
    ok(&[
        "update",
        "accounts",
        &edited,
        "--db",
        &dbs,
        "telephone1=\"0101\"",
    ])
    .await;
    ok(&["delete", "accounts", &deleted, "--db", &dbs]).await;

    // SQL over the mirror sees the local changes, as a table or as JSON.
    let join = "SELECT a.name, a.numberofemployees, c.lastname FROM accounts a \
                JOIN contacts c ON c.parentcustomerid = a.accountid WHERE a.name = ?";
    let table = ok(&["query", "--db", &dbs, "--sql", join, "CLI Harbour"]).await;
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "header, rule, one row, count:\n{table}");
    assert!(
        lines[0].starts_with("name") && lines[0].ends_with("lastname"),
        "{table}"
    );
    assert!(
        lines[2].starts_with("CLI Harbour")
            && lines[2].contains(" 12 ")
            && lines[2].ends_with("Quayside"),
        "{table}"
    );
    assert_eq!(lines[3], "(1 row)");
    let json = ok(&[
        "query",
        "--db",
        &dbs,
        "--json",
        "--sql",
        "SELECT telephone1 FROM accounts WHERE accountid = ?",
        &edited,
    ])
    .await;
    let row: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(row["telephone1"], "0101", "digits stay text, zeros kept");
    let gone = ok(&[
        "query",
        "--db",
        &dbs,
        "--sql",
        "SELECT count(*) AS n FROM accounts WHERE accountid = ?",
        &deleted,
    ])
    .await;
    assert!(gone.lines().nth(2) == Some("0"), "deleted locally:\n{gone}");

    // What waits, oldest first, and why.
    let pending = ok(&["pending", "--db", &dbs]).await;
    let first = pending.lines().next().unwrap();
    assert!(
        first.starts_with("4 changes waiting for ") && first.contains("mooring upload"),
        "{pending}"
    );
    let body: Vec<&str> = pending.lines().skip(3).collect();
    assert_eq!(body.len(), 4, "{pending}");
    for (line, (table, op)) in body.iter().zip([
        ("accounts", "create"),
        ("contacts", "create"),
        ("accounts", "update"),
        ("accounts", "delete"),
    ]) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        assert_eq!((cols[1], cols[3]), (table, op), "{pending}");
    }
    assert!(
        body[2].contains("telephone1") && !pending.contains("0101"),
        "columns, never values:\n{pending}"
    );

    // Bad input: the reason, a non-zero exit, nothing queued.
    for (args, says) in [
        (
            vec!["query", "--db", &dbs, "--sql", "DELETE FROM accounts"],
            "SQL refused",
        ),
        (
            vec![
                "query",
                "--db",
                &dbs,
                "--sql",
                "SELECT * FROM mooring_outbox",
            ],
            "not a table of the mirror",
        ),
        (
            vec!["query", "--db", &dbs, "--sql", "SELECT ?"],
            "1 parameters, 0 given",
        ),
        (
            vec!["create", "accounts", "--db", &dbs, "nosuchcolumn=1"],
            "nosuchcolumn",
        ),
        (vec!["create", "leads", "--db", &dbs, "subject=x"], "leads"),
        (
            vec!["update", "accounts", &edited, "--db", &dbs, "telephone1"],
            "COLUMN=VALUE",
        ),
        (
            vec![
                "update",
                "accounts",
                &edited,
                "--db",
                &dbs,
                "numberofemployees=many",
            ],
            "numberofemployees",
        ),
    ] {
        let e = fails(&args).await;
        assert!(
            e.starts_with("error: ") && e.contains(says),
            "{args:?}: {e}"
        );
    }
    assert!(
        ok(&["pending", "--db", &dbs])
            .await
            .starts_with("4 changes")
    );
    assert!(
        admin
            .rows("accounts")
            .unwrap()
            .iter()
            .all(|r| r["name"] != "CLI Harbour"),
        "nothing reached the server"
    );

    // The next sync sends them, then downloads.
    admin.set_refusing_connections(false);
    let out = ok(&args.iter().map(String::as_str).collect::<Vec<_>>()).await;
    assert!(out.trim_end().ends_with("uploaded=4"), "{out}");
    let rows = admin.rows("accounts").unwrap();
    let made = rows
        .iter()
        .find(|r| {
            r["accountid"]
                .as_str()
                .unwrap()
                .eq_ignore_ascii_case(&account)
        })
        .expect("the created account on the server");
    assert_eq!(made["name"], "CLI Harbour");
    assert_eq!(made["numberofemployees"], 12);
    let phone = rows
        .iter()
        .find(|r| r["accountid"] == edited.as_str())
        .unwrap();
    assert_eq!(phone["telephone1"], "0101");
    assert!(
        rows.iter().all(|r| r["accountid"] != deleted.as_str()),
        "deleted on the server"
    );
    let contact = admin
        .rows("contacts")
        .unwrap()
        .into_iter()
        .find(|r| r["lastname"] == "Quayside")
        .expect("the contact on the server");
    assert!(
        contact["_parentcustomerid_value"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case(&account),
        "the lookup to the new account: {contact:?}"
    );
    assert_eq!(
        ok(&["pending", "--db", &dbs]).await.trim(),
        "nothing waits for upload"
    );
    server.shutdown().await;
}
