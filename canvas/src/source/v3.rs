//! Power Apps YAML v3 (`*.pa.yaml`, schema `pa-yaml/v3.0`): `App:`,
//! `Screens: <name>: {Properties, Children}`, `ComponentDefinitions:`,
//! `DataSources: <name>: {Type: Table, Parameters: {TableLogicalName}}`.
//! Children are one-key maps `- <Name>: {Control, Properties, Children}`.
//! The unversioned early-preview shape (`<Screen>: {Control: Screen, …}`
//! at the top) is read the same way.

use super::yaml::{self, Node};
use super::{App, Control, DataSource, DataverseTable, control_kind, property};
use crate::error::Result;

pub fn load(texts: &[(String, String)]) -> Result<App> {
    let mut app = App::default();
    for (file, text) in texts {
        let doc = yaml::parse(file, text)?;
        let Some(map) = doc.as_map() else { continue };
        for (k, v) in map {
            match k.text.as_str() {
                "App" => add_control(&mut app, file, "App", "appinfo", v, None),
                "Screens" | "ComponentDefinitions" => {
                    for (name, screen) in v.as_map().unwrap_or_default() {
                        let kind = if k.text == "Screens" {
                            "screen"
                        } else {
                            "component"
                        };
                        add_control(&mut app, file, &name.text, kind, screen, None);
                    }
                }
                "DataSources" => {
                    for (name, ds) in v.as_map().unwrap_or_default() {
                        let logical = ds
                            .get("Parameters")
                            .and_then(|p| p.get("TableLogicalName"))
                            .map(|n| n.text.clone());
                        match (ds.get("Type").map(|t| t.text.as_str()), logical) {
                            (Some("Table"), Some(l)) => {
                                app.data_sources.push(DataSource::Dataverse(DataverseTable {
                                    name: name.text.clone(),
                                    logical_name: l,
                                    ..DataverseTable::default()
                                }))
                            }
                            _ => app.data_sources.push(DataSource::Other {
                                name: name.text.clone(),
                            }),
                        }
                    }
                }
                _ if v.get("Control").is_some() => {
                    let kind = v.get("Control").map(|c| c.text.clone()).unwrap_or_default();
                    add_control(&mut app, file, &k.text, &kind, v, None);
                }
                _ => {}
            }
        }
    }
    Ok(app)
}

fn add_control(app: &mut App, file: &str, name: &str, kind: &str, v: &Node, parent: Option<usize>) {
    // Studio nests a few levels; hostile input could nest thousands.
    if depth(app, parent) > MAX_NESTING {
        return;
    }
    let idx = app.controls.len();
    let kind = v
        .get("Control")
        .map(|c| c.text.as_str())
        .unwrap_or(kind)
        .to_string();
    app.controls.push(Control {
        name: name.to_string(),
        code_component: kind.starts_with("CodeComponent"),
        kind: control_kind(&kind),
        parent,
        properties: Vec::new(),
    });
    if let Some(props) = v.get("Properties").and_then(Node::as_map) {
        for (k, val) in props {
            if let Some(p) = property(&k.text, val, file) {
                app.controls[idx].properties.push(p);
            }
        }
    }
    if let Some(children) = v.get("Children").and_then(Node::as_seq) {
        for child in children {
            for (cname, cval) in child.as_map().unwrap_or_default() {
                add_control(app, file, &cname.text, "", cval, Some(idx));
            }
        }
    }
}

/// Controls nested deeper than this are not read (no app comes close).
const MAX_NESTING: usize = 64;

fn depth(app: &App, mut parent: Option<usize>) -> usize {
    let mut d = 0;
    while let Some(p) = parent {
        d += 1;
        parent = app.controls[p].parent;
    }
    d
}
