//! The `pac canvas unpack` (PASopa) dialect: `Name As type[.variant]:`
//! keys, properties as `=formula` scalars, child controls nested under
//! their parent. The same syntax sits in older `.pa.yaml` files.

use super::yaml::{self, Node};
use super::{App, Control, control_kind, property};
use crate::error::Result;

pub fn controls(texts: &[(String, String)]) -> Result<App> {
    let mut app = App::default();
    for (file, text) in texts {
        let doc = yaml::parse(file, text)?;
        let Some(map) = doc.as_map() else { continue };
        for (k, v) in map {
            if let Some((name, kind)) = split_as(&k.text) {
                add_control(&mut app, file, &name, &kind, v, None);
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
    app.controls.push(Control {
        name: name.to_string(),
        kind: control_kind(kind),
        parent,
        code_component: false,
        properties: Vec::new(),
    });
    let Some(map) = v.as_map() else { return };
    for (k, val) in map {
        if let Some((child, ckind)) = split_as(&k.text) {
            add_control(app, file, &child, &ckind, val, Some(idx));
        } else if val.is_scalar() {
            if let Some(p) = property(&k.text, val, file) {
                app.controls[idx].properties.push(p);
            }
        }
    }
}

/// `'TimeSheet Entry' As screen` → (`TimeSheet Entry`, `screen`).
pub(crate) fn split_as(key: &str) -> Option<(String, String)> {
    let at = key.rfind(" As ")?;
    let (name, kind) = (key[..at].trim(), key[at + 4..].trim());
    if name.is_empty() || kind.is_empty() {
        return None;
    }
    let name = match name.strip_prefix('\'').and_then(|n| n.strip_suffix('\'')) {
        Some(q) => q.replace("''", "'"),
        None => name.to_string(),
    };
    Some((name, kind.to_string()))
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
