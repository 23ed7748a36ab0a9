//! `EntityDefinitions` (the schema as Dataverse's metadata JSON) and
//! `RetrieveTotalRecordCount`.

use serde_json::{Map, Value as J, json};
use uuid::Uuid;

use crate::api::{ApiError, ApiRequest, ApiResponse, Ctx};
use crate::cookie;
use crate::filter;
use crate::schema::{AttrType, Table};

fn meta_id(kind: &str, name: &str) -> Uuid {
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for b in kind.bytes().chain([b'/']).chain(name.bytes()) {
        h ^= b as u128;
        h = h.wrapping_mul(0x0000000001000000000000000000013B);
    }
    uuid::Builder::from_random_bytes(h.to_le_bytes()).into_uuid()
}

fn schema_name(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

fn attribute(
    t: &Table,
    name: &str,
    ty: AttrType,
    col: Option<&crate::schema::Column>,
) -> Map<String, J> {
    let read_only = col.is_some_and(|c| c.read_only);
    let mut m = Map::new();
    m.insert("@odata.type".into(), json!(ty.metadata_type()));
    m.insert("LogicalName".into(), json!(name));
    m.insert("SchemaName".into(), json!(schema_name(name)));
    m.insert("EntityLogicalName".into(), json!(t.logical_name));
    m.insert("AttributeType".into(), json!(ty.attribute_type()));
    m.insert("AttributeTypeName".into(), json!({"Value": ty.type_name()}));
    m.insert("IsPrimaryId".into(), json!(name == t.primary_id));
    m.insert(
        "IsPrimaryName".into(),
        json!(t.primary_name.as_deref() == Some(name)),
    );
    m.insert("IsValidForRead".into(), json!(true));
    m.insert("IsValidForCreate".into(), json!(!read_only));
    m.insert(
        "IsValidForUpdate".into(),
        json!(!read_only && name != t.primary_id),
    );
    m.insert("MetadataId".into(), json!(meta_id(&t.logical_name, name)));
    m.insert(
        "DisplayName".into(),
        display_name(col.and_then(|c| c.display.as_deref())),
    );
    if let Some(c) = col {
        if c.ty == AttrType::DateTime {
            let (behavior, format) = if c.date_only() {
                ("DateOnly", "DateOnly")
            } else {
                ("UserLocal", "DateAndTime")
            };
            m.insert("DateTimeBehavior".into(), json!({"Value": behavior}));
            m.insert("Format".into(), json!(format));
        }
        if let Some(ml) = c.max_length {
            m.insert("MaxLength".into(), json!(ml));
        }
        if c.ty.is_lookup() {
            m.insert(
                "Targets".into(),
                json!(
                    c.targets
                        .iter()
                        .map(|t| t.entity.clone())
                        .collect::<Vec<_>>()
                ),
            );
        }
    }
    m
}

/// A `Label` as Dataverse writes it: every language's text in
/// `LocalizedLabels`, the caller's language in `UserLocalizedLabel`; a
/// column without a display name has no labels and a null user label.
/// The emulator speaks English (1033) only.
fn display_name(text: Option<&str>) -> J {
    match text {
        Some(text) => {
            let label = json!({
                "Label": text,
                "LanguageCode": 1033,
                "IsManaged": true,
                "MetadataId": meta_id("label", text),
                "HasChanged": null,
            });
            json!({"LocalizedLabels": [label.clone()], "UserLocalizedLabel": label})
        }
        None => json!({"LocalizedLabels": [], "UserLocalizedLabel": null}),
    }
}

fn attributes(t: &Table) -> Vec<Map<String, J>> {
    let mut v = vec![attribute(
        t,
        &t.primary_id,
        AttrType::Uniqueidentifier,
        None,
    )];
    for c in &t.columns {
        v.push(attribute(t, &c.name, c.ty, Some(c)));
    }
    v
}

fn many_to_one(sh: &crate::Shared, t: &Table) -> Vec<Map<String, J>> {
    let mut v = Vec::new();
    for c in t.columns.iter().filter(|c| c.ty.is_lookup()) {
        for tg in &c.targets {
            let referenced_pk = sh
                .schema
                .by_logical(&tg.entity)
                .map(|x| x.primary_id.clone())
                .unwrap_or_default();
            let schema = tg
                .relationship
                .clone()
                .unwrap_or_else(|| format!("{}_{}_{}", t.logical_name, c.name, tg.entity));
            let mut m = Map::new();
            m.insert(
                "@odata.type".into(),
                json!("#Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata"),
            );
            m.insert(
                "MetadataId".into(),
                json!(meta_id("rel", &format!("{}.{}", t.logical_name, schema))),
            );
            m.insert("SchemaName".into(), json!(schema));
            m.insert("RelationshipType".into(), json!("OneToManyRelationship"));
            m.insert("ReferencedAttribute".into(), json!(referenced_pk));
            m.insert("ReferencedEntity".into(), json!(tg.entity));
            m.insert("ReferencingAttribute".into(), json!(c.name));
            m.insert("ReferencingEntity".into(), json!(t.logical_name));
            m.insert(
                "ReferencingEntityNavigationPropertyName".into(),
                json!(tg.navigation),
            );
            m.insert(
                "ReferencedEntityNavigationPropertyName".into(),
                json!(schema),
            );
            v.push(m);
        }
    }
    v
}

fn entity(t: &Table) -> Map<String, J> {
    let mut m = Map::new();
    m.insert(
        "MetadataId".into(),
        json!(meta_id("entity", &t.logical_name)),
    );
    m.insert("LogicalName".into(), json!(t.logical_name));
    m.insert("SchemaName".into(), json!(schema_name(&t.logical_name)));
    m.insert("EntitySetName".into(), json!(t.entity_set));
    m.insert("LogicalCollectionName".into(), json!(t.entity_set));
    m.insert("PrimaryIdAttribute".into(), json!(t.primary_id));
    m.insert("PrimaryNameAttribute".into(), json!(t.primary_name));
    m.insert("ObjectTypeCode".into(), json!(t.object_type_code));
    m.insert("ChangeTrackingEnabled".into(), json!(true));
    m.insert("IsActivity".into(), json!(t.logical_name == "task"));
    m
}

/// Applies `$select` (names not on the object are a 400, as in Dataverse).
fn select(
    m: Map<String, J>,
    sel: &Option<Vec<String>>,
    type_name: &str,
    keep: &[&str],
) -> Result<Map<String, J>, ApiError> {
    let Some(sel) = sel else { return Ok(m) };
    let mut out = Map::new();
    if let Some(t) = m.get("@odata.type") {
        out.insert("@odata.type".into(), t.clone());
    }
    for s in sel {
        match m.get(s) {
            Some(v) => {
                out.insert(s.clone(), v.clone());
            }
            None if keep.contains(&s.as_str()) => {}
            None => {
                return Err(ApiError::bad_request(
                    "0x80060888",
                    format!(
                        "Could not find a property named '{s}' on type 'Microsoft.Dynamics.CRM.{type_name}'."
                    ),
                ));
            }
        }
    }
    if let Some(id) = m.get("MetadataId") {
        out.insert("MetadataId".into(), id.clone());
    }
    Ok(out)
}

fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

/// One `$expand` item: `Attributes($select=LogicalName,AttributeType)`.
struct Expand {
    nav: String,
    select: Option<Vec<String>>,
    filter: Option<filter::Expr>,
}

fn parse_expand(s: &str) -> Result<Vec<Expand>, ApiError> {
    let mut items = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for ch in s.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    items.push(cur);
    let mut out = Vec::new();
    for it in items {
        let it = it.trim();
        let (nav, opts) = match it.find('(') {
            Some(i) => (
                &it[..i],
                it[i + 1..].strip_suffix(')').ok_or_else(|| bad_expand(s))?,
            ),
            None => (it, ""),
        };
        if !matches!(nav, "Attributes" | "ManyToOneRelationships") {
            return Err(ApiError::bad_request(
                "0x80060888",
                format!(
                    "Could not find a property named '{nav}' on type 'Microsoft.Dynamics.CRM.EntityMetadata'."
                ),
            ));
        }
        let mut e = Expand {
            nav: nav.to_string(),
            select: None,
            filter: None,
        };
        for o in opts.split(';').filter(|o| !o.trim().is_empty()) {
            let (k, v) = o.split_once('=').ok_or_else(|| bad_expand(s))?;
            match k.trim() {
                "$select" => e.select = Some(split_list(v)),
                "$filter" => e.filter = Some(filter::parse_filter(v)?),
                _ => return Err(bad_expand(s)),
            }
        }
        out.push(e);
    }
    Ok(out)
}

fn bad_expand(s: &str) -> ApiError {
    ApiError::bad_request("0x80060888", format!("Syntax error in $expand '{s}'."))
}

fn children(sh: &crate::Shared, t: &Table, e: &Expand) -> Result<Vec<J>, ApiError> {
    let (items, ty) = match e.nav.as_str() {
        "Attributes" => (attributes(t), "AttributeMetadata"),
        _ => (many_to_one(sh, t), "OneToManyRelationshipMetadata"),
    };
    let mut out = Vec::new();
    for a in items {
        if let Some(f) = &e.filter {
            if !filter::eval_json(f, &a)? {
                continue;
            }
        }
        out.push(J::Object(select(
            a,
            &e.select,
            ty,
            &["MaxLength", "Targets"],
        )?));
    }
    Ok(out)
}

pub fn entity_definitions(
    ctx: &mut Ctx<'_>,
    req: &ApiRequest,
    key: Option<&str>,
    rest: &[&str],
) -> Result<ApiResponse, ApiError> {
    if req.method != "GET" {
        return Err(ApiError::new(
            405,
            "0x80060888",
            "EntityDefinitions is read-only in the emulator.",
        ));
    }
    let params = cookie::parse_query(&req.raw_query)?;
    if let (Some(key), ["Attributes", cast]) = (key, rest) {
        if let Some(ty) = cast.strip_prefix("Microsoft.Dynamics.CRM.") {
            return attributes_of_type(ctx.sh, key, ty, &params);
        }
    }
    let mut sel = None;
    let mut filt = None;
    let mut expand = vec![];
    for p in &params {
        match p.name.as_str() {
            "$select" => sel = Some(split_list(&p.value)),
            "$filter" => filt = Some(filter::parse_filter(&p.value)?),
            "$expand" => expand = parse_expand(&p.value)?,
            n if n.starts_with('$') => {
                return Err(ApiError::bad_request(
                    "0x80060888",
                    format!("The query parameter '{n}' is not supported on EntityDefinitions."),
                ));
            }
            _ => {}
        }
    }
    let sh = ctx.sh;
    let base = &sh.base_url;
    let build = |t: &Table| -> Result<Map<String, J>, ApiError> {
        let mut m = select(entity(t), &sel, "EntityMetadata", &[])?;
        for e in &expand {
            m.insert(e.nav.clone(), J::Array(children(sh, t, e)?));
        }
        Ok(m)
    };
    let Some(key) = key else {
        if !rest.is_empty() {
            return Err(ApiError::new(
                404,
                "0x8006088a",
                format!("Resource not found for the segment '{}'.", rest[0]),
            ));
        }
        let mut value = Vec::new();
        for t in &sh.schema.tables {
            let e = entity(t);
            if let Some(f) = &filt {
                if !filter::eval_json(f, &e)? {
                    continue;
                }
            }
            value.push(J::Object(build(t)?));
        }
        let ctx_url = match &sel {
            Some(s) => format!("{base}$metadata#EntityDefinitions({})", s.join(",")),
            None => format!("{base}$metadata#EntityDefinitions"),
        };
        let body = json!({"@odata.context": ctx_url, "value": value});
        return Ok(json_response(&body));
    };
    let t = table_by_key(sh, key)?;
    match rest {
        [] => {
            let mut m = build(t)?;
            let mut out = Map::new();
            out.insert(
                "@odata.context".into(),
                json!(format!("{base}$metadata#EntityDefinitions/$entity")),
            );
            out.append(&mut m);
            Ok(json_response(&J::Object(out)))
        }
        [nav] if matches!(*nav, "Attributes" | "ManyToOneRelationships") => {
            let e = Expand {
                nav: nav.to_string(),
                select: sel.clone(),
                filter: filt.clone(),
            };
            let body = json!({
                "@odata.context": format!("{base}$metadata#EntityDefinitions('{}')/{}", t.logical_name, nav),
                "value": children(sh, t, &e)?,
            });
            Ok(json_response(&body))
        }
        [nav, ..] => Err(ApiError::new(
            404,
            "0x8006088a",
            format!("Resource not found for the segment '{nav}'."),
        )),
    }
}

fn table_by_key<'a>(sh: &'a crate::Shared, key: &str) -> Result<&'a Table, ApiError> {
    let t = if let Some(name) = key.strip_prefix("LogicalName=") {
        sh.schema.by_logical(name.trim_matches('\''))
    } else {
        let id = Uuid::parse_str(key).ok();
        sh.schema
            .tables
            .iter()
            .find(|t| Some(meta_id("entity", &t.logical_name)) == id)
    };
    t.ok_or_else(|| {
        ApiError::new(
            404,
            "0x80040217",
            format!("Could not find an entity with key {key}."),
        )
    })
}

/// `EntityDefinitions(LogicalName='lead')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata`
/// `?$select=LogicalName&$expand=OptionSet($select=Options),GlobalOptionSet($select=Options)`:
/// the table's attributes of that metadata type, with their choice options
/// (every column's options are local: `GlobalOptionSet` is null).
fn attributes_of_type(
    sh: &crate::Shared,
    key: &str,
    ty: &str,
    params: &[cookie::QueryParam],
) -> Result<ApiResponse, ApiError> {
    let t = table_by_key(sh, key)?;
    let full = format!("#Microsoft.Dynamics.CRM.{ty}");
    let known = AttrType::ALL.iter().any(|a| a.metadata_type() == full)
        || ty == "AttributeMetadata"
        || ty == "EnumAttributeMetadata";
    if !known {
        return Err(ApiError::new(
            404,
            "0x8006088a",
            format!("Resource not found for the segment 'Microsoft.Dynamics.CRM.{ty}'."),
        ));
    }
    let mut sel = None;
    let mut expand_sets = false;
    for p in params {
        match p.name.as_str() {
            "$select" => sel = Some(split_list(&p.value)),
            "$expand" => {
                for item in p.value.split(',') {
                    let nav = item.split('(').next().unwrap_or("").trim();
                    match nav {
                        "OptionSet" | "GlobalOptionSet" => expand_sets = true,
                        _ => {
                            return Err(ApiError::bad_request(
                                "0x80060888",
                                format!(
                                    "Could not find a property named '{nav}' on type 'Microsoft.Dynamics.CRM.{ty}'."
                                ),
                            ));
                        }
                    }
                }
            }
            n if n.starts_with('$') => {
                return Err(ApiError::bad_request(
                    "0x80060888",
                    format!("The query parameter '{n}' is not supported here."),
                ));
            }
            _ => {}
        }
    }
    let mut value = Vec::new();
    for c in t.columns.iter().filter(|c| {
        ty == "AttributeMetadata"
            || c.ty.metadata_type() == full
            || (ty == "EnumAttributeMetadata" && c.ty.has_options())
    }) {
        let mut m = select(attribute(t, &c.name, c.ty, Some(c)), &sel, ty, &[])?;
        if expand_sets && c.ty.has_options() {
            let options: Vec<J> = c
                .option_list()
                .into_iter()
                .map(|(v, label)| json!({"Value": v, "Label": display_name(Some(&label))}))
                .collect();
            m.insert(
                "OptionSet".into(),
                json!({
                    "MetadataId": meta_id("optionset", &format!("{}.{}", t.logical_name, c.name)),
                    "Name": format!("{}_{}", t.logical_name, c.name),
                    "IsGlobal": false,
                    "OptionSetType": if c.ty == AttrType::MultiSelectPicklist { "Picklist".to_string() } else { format!("{:?}", c.ty) },
                    "Options": options,
                }),
            );
            m.insert("GlobalOptionSet".into(), J::Null);
        }
        value.push(J::Object(m));
    }
    let body = json!({
        "@odata.context": format!(
            "{}$metadata#EntityDefinitions('{}')/Attributes/Microsoft.Dynamics.CRM.{ty}",
            sh.base_url, t.logical_name
        ),
        "value": value,
    });
    Ok(json_response(&body))
}

fn json_response(v: &J) -> ApiResponse {
    ApiResponse::json(200, serde_json::to_vec(v).unwrap_or_default())
}

/// `RetrieveTotalRecordCount(EntityNames=['account','contact'])`, also with a
/// parameter alias: `RetrieveTotalRecordCount(EntityNames=@p)?@p=['account']`.
pub fn total_record_count(
    ctx: &mut Ctx<'_>,
    req: &ApiRequest,
    key: Option<&str>,
) -> Result<ApiResponse, ApiError> {
    let bad = || {
        ApiError::bad_request(
            "0x80060888",
            "Expected RetrieveTotalRecordCount(EntityNames=['account',...]) with logical names.",
        )
    };
    if req.method != "GET" {
        return Err(ApiError::new(
            405,
            "0x80060888",
            "RetrieveTotalRecordCount is a function: use GET.",
        ));
    }
    let arg = key
        .and_then(|k| k.trim().strip_prefix("EntityNames="))
        .ok_or_else(bad)?;
    let list = if let Some(alias) = arg.strip_prefix('@') {
        let params = cookie::parse_query(&req.raw_query)?;
        params
            .iter()
            .find(|p| p.name == format!("@{alias}"))
            .map(|p| p.value.clone())
            .ok_or_else(bad)?
    } else {
        arg.to_string()
    };
    let inner = list
        .trim()
        .strip_prefix('[')
        .and_then(|l| l.strip_suffix(']'))
        .ok_or_else(bad)?;
    let mut keys = Vec::new();
    let mut values = Vec::new();
    for item in inner.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let name = item.trim_matches(|c| c == '\'' || c == '"');
        let Some(t) = ctx.sh.schema.by_logical(name) else {
            let hint = ctx
                .sh
                .schema
                .by_set(name)
                .map(|t| format!(" (use the logical name '{}')", t.logical_name))
                .unwrap_or_default();
            return Err(ApiError::bad_request(
                "0x80040217",
                format!(
                    "The entity with a name = '{name}' was not found in the MetadataCache.{hint}"
                ),
            ));
        };
        keys.push(name.to_string());
        values.push(ctx.db.count(t)?);
    }
    let body = json!({
        "@odata.context": format!("{}$metadata#Microsoft.Dynamics.CRM.RetrieveTotalRecordCountResponse", ctx.sh.base_url),
        "EntityRecordCountCollection": {"Count": keys.len(), "IsReadOnly": false, "Keys": keys, "Values": values}
    });
    Ok(json_response(&body))
}
