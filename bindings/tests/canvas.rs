//! `profile_from_canvas_app`, the FFI face of `mooring-canvas`: the
//! project's own small app (`canvas/tests/fixtures/unpack-sales`) gives
//! the tables, columns and rows its formulas need; a broken app gives the
//! typed `CanvasApp` error with its place, never a panic.

use std::path::{Path, PathBuf};

use mooring_ffi::{CanvasRows, MooringError, profile_from_canvas_app};

fn sales_app() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../canvas/tests/fixtures/unpack-sales")
        .to_string_lossy()
        .into_owned()
}

fn temp_app(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mooring-ffi-canvas-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("Src")).unwrap();
    dir
}

#[test]
fn a_canvas_app_gives_its_tables_columns_rows_and_profile_json() {
    let p = profile_from_canvas_app(sales_app()).unwrap();
    let tables: Vec<(&str, &str, &str, Vec<&str>)> = p
        .tables
        .iter()
        .map(|t| {
            (
                t.app_name.as_str(),
                t.logical_name.as_str(),
                t.entity_set.as_str(),
                t.columns.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        tables,
        vec![
            (
                "Accounts",
                "account",
                "accounts",
                vec!["name", "ownerid", "telephone1"]
            ),
            (
                "Contacts",
                "contact",
                "contacts",
                vec!["firstname", "lastname", "parentcustomerid"]
            ),
        ]
    );
    // Owner = User() keeps the user's accounts (and those contacts point at);
    // 'Last Name' <> "" is evaluated on the device.
    assert_eq!(
        p.tables[0].rows,
        CanvasRows {
            all: false,
            owned: true,
            filter: None,
            related: true
        }
    );
    assert_eq!(
        p.tables[1].rows,
        CanvasRows {
            all: false,
            owned: false,
            filter: Some("lastname ne ''".into()),
            related: false
        }
    );
    assert!(p.tables.iter().all(|t| t.read && !t.written));
    // The JSON is the profile an app opens with: it parses as one.
    let profile: serde_json::Value = serde_json::from_str(&p.profile_json).unwrap();
    assert_eq!(profile["tables"][1]["rows"]["filter"], "lastname ne ''");
    assert!(
        p.explanation
            .contains("table Accounts (account, entity set accounts): read"),
        "{}",
        p.explanation
    );
}

#[test]
fn a_broken_app_is_the_typed_canvas_error_with_its_place() {
    let dir = temp_app("broken");
    std::fs::write(
        dir.join("Src/App.fx.yaml"),
        "App As appinfo:\n    OnStart: =Set(a, 1)\n\n\"'S' As screen\":\n    g As gallery:\n        Items: |-\n            =Filter(T,\n                a = )\n",
    )
    .unwrap();
    let e = profile_from_canvas_app(dir.to_string_lossy().into_owned()).unwrap_err();
    assert_eq!(
        e,
        MooringError::CanvasApp {
            file: Some("Src/App.fx.yaml".into()),
            line: Some(8),
            column: Some(21),
            reason: "Src/App.fx.yaml:8:21: g.Items: expected a value, found \")\"".into(),
        }
    );

    // A missing app: the typed error naming the path, no place in a file.
    let missing = dir.join("missing");
    match profile_from_canvas_app(missing.to_string_lossy().into_owned()) {
        Err(MooringError::CanvasApp {
            line: None, reason, ..
        }) => assert!(reason.contains("missing"), "{reason}"),
        other => panic!("expected CanvasApp, got {other:?}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
}
