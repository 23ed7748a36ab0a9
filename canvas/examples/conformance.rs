//! The corpus run behind `scripts/conformance-canvas DIR`: every app folder
//! in DIR goes through `profile_from_app`; its tables, columns, rows and
//! warning counts are compared with `canvas/tests/conformance/expected/
//! <folder>.json` (written by reading each app's formulas; the files say
//! which formulas justify the tricky entries). Prints one line per app and
//! exits non-zero on any difference, or on an app with no expected file.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use serde_json::{Value, json};

fn actual(g: &mooring_canvas::Generated) -> Value {
    let mut tables = serde_json::Map::new();
    for t in &g.profile.tables {
        tables.insert(
            t.name.clone(),
            json!({"columns": t.columns, "rows": serde_json::to_value(&t.rows).unwrap_or(Value::Null)}),
        );
    }
    let mut warnings: BTreeMap<String, usize> = BTreeMap::new();
    for w in &g.explanation.warnings {
        let kind = serde_json::to_value(w.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        *warnings.entry(kind).or_default() += 1;
    }
    json!({"tables": tables, "warnings": warnings})
}

/// The expected file without its explanatory `notes`/`why` keys.
fn strip(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| k.as_str() != "notes" && k.as_str() != "why")
                .map(|(k, v)| (k.clone(), strip(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn diff(path: &str, want: &Value, got: &Value, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                match b.get(k) {
                    Some(w) => diff(&format!("{path}.{k}"), v, w, out),
                    None => out.push(format!("{path}.{k}: expected, missing")),
                }
            }
            for k in b.keys().filter(|k| !a.contains_key(*k)) {
                out.push(format!("{path}.{k}: not expected, got {}", b[k]));
            }
        }
        (a, b) if a != b => out.push(format!("{path}: expected {a}, got {b}")),
        _ => {}
    }
}

fn main() -> ExitCode {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: conformance DIR");
        return ExitCode::from(2);
    };
    let expected_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/expected");
    let mut apps: Vec<_> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect(),
        Err(e) => {
            eprintln!("{dir}: {e}");
            return ExitCode::from(2);
        }
    };
    apps.sort();
    let mut failed = 0;
    println!(
        "{:<36} {:>6} {:>7} {:>8} {:>8}  result",
        "app", "tables", "columns", "warnings", "ms"
    );
    for app in &apps {
        let name = app
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        // The v3 examples keep the app under Examples/.
        let src = if app.join("Examples/Src").is_dir() {
            app.join("Examples")
        } else {
            app.clone()
        };
        let started = std::time::Instant::now();
        let result = mooring_canvas::profile_from_app(&src, None);
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let want = std::fs::read_to_string(expected_dir.join(format!("{name}.json")))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok());
        let (line, problems) = match (&result, want) {
            (Err(e), _) => (format!("{name:<36} error: {e}"), vec![]),
            (Ok(g), want) => {
                let got = actual(g);
                let cols: usize = g.profile.tables.iter().map(|t| t.columns.len()).sum();
                let head = format!(
                    "{name:<36} {:>6} {:>7} {:>8} {ms:>8.1}",
                    g.profile.tables.len(),
                    cols,
                    g.explanation.warnings.len()
                );
                match want {
                    None => (
                        head,
                        vec![format!("no expected file {name}.json; got {got}")],
                    ),
                    Some(w) => {
                        let mut out = Vec::new();
                        diff("", &strip(&w), &got, &mut out);
                        (head, out)
                    }
                }
            }
        };
        let ok = result.is_ok() && problems.is_empty();
        println!("{line}  {}", if ok { "ok" } else { "MISMATCH" });
        for p in &problems {
            println!("    {p}");
        }
        if !ok {
            failed += 1;
        }
    }
    println!("{} apps, {failed} mismatched", apps.len());
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
