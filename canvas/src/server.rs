//! The server's side of the profile: the `EntityDefinitions` of the
//! tables an app declares, read with core's Web API client, so entity set
//! names and lookups come from Dataverse and every column the formulas name
//! is checked against it.

use std::path::Path;

use mooring_core::Remote;
use mooring_core::profile::Schema;

use crate::error::Result;
use crate::{Generated, analyze, source};

/// The schema of the app's declared tables (by logical name).
pub async fn server_schema(remote: &Remote, logical_names: &[String]) -> Result<Schema> {
    // The list maps logical names to entity sets; then the details of ours.
    let names = remote.schema_for(&[]).await?;
    let sets: Vec<String> = names
        .tables
        .iter()
        .filter(|t| logical_names.contains(&t.logical_name))
        .map(|t| t.entity_set.clone())
        .collect();
    Ok(remote.schema_for(&sets).await?)
}

/// The server's display names (`DisplayName` labels) of table
/// `logical`'s columns, into its attributes in `schema`.
pub async fn add_display_names(remote: &Remote, schema: &mut Schema, logical: &str) -> Result<()> {
    let Some(table) = schema.tables.iter_mut().find(|t| t.logical_name == logical) else {
        return Ok(());
    };
    let labels = remote.display_names(logical).await?;
    for a in &mut table.attributes {
        if let Some(l) = labels.get(&a.logical_name) {
            a.display_name = Some(l.clone());
        }
    }
    Ok(())
}

/// [`crate::profile_from_app`] checked against the server: the profile's
/// columns exist there (an unknown one is an error naming the formula),
/// and core's validation accepts it.
pub async fn profile_from_app_checked(remote: &Remote, path: &Path) -> Result<Generated> {
    let (format, app) = source::load(path)?;
    let declared: Vec<String> = app
        .data_sources
        .iter()
        .filter_map(|d| match d {
            source::DataSource::Dataverse(t) => Some(t.logical_name.clone()),
            _ => None,
        })
        .collect();
    let mut schema = server_schema(remote, &declared).await?;
    // YAML v3 declares no display-name map: the server's labels are it.
    for d in &app.data_sources {
        if let source::DataSource::Dataverse(t) = d {
            if t.columns.is_empty() {
                add_display_names(remote, &mut schema, &t.logical_name).await?;
            }
        }
    }
    let generated = analyze(format, &app, Some(&schema))?;
    generated.profile.resolve(&schema)?;
    Ok(generated)
}
