//! `mooring-canvas`: the offline profile generated from a canvas app's own
//! source. Power Apps' auto-generated profile keeps every row of every
//! table the app uses; this reads the app's Power Fx formulas and keeps the
//! tables, columns and (where the device can evaluate it) the rows they
//! need, and says why.
//!
//! - `source/`: reads the three formats into one [`source::App`].
//! - `fx/`: the Power Fx lexer and parser.
//! - `analysis/`: formulas → [`mooring_core::Profile`] + [`Explanation`].
//!
//! Formats, rules and what is inferred: docs/profile.md.

pub mod analysis;
mod error;
pub mod fuzzing;
pub mod fx;
mod server;
pub mod source;

use std::path::Path;

pub use analysis::explain::{
    ColumnExplanation, Explanation, RowReason, Site, TableExplanation, Warning, WarningKind,
};
pub use analysis::{Generated, analyze};
pub use error::{CanvasError, Result};
pub use server::{profile_from_app_checked, server_schema};
pub use source::Format;

use mooring_core::profile::Schema;

/// Reads the app at `path` (an unpack folder, a `.msapp`, a YAML v3
/// folder) and builds its profile. With `schema` (the server's
/// `EntityDefinitions` for its tables) every column is checked.
pub fn profile_from_app(path: &Path, schema: Option<&Schema>) -> Result<Generated> {
    let (format, app) = source::load(path)?;
    analyze(format, &app, schema)
}

/// The logical names of the Dataverse tables an app declares (what to ask
/// the server's schema for before [`profile_from_app`]).
pub fn declared_tables(path: &Path) -> Result<Vec<String>> {
    let (_, app) = source::load(path)?;
    Ok(app
        .data_sources
        .iter()
        .filter_map(|d| match d {
            source::DataSource::Dataverse(t) => Some(t.logical_name.clone()),
            _ => None,
        })
        .collect())
}
