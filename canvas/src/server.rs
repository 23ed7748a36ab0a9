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
    let schema = server_schema(remote, &declared).await?;
    let generated = analyze(format, &app, Some(&schema))?;
    generated.profile.resolve(&schema)?;
    Ok(generated)
}
