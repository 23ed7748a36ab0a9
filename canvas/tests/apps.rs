//! Small apps written for these tests, one per source format, through the
//! whole path a user runs: read the source, parse every formula, build the
//! profile and the explanation. The expected profiles were worked out by
//! reading the fixtures' formulas (comments say which formula gives what).

use std::io::Write;
use std::path::{Path, PathBuf};

use mooring_canvas::{Format, Generated, WarningKind, profile_from_app};
use mooring_core::Rows;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn table<'a>(g: &'a Generated, name: &str) -> &'a mooring_canvas::TableExplanation {
    g.explanation
        .tables
        .iter()
        .find(|t| t.name == name)
        .unwrap_or_else(|| panic!("no table {name} in {:#?}", g.explanation.tables))
}

fn columns(g: &Generated, set: &str) -> Vec<String> {
    g.profile
        .tables
        .iter()
        .find(|t| t.name == set)
        .map(|t| t.columns.clone())
        .unwrap_or_else(|| panic!("no {set} in {}", g.profile.to_json()))
}

fn warnings(g: &Generated, kind: WarningKind) -> Vec<String> {
    g.explanation
        .warnings
        .iter()
        .filter(|w| w.kind == kind)
        .map(|w| w.message.clone())
        .collect()
}

/// Zips a fixture folder into a `.msapp` in a temp dir.
fn msapp(folder: &Path, out: &Path) {
    let f = std::fs::File::create(out).unwrap();
    let mut zip = zip::ZipWriter::new(f);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut stack = vec![folder.to_path_buf()];
    let mut files = Vec::new();
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    for p in files {
        let name = p
            .strip_prefix(folder)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        zip.start_file(name, opts).unwrap();
        zip.write_all(&std::fs::read(&p).unwrap()).unwrap();
    }
    zip.finish().unwrap();
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("mooring-canvas-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn unpack_folder_gives_tables_columns_filters_and_reasons() {
    let g = profile_from_app(&fixture("unpack-jobs"), None).unwrap();
    assert_eq!(g.explanation.format, Format::Unpack);
    let names: Vec<_> = g.profile.tables.iter().map(|t| t.name.as_str()).collect();
    // Crews is declared but never named: left out (and warned about).
    assert_eq!(names, vec!["mo_jobs", "mo_sites", "mo_visits"]);

    // Jobs: Title/Site.Name (lblTitle), Due Date (MyJobs, lblDue, the
    // SortByColumns string), Job Status + Notes (the Patch record), Notes
    // (With over galJobs.Selected), Priority (the card's DataField),
    // Owner (Owner = User()).
    assert_eq!(
        columns(&g, "mo_jobs"),
        vec![
            "mo_duedate",
            "mo_jobstatus",
            "mo_notes",
            "mo_priority",
            "mo_site",
            "mo_title",
            "ownerid"
        ]
    );
    // Rows, in file order: MyJobs (App.fx.yaml) keeps the user's own or
    // the last 30 days; galJobs keeps the Open ones (the view it also names
    // is on the server: dropped from the AND, a superset); Visits'
    // Job.Title reaches it: related too.
    assert_eq!(
        g.profile.tables[0].rows,
        Rows::Some {
            owned: true,
            filter: Some(
                "(not Microsoft.Dynamics.CRM.OlderThanXDays(PropertyName='mo_duedate',PropertyValue=30)) or (mo_jobstatus eq 100000000)"
                    .into()
            ),
            related: true,
        }
    );
    let jobs = table(&g, "Jobs");
    assert!(jobs.read && jobs.written);
    let keeps: Vec<_> = jobs
        .rows_because
        .iter()
        .map(|r| {
            (
                r.site.control.as_str(),
                r.site.property.as_str(),
                r.keeps.as_str(),
            )
        })
        .collect();
    assert_eq!(
        keeps,
        vec![
            (
                "App",
                "Formulas",
                "owned or not Microsoft.Dynamics.CRM.OlderThanXDays(PropertyName='mo_duedate',PropertyValue=30)"
            ),
            ("galJobs", "Items", "mo_jobstatus eq 100000000"),
        ]
    );
    // Positions: the Filter of galJobs.Items is on line 4 of its file,
    // after `Items: =` (column 17).
    let gal = &jobs.rows_because[1].site;
    assert_eq!(
        (gal.file.as_str(), gal.line, gal.column),
        ("Src/Jobs Screen.fx.yaml", 4, 17)
    );
    assert!(
        gal.excerpt.starts_with("Filter(Jobs, 'Job Status'"),
        "{}",
        gal.excerpt
    );
    // The named formula is on the block scalar's first line (line 3).
    let named = &jobs.rows_because[0].site;
    assert_eq!((named.file.as_str(), named.line), ("Src/App.fx.yaml", 3));
    let priority = jobs
        .columns
        .iter()
        .find(|c| c.logical_name == "mo_priority")
        .unwrap();
    assert_eq!(priority.display_name.as_deref(), Some("Priority"));
    let controls: Vec<_> = priority
        .because
        .iter()
        .map(|s| format!("{}.{}", s.control, s.property))
        .collect();
    assert_eq!(
        controls,
        vec!["Priority_DataCard1.DataField", "Priority_DataCard1.Default"]
    );

    // Sites: only reached through the Site lookup (ThisItem.Site.Name).
    assert_eq!(columns(&g, "mo_sites"), vec!["mo_name"]);
    assert_eq!(g.profile.tables[1].rows, Rows::related());
    assert!(!table(&g, "Sites").read);

    // Visits: the OnStart's ClearCollect filter is device-evaluable; the
    // collection's later Search and Filter add columns, not reads.
    assert_eq!(
        columns(&g, "mo_visits"),
        vec!["mo_done", "mo_job", "mo_summary", "mo_visitdate"]
    );
    assert_eq!(
        g.profile.tables[2].rows,
        Rows::Some {
            owned: false,
            filter: Some("Microsoft.Dynamics.CRM.Today(PropertyName='mo_visitdate') and not (mo_done eq true)".into()),
            related: false,
        }
    );

    assert_eq!(
        warnings(&g, WarningKind::NonDataverseConnector),
        vec![
            "connector Office365Users is not Dataverse: offline, its calls fail (Dataverse offline supports Dataverse tables only)"
        ]
    );
    let relate: Vec<_> = g
        .explanation
        .warnings
        .iter()
        .filter(|w| w.kind == WarningKind::UnsupportedOffline)
        .collect();
    assert_eq!(relate.len(), 1, "{relate:?}");
    assert_eq!(
        relate[0]
            .site
            .as_ref()
            .map(|s| (s.control.as_str(), s.line)),
        Some(("btnDone", 13))
    );
    assert_eq!(warnings(&g, WarningKind::UnusedDataSource).len(), 1);
    assert!(warnings(&g, WarningKind::UnusedDataSource)[0].contains("Crews"));

    // The text rendering names every table, column and reason.
    let text = g.explanation.to_text();
    for needle in [
        "table Jobs (mo_job, entity set mo_jobs): read and written",
        "column mo_priority ('Priority')",
        "mo_jobstatus eq 100000000 at Src/Jobs Screen.fx.yaml:4:17 galJobs.Items",
        "UnsupportedOffline at Src/Jobs Screen.fx.yaml:13:",
    ] {
        assert!(text.contains(needle), "{needle:?} not in\n{text}");
    }
}

#[test]
fn yaml_v3_folder_reads_double_quoted_formulas_and_warns_without_metadata() {
    let g = profile_from_app(&fixture("v3-contacts"), None).unwrap();
    assert_eq!(g.explanation.format, Format::YamlV3);
    let json: serde_json::Value = serde_json::from_str(&g.profile.to_json()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"tables": [
            // galAccounts: a text literal OR a number, both on the device;
            // tags (a code component) reads galAccounts.AllItems, not the table.
            {"name": "accounts", "columns": ["address1_city", "revenue"],
             "rows": {"filter": "address1_city eq 'Oslo' or revenue gt 1000000", "owned": false, "related": false}},
            // OnStart's ClearCollect keeps active contacts; the gallery
            // sorts the collection by lastname; the card's DataField.
            {"name": "contacts", "columns": ["emailaddress1", "fullname", "lastname", "statecode"],
             "rows": {"filter": "statecode eq 0", "owned": false, "related": false}}
        ]})
    );
    let unresolved = warnings(&g, WarningKind::Unresolved);
    assert_eq!(unresolved.len(), 1, "{unresolved:?}");
    assert!(unresolved[0].contains("'Company Name'"), "{unresolved:?}");
    // No entity set names in YAML v3: guessed, and said so.
    assert_eq!(warnings(&g, WarningKind::Guessed).len(), 2);
    assert_eq!(warnings(&g, WarningKind::CodeComponent).len(), 1);
    // The double-quoted OnStart: the Filter starts on line 4 (the scalar's
    // line), after `OnStart: "=` … `ClearCollect(colActive, `.
    let c = table(&g, "Contacts");
    let site = &c.rows_because[0].site;
    assert_eq!(
        (
            site.file.as_str(),
            site.control.as_str(),
            site.property.as_str()
        ),
        ("Src/App.pa.yaml", "App", "OnStart")
    );
}

#[test]
fn msapp_with_controls_json_and_msapp_of_yaml_v3() {
    let dir = temp_dir("msapp");
    let legacy = dir.join("Orders.msapp");
    msapp(&fixture("msapp-legacy"), &legacy);
    let g = profile_from_app(&legacy, None).unwrap();
    assert_eq!(g.explanation.format, Format::Msapp);
    assert_eq!(g.explanation.app, "Orders");
    // Quantity > cutoff, and cutoff is only ever Set to 5.
    let orders = g
        .profile
        .tables
        .iter()
        .find(|t| t.name == "mo_orders")
        .unwrap();
    assert_eq!(
        orders.columns,
        vec!["mo_customer", "mo_number", "mo_quantity"]
    );
    assert_eq!(
        orders.rows,
        Rows::Some {
            owned: false,
            filter: Some("mo_quantity gt 5".into()),
            related: false
        }
    );
    // Customer.'Account Name': the one declared table with that column.
    let accounts = g
        .profile
        .tables
        .iter()
        .find(|t| t.name == "accounts")
        .unwrap();
    assert_eq!(
        (accounts.columns.clone(), accounts.rows.clone()),
        (vec!["name".to_string()], Rows::related())
    );
    // JSON formulas have no line: sites say the file only.
    let site = &table(&g, "Orders").rows_because[0].site;
    assert_eq!(
        (site.file.as_str(), site.line, site.control.as_str()),
        ("Controls/4.json", 0, "galOrders")
    );

    // The YAML v3 fixture zipped as Studio saves it: the same profile.
    let v3 = dir.join("Contacts.msapp");
    msapp(&fixture("v3-contacts"), &v3);
    let from_zip = profile_from_app(&v3, None).unwrap();
    let from_folder = profile_from_app(&fixture("v3-contacts"), None).unwrap();
    assert_eq!(from_zip.profile, from_folder.profile);
    assert_eq!(from_zip.explanation.format, Format::Msapp);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_is_a_typed_error_with_file_line_and_column() {
    let dir = temp_dir("bad");
    std::fs::create_dir_all(dir.join("Src")).unwrap();
    std::fs::write(
        dir.join("Src/App.fx.yaml"),
        "App As appinfo:\n    OnStart: =Set(a, 1)\n\n\"'S' As screen\":\n    g As gallery:\n        Items: |-\n            =Filter(T,\n                a = )\n",
    )
    .unwrap();
    let e = profile_from_app(&dir, None).unwrap_err().to_string();
    assert_eq!(
        e,
        "Src/App.fx.yaml:8:21: g.Items: expected a value, found \")\""
    );
    std::fs::write(
        dir.join("Src/App.fx.yaml"),
        "App As appinfo:\n  - [unclosed\n",
    )
    .unwrap();
    let e = profile_from_app(&dir, None).unwrap_err().to_string();
    assert!(e.starts_with("Src/App.fx.yaml:"), "{e}");
    std::fs::write(dir.join("x.msapp"), b"PK\x03\x04 not really").unwrap();
    let e = profile_from_app(&dir.join("x.msapp"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a readable .msapp"), "{e}");
    let e = profile_from_app(&dir.join("missing"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
