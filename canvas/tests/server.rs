//! With the server (`profile_from_app_checked`), over loopback against the
//! emulator: a YAML v3 app, which declares tables by logical name only and
//! names columns by display name, resolves them against the server's
//! `EntityDefinitions` labels (`DisplayName`) instead of reporting them
//! unresolved. Fixture: `tests/fixtures/v3-sales`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mooring_canvas::{WarningKind, profile_from_app, profile_from_app_checked};
use mooring_core::remote::{Remote, RemoteConfig, StaticToken};
use mooring_core::secret::Secret;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yaml_v3_display_names_resolve_against_the_servers_labels() {
    let server = mooring_devserver::start(mooring_devserver::Config {
        token: "t0k".into(),
        seed_rows: 5,
        ..mooring_devserver::Config::default()
    })
    .await
    .unwrap();
    let remote = Remote::new(
        RemoteConfig::new(server.root_url()),
        Arc::new(StaticToken(Secret::new("t0k".to_string()))),
    )
    .unwrap();

    let g = profile_from_app_checked(&remote, &fixture("v3-sales"))
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_str(&g.profile.to_json()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"tables": [
            // 'Number of Employees' > 50: a number literal, kept on the
            // device; 'Account Name' is also reached from Contacts'
            // 'Company Name' (a Customer lookup: the server says account).
            {"name": "accounts", "columns": ["name", "numberofemployees", "telephone1"],
             "rows": {"filter": "numberofemployees gt 50", "owned": false, "related": true}},
            // Sort(Contacts, …) reads the whole table.
            {"name": "contacts", "columns": ["firstname", "lastname", "parentcustomerid"],
             "rows": "all"}
        ]})
    );
    let bad: Vec<_> = g
        .explanation
        .warnings
        .iter()
        .filter(|w| matches!(w.kind, WarningKind::Unresolved | WarningKind::Guessed))
        .collect();
    assert!(bad.is_empty(), "{bad:?}");
    // The explanation shows the label the formula used.
    let accounts = g
        .explanation
        .tables
        .iter()
        .find(|t| t.entity_set == "accounts")
        .unwrap();
    let name = accounts
        .columns
        .iter()
        .find(|c| c.logical_name == "name")
        .unwrap();
    assert_eq!(name.display_name.as_deref(), Some("Account Name"));

    // Without the server the same app cannot know those names: reported.
    let offline = profile_from_app(&fixture("v3-sales"), None).unwrap();
    let unresolved: Vec<_> = offline
        .explanation
        .warnings
        .iter()
        .filter(|w| w.kind == WarningKind::Unresolved)
        .map(|w| w.message.clone())
        .collect();
    assert!(
        unresolved.iter().any(|m| m.contains("'Account Name'")),
        "{unresolved:?}"
    );
}
