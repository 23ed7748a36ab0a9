//! Schema and identity requests: `EntityDefinitions` (tables, keys, column
//! types, lookups), `RetrieveTotalRecordCount` (totals before downloading)
//! and `WhoAmI` (the user "owned by me" means). Parsed leniently: any
//! property order, unknown properties ignored.

use std::collections::HashMap;

use serde::Deserialize;
use tracing::debug;

use super::Remote;
use crate::error::{Error, Result};
use crate::profile::{Attribute, ChoiceOption, LookupTarget, Schema, TableSchema};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WhoAmI {
    pub user_id: String,
}

#[derive(Deserialize)]
struct List<T> {
    value: Vec<T>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EntityDef {
    logical_name: String,
    #[serde(default)]
    entity_set_name: Option<String>,
    #[serde(default)]
    primary_id_attribute: Option<String>,
    #[serde(default)]
    primary_name_attribute: Option<String>,
    #[serde(default)]
    attributes: Option<Vec<AttributeDef>>,
    #[serde(default)]
    many_to_one_relationships: Option<Vec<RelationshipDef>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AttributeDef {
    logical_name: String,
    #[serde(default)]
    attribute_type: Option<String>,
    #[serde(default)]
    attribute_type_name: Option<TypeName>,
    #[serde(default)]
    is_valid_for_create: Option<bool>,
    #[serde(default)]
    is_valid_for_update: Option<bool>,
    #[serde(default)]
    display_name: Option<Label>,
}

/// `AttributeTypeName`: `{"Value": "MultiSelectPicklistType"}`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TypeName {
    #[serde(default)]
    value: Option<String>,
}

/// A metadata `Label`: `{"LocalizedLabels":[{"Label":"Account Name",
/// "LanguageCode":1033}],"UserLocalizedLabel":{…}}`. The user's language
/// first, else the first localized label; an empty text is no label.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Label {
    #[serde(default)]
    localized_labels: Vec<LocalizedLabel>,
    #[serde(default)]
    user_localized_label: Option<LocalizedLabel>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LocalizedLabel {
    #[serde(default)]
    label: Option<String>,
}

impl Label {
    fn text(self) -> Option<String> {
        self.user_localized_label
            .into_iter()
            .chain(self.localized_labels)
            .filter_map(|l| l.label)
            .find(|l| !l.is_empty())
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RelationshipDef {
    #[serde(default)]
    referencing_attribute: Option<String>,
    #[serde(default)]
    referenced_entity: Option<String>,
    #[serde(default)]
    referencing_entity_navigation_property_name: Option<String>,
}

const DEF_SELECT: &str =
    "$select=LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute";
const DEF_EXPAND: &str = "$expand=Attributes($select=LogicalName,AttributeType,AttributeTypeName,IsValidForCreate,IsValidForUpdate),ManyToOneRelationships($select=ReferencingAttribute,ReferencedEntity,ReferencingEntityNavigationPropertyName)";

impl Remote {
    pub async fn who_am_i(&self) -> Result<WhoAmI> {
        #[derive(Deserialize)]
        struct W {
            #[serde(rename = "UserId")]
            user_id: String,
        }
        let resp = self.get(&self.url("WhoAmI"), None, "GET WhoAmI").await?;
        let w: W = serde_json::from_slice(&resp.body)
            .map_err(|e| Error::protocol("GET WhoAmI", e.to_string()))?;
        Ok(WhoAmI {
            user_id: w.user_id.to_ascii_lowercase(),
        })
    }

    /// The schema of the given tables (entity set names) plus the names and
    /// keys of every table (lookups may point anywhere). Tables the server
    /// does not know are simply absent: validation names them.
    pub async fn schema_for(&self, entity_sets: &[String]) -> Result<Schema> {
        Ok(self.schema_and_counts(entity_sets, &[]).await?.0)
    }

    /// [`Remote::schema_for`], and the row totals of `count_sets` (entity
    /// set names) keyed by logical name, in two round trips: the list of
    /// tables first (it maps entity set names to logical names), then the
    /// details of every table and the totals, all at once.
    pub async fn schema_and_counts(
        &self,
        entity_sets: &[String],
        count_sets: &[String],
    ) -> Result<(Schema, HashMap<String, u64>)> {
        let what = "GET EntityDefinitions";
        let resp = self
            .get(
                &self.url(&format!("EntityDefinitions?{DEF_SELECT}")),
                None,
                what,
            )
            .await?;
        let list: List<EntityDef> =
            serde_json::from_slice(&resp.body).map_err(|e| Error::protocol(what, e.to_string()))?;
        let mut schema = Schema::default();
        for def in list.value {
            schema.tables.push(to_table(def));
        }
        let mut wanted: Vec<usize> = Vec::new();
        for set in entity_sets {
            let Some(idx) = schema.tables.iter().position(|t| &t.entity_set == set) else {
                continue;
            };
            // The list may already carry the details.
            if schema.tables[idx].attributes.is_empty() && !wanted.contains(&idx) {
                wanted.push(idx);
            }
        }
        let logical_counts: Vec<String> = count_sets
            .iter()
            .filter_map(|set| schema.tables.iter().find(|t| &t.entity_set == set))
            .map(|t| t.logical_name.clone())
            .collect();
        let details = futures_util::future::try_join_all(wanted.iter().map(|&idx| {
            let logical = schema.tables[idx].logical_name.clone();
            async move {
                let what = format!("GET EntityDefinitions(LogicalName='{logical}')");
                let url = self.url(&format!(
                    "EntityDefinitions(LogicalName='{logical}')?{DEF_SELECT}&{DEF_EXPAND}"
                ));
                let resp = self.get(&url, None, &what).await?;
                let def: EntityDef = serde_json::from_slice(&resp.body)
                    .map_err(|e| Error::protocol(&what, e.to_string()))?;
                Ok::<_, Error>((idx, to_table(def)))
            }
        }));
        let (details, counts) =
            futures_util::future::try_join(details, self.total_counts(&logical_counts)).await?;
        for (idx, table) in details {
            schema.tables[idx] = table;
        }
        Ok((schema, counts))
    }

    /// The display name of each column of table `logical` (attribute
    /// logical name → label in the user's language), from its
    /// `EntityDefinitions` read with the attributes' `DisplayName`. Columns
    /// without a label are absent. One round trip; sync never calls it
    /// (labels in every language make metadata answers large).
    pub async fn display_names(&self, logical: &str) -> Result<HashMap<String, String>> {
        let what = format!("GET EntityDefinitions(LogicalName='{logical}') display names");
        let url = self.url(&format!(
            "EntityDefinitions(LogicalName='{logical}')?$select=LogicalName&$expand=Attributes($select=LogicalName,DisplayName)"
        ));
        let resp = self.get(&url, None, &what).await?;
        let def: EntityDef = serde_json::from_slice(&resp.body)
            .map_err(|e| Error::protocol(&what, e.to_string()))?;
        Ok(def
            .attributes
            .unwrap_or_default()
            .into_iter()
            .filter_map(|a| Some((a.logical_name, a.display_name?.text()?)))
            .collect())
    }

    /// The options of table `logical`'s choice columns of one metadata type
    /// (`PicklistAttributeMetadata`, `StateAttributeMetadata`, ...): column
    /// logical name → options with labels in the user's language. One
    /// round trip, by the documented cast of the `Attributes` collection;
    /// a column bound to a global choice has its options under
    /// `GlobalOptionSet`.
    pub async fn choice_options(
        &self,
        logical: &str,
        metadata_type: &str,
    ) -> Result<HashMap<String, Vec<ChoiceOption>>> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Attr {
            logical_name: String,
            #[serde(default)]
            option_set: Option<Set>,
            #[serde(default)]
            global_option_set: Option<Set>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Set {
            #[serde(default)]
            options: Vec<Opt>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Opt {
            value: Option<i64>,
            #[serde(default)]
            label: Option<Label>,
        }
        let what =
            format!("GET EntityDefinitions(LogicalName='{logical}') {metadata_type} options");
        let url = self.url(&format!(
            "EntityDefinitions(LogicalName='{logical}')/Attributes/Microsoft.Dynamics.CRM.{metadata_type}?$select=LogicalName&$expand=OptionSet($select=Options),GlobalOptionSet($select=Options)"
        ));
        let resp = self.get(&url, None, &what).await?;
        let list: List<Attr> = serde_json::from_slice(&resp.body)
            .map_err(|e| Error::protocol(&what, e.to_string()))?;
        Ok(list
            .value
            .into_iter()
            .map(|a| {
                let options = [a.option_set, a.global_option_set]
                    .into_iter()
                    .flatten()
                    .find(|s| !s.options.is_empty())
                    .map(|s| s.options)
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|o| {
                        Some(ChoiceOption {
                            value: o.value?,
                            label: o.label.and_then(Label::text).unwrap_or_default(),
                        })
                    })
                    .collect();
                (a.logical_name, options)
            })
            .collect())
    }

    /// Row totals by logical name. A server that cannot answer gives an
    /// empty map: progress then has no denominator rather than a wrong one.
    pub async fn total_counts(&self, logical_names: &[String]) -> Result<HashMap<String, u64>> {
        if logical_names.is_empty() {
            return Ok(HashMap::new());
        }
        #[derive(Deserialize)]
        struct Outer {
            #[serde(rename = "EntityRecordCountCollection")]
            collection: Coll,
        }
        #[derive(Deserialize)]
        struct Coll {
            #[serde(rename = "Keys")]
            keys: Vec<String>,
            #[serde(rename = "Values")]
            values: Vec<i64>,
        }
        let names: Vec<String> = logical_names.iter().map(|n| format!("'{n}'")).collect();
        let url = self.url(&format!(
            "RetrieveTotalRecordCount(EntityNames=[{}])",
            names.join(",")
        ));
        let what = "GET RetrieveTotalRecordCount";
        let resp = match self.get(&url, None, what).await {
            Ok(r) => r,
            Err(e @ (Error::Auth(_) | Error::TokenProvider(_) | Error::Network(_))) => {
                return Err(e);
            }
            Err(e) => {
                debug!("no row totals: {e}");
                return Ok(HashMap::new());
            }
        };
        let o: Outer =
            serde_json::from_slice(&resp.body).map_err(|e| Error::protocol(what, e.to_string()))?;
        Ok(o.collection
            .keys
            .into_iter()
            .zip(o.collection.values)
            .map(|(k, v)| (k, v.max(0) as u64))
            .collect())
    }
}

fn to_table(def: EntityDef) -> TableSchema {
    let logical = def.logical_name;
    TableSchema {
        entity_set: def.entity_set_name.unwrap_or_else(|| format!("{logical}s")),
        primary_id: def
            .primary_id_attribute
            .unwrap_or_else(|| format!("{logical}id")),
        primary_name: def.primary_name_attribute,
        attributes: def
            .attributes
            .unwrap_or_default()
            .into_iter()
            .map(|a| Attribute {
                logical_name: a.logical_name,
                attribute_type: a.attribute_type.unwrap_or_default(),
                type_name: a.attribute_type_name.and_then(|n| n.value),
                valid_for_create: a.is_valid_for_create.unwrap_or(true),
                valid_for_update: a.is_valid_for_update.unwrap_or(true),
                display_name: a.display_name.and_then(Label::text),
            })
            .collect(),
        lookups: def
            .many_to_one_relationships
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| {
                Some(LookupTarget {
                    attribute: r.referencing_attribute?,
                    target: r.referenced_entity?,
                    navigation: r.referencing_entity_navigation_property_name,
                })
            })
            .collect(),
        logical_name: logical,
    }
}
