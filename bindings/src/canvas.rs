//! The offline profile generated from a canvas app's own source
//! (`mooring-canvas`), for the shells' `OfflineProfile.fromCanvasApp(path)`
//! (Kotlin) and `Configuration.Schema.fromCanvasApp(path:)` (Swift): the
//! profile JSON to open the app with, plus what the analysis found (tables,
//! columns, rows, warnings) and the `--explain` text. Rules:
//! docs/profile.md, "From a canvas app's own source".

use std::path::Path;

use mooring_canvas::{CanvasError, Generated, WarningKind};
use mooring_core::Rows;

use crate::error::MooringError;

/// What `profile_from_canvas_app` read from the app.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct CanvasAppProfile {
    /// The profile (docs/profile.md), for `AppConfig.profile_json`.
    pub profile_json: String,
    /// One per table of the profile, in the profile's order.
    pub tables: Vec<CanvasTable>,
    pub warnings: Vec<CanvasWarning>,
    /// Every table, column and row choice with the formulas that caused
    /// it, and every warning: the text of `mooring profile from-app --explain`.
    pub explanation: String,
}

/// One table of the generated profile.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct CanvasTable {
    /// The name the app's formulas use (`Accounts`).
    pub app_name: String,
    pub logical_name: String,
    /// The entity set: the profile's and the queries' table name (`accounts`).
    pub entity_set: String,
    /// Logical names of the columns kept (the key is always kept too).
    pub columns: Vec<String>,
    pub rows: CanvasRows,
    pub read: bool,
    pub written: bool,
}

/// Which rows of a table are kept; `all`, or any of the others ORed.
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct CanvasRows {
    pub all: bool,
    /// Rows the signed-in user owns.
    pub owned: bool,
    /// Rows matching this OData `$filter`.
    pub filter: Option<String>,
    /// Rows that lookups of other profile tables point at.
    pub related: bool,
}

/// What the analysis could not keep offline, or could not settle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum CanvasWarningKind {
    /// `Relate`/`Unrelate`, many-to-many relationships.
    UnsupportedOffline,
    /// A connector call (Office 365 Users…): it fails offline.
    NonDataverseConnector,
    /// Over Dataverse offline's limits (15 lookups, 14 image columns).
    OverLimit,
    /// A code component bound to a table: the columns it shows are unknown.
    CodeComponent,
    /// A declared table no formula names: not in the profile.
    UnusedDataSource,
    /// A name that is not a column, a lookup whose target is unknown.
    Unresolved,
    /// A choice made without server metadata (YAML v3 entity set names).
    Guessed,
}

#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct CanvasWarning {
    pub kind: CanvasWarningKind,
    pub message: String,
    /// Where: `file:line:column control.property`, when there is a place.
    pub at: Option<String>,
}

impl From<WarningKind> for CanvasWarningKind {
    fn from(k: WarningKind) -> Self {
        match k {
            WarningKind::UnsupportedOffline => CanvasWarningKind::UnsupportedOffline,
            WarningKind::NonDataverseConnector => CanvasWarningKind::NonDataverseConnector,
            WarningKind::OverLimit => CanvasWarningKind::OverLimit,
            WarningKind::CodeComponent => CanvasWarningKind::CodeComponent,
            WarningKind::UnusedDataSource => CanvasWarningKind::UnusedDataSource,
            WarningKind::Unresolved => CanvasWarningKind::Unresolved,
            WarningKind::Guessed => CanvasWarningKind::Guessed,
        }
    }
}

fn rows(r: &Rows) -> CanvasRows {
    match r {
        Rows::All => CanvasRows {
            all: true,
            owned: false,
            filter: None,
            related: false,
        },
        Rows::Some {
            owned,
            filter,
            related,
        } => CanvasRows {
            all: false,
            owned: *owned,
            filter: filter.clone(),
            related: *related,
        },
    }
}

fn site_text(s: &mooring_canvas::Site) -> String {
    if s.line == 0 {
        format!("{} {}.{}", s.file, s.control, s.property)
    } else {
        format!(
            "{}:{}:{} {}.{}",
            s.file, s.line, s.column, s.control, s.property
        )
    }
}

impl CanvasAppProfile {
    fn from_generated(g: &Generated) -> Result<Self, MooringError> {
        let profile_json =
            serde_json::to_string(&g.profile).map_err(|e| MooringError::Internal {
                reason: format!("the generated profile does not serialise: {e}"),
            })?;
        let tables = g
            .profile
            .tables
            .iter()
            .map(|t| {
                let e = g.explanation.tables.iter().find(|e| e.entity_set == t.name);
                CanvasTable {
                    app_name: e.map(|e| e.name.clone()).unwrap_or_else(|| t.name.clone()),
                    logical_name: e.map(|e| e.logical_name.clone()).unwrap_or_default(),
                    entity_set: t.name.clone(),
                    columns: t.columns.clone(),
                    rows: rows(&t.rows),
                    read: e.is_some_and(|e| e.read),
                    written: e.is_some_and(|e| e.written),
                }
            })
            .collect();
        let warnings = g
            .explanation
            .warnings
            .iter()
            .map(|w| CanvasWarning {
                kind: w.kind.into(),
                message: w.message.clone(),
                at: w.site.as_ref().map(site_text),
            })
            .collect();
        Ok(CanvasAppProfile {
            profile_json,
            tables,
            warnings,
            explanation: g.explanation.to_text(),
        })
    }
}

/// The canvas crate's error, flattened once: the place (file, line,
/// column) when the app's source has one, the full text as `reason`.
impl From<CanvasError> for MooringError {
    fn from(e: CanvasError) -> Self {
        let reason = e.to_string();
        let (file, line, column) = match e {
            CanvasError::Core(core) => return MooringError::from(core),
            CanvasError::Formula {
                file, line, column, ..
            }
            | CanvasError::Yaml {
                file, line, column, ..
            } => (Some(file), Some(line), Some(column)),
            CanvasError::Io { path, .. } => (Some(path), None, None),
            CanvasError::Json { file, .. } => (Some(file), None, None),
            CanvasError::Format(_) | CanvasError::Schema(_) => (None, None, None),
        };
        MooringError::CanvasApp {
            file,
            line: line.and_then(|l| u32::try_from(l).ok()),
            column: column.and_then(|c| u32::try_from(c).ok()),
            reason,
        }
    }
}

/// Reads the canvas app at `path` (a `pac canvas unpack` folder, a
/// `.msapp` file, or a Power Apps YAML v3 folder) and generates its offline
/// profile from its formulas. Reads files only (no network): call it off
/// the main thread. A formula or YAML that does not parse, a missing file,
/// an unreadable zip: `MooringError::CanvasApp` with the file, line and
/// column. Never panics across the FFI.
#[uniffi::export]
pub fn profile_from_canvas_app(path: String) -> Result<CanvasAppProfile, MooringError> {
    let run = std::panic::catch_unwind(|| {
        let g = mooring_canvas::profile_from_app(Path::new(&path), None)?;
        CanvasAppProfile::from_generated(&g)
    });
    match run {
        Ok(r) => r,
        Err(_) => Err(MooringError::Internal {
            reason: "generating the profile of the canvas app failed (a bug): report it".into(),
        }),
    }
}
