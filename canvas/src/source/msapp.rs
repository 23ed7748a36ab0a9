//! A `.msapp` file is a zip. Studio's newer saves carry `Src/*.pa.yaml`
//! (read like a folder of the same files); older ones only
//! `Controls/*.json`, where each control has `Rules[{Property,
//! InvariantScript}]` and `Children`. Data sources are in
//! `References/DataSources.json`.

use std::io::Read;
use std::path::Path;

use serde_json::Value;

use super::{App, Control, Format, Property, control_kind, datasources, detect, unpack, v3};
use crate::error::{CanvasError, Result};

/// No entry of an app is near this; a bigger one is refused (zip bombs).
const MAX_ENTRY_BYTES: u64 = 64 << 20;

pub fn load(path: &Path, bytes: &[u8]) -> Result<App> {
    let bad = |e: &dyn std::fmt::Display| {
        CanvasError::Format(format!("{}: not a readable .msapp: {e}", path.display()))
    };
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| bad(&e))?;
    let mut yaml = Vec::new();
    let mut controls = Vec::new();
    let mut data_sources = None;
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).map_err(|e| bad(&e))?;
        if !f.is_file() {
            continue;
        }
        let name = f.name().replace('\\', "/");
        let wanted = (name.starts_with("Src/")
            && (name.ends_with(".pa.yaml") || name.ends_with(".fx.yaml"))
            && !name.starts_with("Src/Tests/"))
            || (name.starts_with("Controls/") && name.ends_with(".json"))
            || name == "References/DataSources.json";
        if !wanted {
            continue;
        }
        if f.size() > MAX_ENTRY_BYTES {
            return Err(bad(&format!(
                "{name} is larger than {MAX_ENTRY_BYTES} bytes"
            )));
        }
        let mut text = String::new();
        (&mut f)
            .take(MAX_ENTRY_BYTES)
            .read_to_string(&mut text)
            .map_err(|e| bad(&format!("{name}: {e}")))?;
        if name == "References/DataSources.json" {
            data_sources = Some(text);
        } else if name.starts_with("Src/") {
            yaml.push((name, text));
        } else {
            controls.push((name, text));
        }
    }
    yaml.sort();
    controls.sort();
    let mut app = if !yaml.is_empty() {
        match detect(&yaml)? {
            Format::Unpack => unpack::controls(&yaml)?,
            _ => v3::load(&yaml)?,
        }
    } else if !controls.is_empty() {
        let mut app = App::default();
        for (file, text) in &controls {
            let v: Value = serde_json::from_str(text).map_err(|e| CanvasError::Json {
                file: file.clone(),
                message: e.to_string(),
            })?;
            if let Some(top) = v.get("TopParent") {
                add_json_control(&mut app, file, top, None, 0);
            }
        }
        app
    } else {
        return Err(bad(&"it holds neither Src/*.pa.yaml nor Controls/*.json"));
    };
    // YAML v3 inside an msapp still has References/DataSources.json, with
    // the display-name maps: prefer it to `TableLogicalName` alone.
    if let Some(text) = data_sources {
        let mut refs = App::default();
        datasources::parse_data_source_entries("References/DataSources.json", &text, &mut refs)?;
        app.data_sources
            .retain(|d| refs.data_sources.iter().all(|r| r.name() != d.name()));
        app.data_sources.extend(refs.data_sources);
        app.views.extend(refs.views);
        app.option_sets.extend(refs.option_sets);
    }
    app.name = path
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(app)
}

fn add_json_control(app: &mut App, file: &str, c: &Value, parent: Option<usize>, depth: usize) {
    if depth > 100 {
        return;
    }
    let s = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    let template = c.get("Template").cloned().unwrap_or(Value::Null);
    let kind = s(&template, "Name");
    let idx = app.controls.len();
    app.controls.push(Control {
        name: s(c, "Name"),
        code_component: template.get("IsPcfControl").and_then(Value::as_bool) == Some(true),
        kind: control_kind(&kind),
        parent,
        properties: Vec::new(),
    });
    for rule in c
        .get("Rules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let prop = s(rule, "Property");
        let script = s(rule, "InvariantScript");
        if prop.is_empty() {
            continue;
        }
        // JSON gives no line: line 0 says "in this file".
        app.controls[idx].properties.push(Property {
            name: prop,
            formula: script,
            file: file.to_string(),
            line: 0,
            column: 0,
        });
    }
    for child in c
        .get("Children")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        add_json_control(app, file, child, Some(idx), depth + 1);
    }
}
