//! Studio's data source entries (`DataSources/<Name>.json` of an unpack
//! folder, `References/DataSources.json` of a `.msapp`): one
//! `NativeCDSDataSourceInfo` per Dataverse table with its logical →
//! display name map, `ViewInfo` and `OptionSetInfo` companions,
//! `ServiceInfo` for connectors, collections and static samples.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::{App, DataSource, DataverseTable, OptionSet, ViewSet};
use crate::error::{CanvasError, Result};

/// Reads every `*.json` of an unpack folder's `DataSources/` (sorted).
pub fn read_folder(dir: &Path, app: &mut App) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| CanvasError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| CanvasError::io(&f, e))?;
        let file = format!(
            "DataSources/{}",
            f.file_name().unwrap_or_default().to_string_lossy()
        );
        parse_data_source_entries(&file, &text, app)?;
    }
    Ok(())
}

/// Adds the entries of one JSON document: an array of entries, or an
/// object with a `DataSources` array (the `.msapp` form).
pub fn parse_data_source_entries(file: &str, text: &str, app: &mut App) -> Result<()> {
    let v: Value = serde_json::from_str(text).map_err(|e| CanvasError::Json {
        file: file.to_string(),
        message: e.to_string(),
    })?;
    let entries = match &v {
        Value::Array(a) => a.as_slice(),
        Value::Object(o) => match o.get("DataSources") {
            Some(Value::Array(a)) => a.as_slice(),
            _ => &[],
        },
        _ => &[],
    };
    for e in entries {
        let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        match s("Type").as_str() {
            "NativeCDSDataSourceInfo" => {
                let mut t = DataverseTable {
                    name: s("Name"),
                    logical_name: s("LogicalName"),
                    entity_set: Some(s("EntitySetName")).filter(|x| !x.is_empty()),
                    ..DataverseTable::default()
                };
                if t.name.is_empty() || t.logical_name.is_empty() {
                    continue;
                }
                if let Some(Value::Object(m)) = e.get("NativeCDSDataSourceInfoNameMapping") {
                    for (logical, display) in m {
                        let Some(display) = display.as_str() else {
                            continue;
                        };
                        add_mapped_name(&mut t, logical, display);
                    }
                }
                let pk = format!("{}id", t.logical_name);
                if t.columns.contains_key(&pk) {
                    t.primary_id = Some(pk);
                }
                app.data_sources.push(DataSource::Dataverse(t));
            }
            "ServiceInfo" => app.data_sources.push(DataSource::Connector {
                name: s("Name"),
                api: s("ApiId"),
            }),
            "ViewInfo" => {
                let mut views = BTreeMap::new();
                // Seen both as an object and as a string holding one.
                let map = match e.get("ViewInfoNameMapping") {
                    Some(Value::Object(m)) => Some(m.clone()),
                    Some(Value::String(st)) => serde_json::from_str(st).ok(),
                    _ => None,
                };
                for (id, name) in map.unwrap_or_default() {
                    if let Some(n) = name.as_str() {
                        views.insert(n.to_string(), id);
                    }
                }
                app.views.push(ViewSet {
                    display_name: s("DisplayName"),
                    table: s("RelatedEntityName"),
                    views,
                });
            }
            "OptionSetInfo" => {
                let mut options = BTreeMap::new();
                if let Some(Value::Object(m)) = e.get("OptionSetInfoNameMapping") {
                    for (value, label) in m {
                        if let Some(l) = label.as_str() {
                            options.insert(l.to_string(), value.clone());
                        }
                    }
                }
                app.option_sets.push(OptionSet {
                    display_name: s("DisplayName"),
                    table: s("RelatedEntityName"),
                    column: s("RelatedColumnInvariantName"),
                    options,
                    boolean: e
                        .get("OptionSetIsBooleanValued")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                });
            }
            "" => {}
            _ => app.data_sources.push(DataSource::Other { name: s("Name") }),
        }
    }
    Ok(())
}

/// Sorts one entry of the name map into columns or relationship
/// navigations. The map mixes both without saying which is which; the
/// names Dataverse gives relationships are recognised here (server
/// metadata, when given with `--server`, is authoritative):
/// `…_association` (N:N), `lk_…`, `<table>_…` and `…_<table>` (1:N, system
/// and custom), and display names disambiguated by the schema name
/// (`Duplicate Records (new_x_DuplicateBaseRecord)`).
fn add_mapped_name(t: &mut DataverseTable, key: &str, display: &str) {
    let own = t.logical_name.to_ascii_lowercase();
    let lower = key.to_ascii_lowercase();
    let is_nav = lower.ends_with("_association")
        || lower.starts_with("lk_")
        || lower.starts_with(&format!("{own}_"))
        || (lower.ends_with(&format!("_{own}")) && lower != format!("{own}id"))
        || display.ends_with(&format!("({key})"));
    if is_nav {
        t.navigations.insert(key.to_string(), display.to_string());
        return;
    }
    // `_ownerid_value` → `ownerid`; custom lookups appear under their
    // navigation name (`poha_Event`): the attribute is its lower case.
    let logical = match lower
        .strip_prefix('_')
        .and_then(|x| x.strip_suffix("_value"))
    {
        Some(inner) => inner.to_string(),
        None => lower,
    };
    t.columns.insert(logical, display.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_views_choices_and_connectors() {
        let text = r#"[
          {"Type":"NativeCDSDataSourceInfo","Name":"Jobs","LogicalName":"mo_job","EntitySetName":"mo_jobs",
           "NativeCDSDataSourceInfoNameMapping":{"mo_name":"Name","_ownerid_value":"Owner","mo_Site":"Site",
             "mo_jobid":"Job","mo_job_SyncErrors":"Sync Errors","mo_mo_visit_job_mo_job":"Visits",
             "mo_jobtags_association":"Tags (mo_jobtags_association)"}},
          {"Type":"ViewInfo","DisplayName":"Jobs (Views)","RelatedEntityName":"Jobs","ViewInfoNameMapping":{"g1":"My Jobs"}},
          {"Type":"OptionSetInfo","DisplayName":"Status (Jobs)","RelatedEntityName":"Jobs","RelatedColumnInvariantName":"statecode",
           "OptionSetInfoNameMapping":{"0":"Active","1":"Inactive"}},
          {"Type":"ServiceInfo","Name":"Office365Users","ApiId":"/providers/microsoft.powerapps/apis/shared_office365users"},
          {"Type":"CollectionDataSourceInfo","Name":"colJobs"}
        ]"#;
        let mut app = App::default();
        parse_data_source_entries("DataSources/Jobs.json", text, &mut app).unwrap();
        let DataSource::Dataverse(t) = &app.data_sources[0] else {
            panic!("not a table")
        };
        assert_eq!(
            t.columns.keys().collect::<Vec<_>>(),
            vec!["mo_jobid", "mo_name", "mo_site", "ownerid"]
        );
        assert_eq!(
            t.navigations.keys().collect::<Vec<_>>(),
            vec![
                "mo_job_SyncErrors",
                "mo_jobtags_association",
                "mo_mo_visit_job_mo_job"
            ]
        );
        assert_eq!(t.primary_id.as_deref(), Some("mo_jobid"));
        assert_eq!(app.views[0].views["My Jobs"], "g1");
        assert_eq!(app.option_sets[0].options["Inactive"], "1");
        assert!(
            matches!(&app.data_sources[1], DataSource::Connector { name, .. } if name == "Office365Users")
        );
        assert!(matches!(&app.data_sources[2], DataSource::Other { name } if name == "colJobs"));
        let e = parse_data_source_entries("x.json", "[", &mut app).unwrap_err();
        assert!(e.to_string().starts_with("x.json: "), "{e}");
    }
}
