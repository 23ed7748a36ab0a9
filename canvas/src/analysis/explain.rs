//! What the analysis says about an app, and why: every table, column and
//! row choice with the formulas that caused it, and every warning. Plain
//! data (serialisable, comparable in tests) plus a text rendering for
//! `mooring profile from-app --explain`.

use std::fmt::Write as _;

use mooring_core::Rows;
use serde::Serialize;

use crate::source::Format;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub app: String,
    pub format: Format,
    pub tables: Vec<TableExplanation>,
    pub warnings: Vec<Warning>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TableExplanation {
    /// The name formulas use (`Timesheets`).
    pub name: String,
    pub logical_name: String,
    pub entity_set: String,
    pub read: bool,
    pub written: bool,
    /// Formulas that name the table (or reach it through a lookup).
    pub because: Vec<Site>,
    pub columns: Vec<ColumnExplanation>,
    #[serde(serialize_with = "rows_json")]
    pub rows: Rows,
    pub rows_because: Vec<RowReason>,
}

fn rows_json<S: serde::Serializer>(r: &Rows, s: S) -> Result<S::Ok, S::Error> {
    r.serialize(s)
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ColumnExplanation {
    pub logical_name: String,
    /// The display name formulas use, when the source says.
    pub display_name: Option<String>,
    pub because: Vec<Site>,
}

/// One read of a table's rows, what it needs, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RowReason {
    pub site: Site,
    /// `all`, `owned`, `related`, or the OData filter it keeps.
    pub keeps: String,
    pub reason: String,
}

/// Where a formula (or a part of one) is: file, control, property, and
/// the 1-based line and column in the file (0 when the file is JSON, whose
/// formulas carry no position).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Site {
    pub file: String,
    pub control: String,
    pub property: String,
    pub line: usize,
    pub column: usize,
    /// The formula text from that point (first line, shortened).
    pub excerpt: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// `Relate`/`Unrelate`: not supported offline.
    UnsupportedOffline,
    /// A connector (Office 365 Users, admin connectors): not offline.
    NonDataverseConnector,
    /// More than 15 relationships on a table, or 14 image columns.
    OverLimit,
    /// A code component bound to a table: the columns it reads are unknown.
    CodeComponent,
    /// A table declared by the app that no formula names.
    UnusedDataSource,
    /// A name the analysis could not resolve (a lookup's target, a column).
    Unresolved,
    /// A choice made without metadata that the server would settle.
    Guessed,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Warning {
    pub kind: WarningKind,
    pub message: String,
    pub site: Option<Site>,
}

impl Site {
    fn at(&self) -> String {
        if self.line == 0 {
            format!("{} {}.{}", self.file, self.control, self.property)
        } else {
            format!(
                "{}:{}:{} {}.{}",
                self.file, self.line, self.column, self.control, self.property
            )
        }
    }
}

fn rows_text(r: &Rows) -> String {
    match r {
        Rows::All => "all".into(),
        Rows::Some {
            owned,
            filter,
            related,
        } => {
            let mut parts = Vec::new();
            if *owned {
                parts.push("owned by the user".to_string());
            }
            if let Some(f) = filter {
                parts.push(format!("filter {f}"));
            }
            if *related {
                parts.push("related".to_string());
            }
            parts.join(" or ")
        }
    }
}

impl Explanation {
    /// The `--explain` text: one block per table, then the warnings.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "app {} ({:?})", self.app, self.format);
        for t in &self.tables {
            let access = match (t.read, t.written) {
                (true, true) => "read and written",
                (true, false) => "read",
                (false, true) => "written",
                (false, false) => "reached through lookups",
            };
            let _ = writeln!(
                out,
                "\ntable {} ({}, entity set {}): {access}",
                t.name, t.logical_name, t.entity_set
            );
            for s in &t.because {
                let _ = writeln!(out, "  named at {}: {}", s.at(), s.excerpt);
            }
            for c in &t.columns {
                let display = c
                    .display_name
                    .as_ref()
                    .map(|d| format!(" ('{d}')"))
                    .unwrap_or_default();
                let _ = writeln!(out, "  column {}{display}", c.logical_name);
                for s in &c.because {
                    let _ = writeln!(out, "    at {}: {}", s.at(), s.excerpt);
                }
            }
            let _ = writeln!(out, "  rows: {}", rows_text(&t.rows));
            for r in &t.rows_because {
                let _ = writeln!(out, "    {} at {}: {}", r.keeps, r.site.at(), r.reason);
            }
        }
        if !self.warnings.is_empty() {
            let _ = writeln!(out, "\nwarnings:");
            for w in &self.warnings {
                let at = w
                    .site
                    .as_ref()
                    .map(|s| format!(" at {}", s.at()))
                    .unwrap_or_default();
                let _ = writeln!(out, "  {:?}{at}: {}", w.kind, w.message);
            }
        }
        out
    }
}
