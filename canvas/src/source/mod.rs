//! Reading a canvas app's source into one [`App`]: its controls with their
//! formulas (file, line, column of each) and its data sources. Three
//! inputs, told apart by their content (`detect`):
//! - a `pac canvas unpack` folder (`unpack.rs`: `Src/*.fx.yaml`, the old
//!   `Name As type:` dialect also in `.pa.yaml` files, `DataSources/*.json`);
//! - a `.msapp` file, a zip (`msapp.rs`: `Src/*.pa.yaml` if Studio wrote
//!   them, otherwise `Controls/*.json`; `References/DataSources.json`);
//! - a Power Apps YAML v3 folder (`v3.rs`: `Screens:`/`Children:`/
//!   `DataSources:` with `TableLogicalName` only).
//!
//! The YAML goes through a real parser (`yaml.rs`, yaml-rust2) because
//! Studio writes double-quoted scalars with escapes.

mod datasources;
mod msapp;
mod unpack;
mod v3;
mod yaml;

use std::collections::BTreeMap;
use std::path::Path;

pub use datasources::parse_data_source_entries;

use crate::error::{CanvasError, Result};

/// The three source formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// `pac canvas unpack` / PASopa (`*.fx.yaml`, or its older `.pa.yaml`).
    Unpack,
    /// A `.msapp` file.
    Msapp,
    /// Power Apps YAML v3 (`*.pa.yaml` with `Screens:`).
    YamlV3,
}

#[derive(Clone, Debug, Default)]
pub struct App {
    pub name: String,
    pub controls: Vec<Control>,
    pub data_sources: Vec<DataSource>,
    /// Choice (option set) pseudo-tables: `'Status (Timesheets)'`.
    pub option_sets: Vec<OptionSet>,
    /// View pseudo-tables: `'Timesheets (Views)'`.
    pub views: Vec<ViewSet>,
}

#[derive(Clone, Debug)]
pub struct Control {
    pub name: String,
    /// `gallery`, `form`, `screen`, `appinfo`, `Classic/Gallery`: the type
    /// without version.
    pub kind: String,
    /// Index of the parent control in `App::controls`.
    pub parent: Option<usize>,
    /// `PCF`/code components (their reads cannot be known).
    pub code_component: bool,
    pub properties: Vec<Property>,
}

/// One formula: `Items: =Filter(…)`.
#[derive(Clone, Debug)]
pub struct Property {
    pub name: String,
    /// The formula without its leading `=`.
    pub formula: String,
    /// File (relative to the app), and the 1-based line and column where
    /// the formula text starts.
    pub file: String,
    pub line: usize,
    pub column: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataSource {
    Dataverse(DataverseTable),
    /// A connector (`Office365Users`): not available offline.
    Connector {
        name: String,
        api: String,
    },
    /// Collections and static samples declared by Studio.
    Other {
        name: String,
    },
}

impl DataSource {
    pub fn name(&self) -> &str {
        match self {
            DataSource::Dataverse(t) => &t.name,
            DataSource::Connector { name, .. } | DataSource::Other { name } => name,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DataverseTable {
    /// The name formulas use (`Timesheets`, `'Security Roles'`).
    pub name: String,
    pub logical_name: String,
    /// Known from unpack/msapp sources; from the server for YAML v3.
    pub entity_set: Option<String>,
    /// Logical name → display name (`new_hoursworked` → `Hours Worked`),
    /// lookups by their attribute name (`_ownerid_value` → `ownerid`).
    pub columns: BTreeMap<String, String>,
    /// Relationship navigations (`systemuserroles_association`) → display.
    pub navigations: BTreeMap<String, String>,
    /// Lookup attribute → target logical names (several for Customer,
    /// Owner and Regarding lookups), where the source or server says.
    pub lookup_targets: BTreeMap<String, Vec<String>>,
    /// The primary key column (`new_timesheetsid`), when known.
    pub primary_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionSet {
    /// `Status (Timesheets)`.
    pub display_name: String,
    /// Data source name of the table, and the column.
    pub table: String,
    pub column: String,
    /// Label → value.
    pub options: BTreeMap<String, String>,
    pub boolean: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewSet {
    /// `Timesheets (Views)`.
    pub display_name: String,
    pub table: String,
    /// View name → savedquery id.
    pub views: BTreeMap<String, String>,
}

/// Reads the app at `path` (a folder or a `.msapp` file).
pub fn load(path: &Path) -> Result<(Format, App)> {
    let meta = std::fs::metadata(path).map_err(|e| CanvasError::io(path, e))?;
    if meta.is_file() {
        let bytes = std::fs::read(path).map_err(|e| CanvasError::io(path, e))?;
        if bytes.starts_with(b"PK") {
            return Ok((Format::Msapp, msapp::load(path, &bytes)?));
        }
        return Err(CanvasError::Format(format!(
            "{}: not a .msapp (zip) file; give the app's folder or its .msapp",
            path.display()
        )));
    }
    let files = yaml_files(path)?;
    if files.is_empty() {
        return Err(CanvasError::Format(format!(
            "{}: no canvas app source here (no Src/*.fx.yaml or *.pa.yaml files)",
            path.display()
        )));
    }
    let mut texts = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).map_err(|e| CanvasError::io(f, e))?;
        let rel = f
            .strip_prefix(path)
            .unwrap_or(f)
            .to_string_lossy()
            .replace('\\', "/");
        texts.push((rel, text));
    }
    let (format, mut app) = load_texts(&texts)?;
    app.name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if format == Format::Unpack {
        datasources::read_folder(&path.join("DataSources"), &mut app)?;
    }
    Ok((format, app))
}

/// The controls of a set of YAML files (name, text), in their dialect.
pub fn load_texts(texts: &[(String, String)]) -> Result<(Format, App)> {
    match detect(texts)? {
        Format::Unpack => Ok((Format::Unpack, unpack::controls(texts)?)),
        _ => Ok((Format::YamlV3, v3::load(texts)?)),
    }
}

/// The dialect of a set of YAML files, from their content: PASopa writes
/// `Name As type:` keys at the top level; YAML v3 writes `App:`,
/// `Screens:`, `ComponentDefinitions:`, `DataSources:` (or, in the early
/// preview shape, a screen name whose value has `Control:`).
fn detect(texts: &[(String, String)]) -> Result<Format> {
    let mut seen = None;
    for (file, text) in texts {
        let doc = yaml::parse(file, text)?;
        let Some(map) = doc.as_map() else { continue };
        let this = if map.iter().any(|(k, _)| k.text.contains(" As ")) {
            Format::Unpack
        } else if map.iter().any(|(k, v)| {
            matches!(
                k.text.as_str(),
                "App" | "Screens" | "ComponentDefinitions" | "DataSources" | "EditorState"
            ) || v.get("Control").is_some()
        }) {
            Format::YamlV3
        } else {
            continue;
        };
        match seen {
            None => seen = Some(this),
            Some(s) if s != this => {
                return Err(CanvasError::Format(format!(
                    "{file}: mixes the PASopa (`Name As type:`) and YAML v3 (`Screens:`) dialects with other files"
                )));
            }
            _ => {}
        }
    }
    seen.ok_or_else(|| {
        CanvasError::Format(
            "no file holds controls in a known dialect (`Name As type:` or `Screens:`)".into(),
        )
    })
}

/// `Src/**/*.fx.yaml` and `*.pa.yaml` under the folder (sorted, so the
/// output does not depend on the file system's order). `Src/Tests` holds
/// test suites, not the app, and is skipped.
fn yaml_files(root: &Path) -> Result<Vec<std::path::PathBuf>> {
    let src = if root.join("Src").is_dir() {
        root.join("Src")
    } else if root.join("src").is_dir() {
        root.join("src")
    } else {
        root.to_path_buf()
    };
    let mut out = Vec::new();
    let mut stack = vec![src];
    while let Some(dir) = stack.pop() {
        let rd = std::fs::read_dir(&dir).map_err(|e| CanvasError::io(&dir, e))?;
        for entry in rd {
            let entry = entry.map_err(|e| CanvasError::io(&dir, e))?;
            let p = entry.path();
            let fname = entry.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                if fname != "Tests" && fname != "EditorState" {
                    stack.push(p);
                }
            } else if fname.ends_with(".fx.yaml") || fname.ends_with(".pa.yaml") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Turns a YAML scalar holding a formula (`=Filter(…)`) into a property.
pub(crate) fn property(name: &str, value: &yaml::Node, file: &str) -> Option<Property> {
    let text = value.text.as_str();
    let formula = text.strip_prefix('=')?;
    Some(Property {
        name: name.to_string(),
        formula: formula.to_string(),
        file: file.to_string(),
        line: value.line,
        column: value.column + 1,
    })
}

/// `Classic/Gallery@2.15.0` → `Classic/Gallery`; `gallery.galleryVertical`
/// → `gallery`.
pub(crate) fn control_kind(t: &str) -> String {
    let t = t.split('@').next().unwrap_or(t);
    t.split('.').next().unwrap_or(t).to_string()
}
