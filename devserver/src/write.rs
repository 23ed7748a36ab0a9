//! Writing rows: body validation (types, read-only columns, lookups via
//! `@odata.bind`), create, update/upsert, delete, conditional headers.

use rusqlite::types::Value;
use serde_json::{Map, Value as J};
use uuid::Uuid;

use crate::api::{
    ApiError, ApiRequest, ApiResponse, Ctx, Prefer, not_found_row, parse_prefer, split_segment,
};
use crate::filter;
use crate::read::{context_url, parse_query, parse_select, read_row};
use crate::schema::{AttrType, Table};
use crate::store::WriteVal;
use crate::{Shared, User};

/// The columns of a write body, checked against the schema.
pub(crate) struct WriteBody {
    pub vals: Vec<(usize, WriteVal)>,
    pub key: Option<Uuid>,
}

pub(crate) fn type_error(c_name: &str, ty: AttrType, v: &J) -> ApiError {
    ApiError::bad_request(
        "0x80060888",
        format!(
            "Cannot convert the literal '{v}' to the expected type '{}' of property '{c_name}'.",
            ty.edm()
        ),
    )
}

/// Resolves `/accounts(<guid>)`, a full URL, or `$1` to (entity set, id).
pub(crate) fn resolve_reference(ctx: &Ctx<'_>, s: &str) -> Result<(String, Uuid), ApiError> {
    if let Some(r) = ctx.content_ids.get(s) {
        return Ok(r.clone());
    }
    let bad = || {
        ApiError::bad_request(
            "0x80060888",
            format!(
                "The reference '{s}' is not a valid entity reference like '/accounts(<guid>)'."
            ),
        )
    };
    let rel = s
        .strip_prefix(ctx.sh.base_url.as_str())
        .or_else(|| s.split("/api/data/v9.2/").nth(1))
        .unwrap_or(s);
    let rel = rel.trim_start_matches('/');
    let (set, key) = split_segment(rel).map_err(|_| bad())?;
    let key = key.ok_or_else(bad)?;
    let id = Uuid::parse_str(key).map_err(|_| bad())?;
    Ok((set.to_string(), id))
}

pub(crate) fn parse_write_body(
    ctx: &Ctx<'_>,
    t: &Table,
    body: &[u8],
) -> Result<WriteBody, ApiError> {
    let v: J = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "0x80060888",
            format!("The request body is not valid JSON: {e}"),
        )
    })?;
    let J::Object(obj) = v else {
        return Err(ApiError::bad_request(
            "0x80060888",
            "The request body must be a JSON object.",
        ));
    };
    parse_write_map(ctx, t, &obj)
}

pub(crate) fn parse_write_map(
    ctx: &Ctx<'_>,
    t: &Table,
    obj: &Map<String, J>,
) -> Result<WriteBody, ApiError> {
    let mut out = WriteBody {
        vals: vec![],
        key: None,
    };
    let mut seen = std::collections::HashSet::new();
    for (k, v) in obj {
        if let Some(nav) = k.strip_suffix("@odata.bind") {
            let Some((col, target)) = t.navigation(nav) else {
                return Err(ApiError::bad_request(
                    "0x80060888",
                    format!(
                        "An undeclared property '{nav}' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values."
                    ),
                ));
            };
            let ci = t
                .columns
                .iter()
                .position(|c| c.name == col.name)
                .unwrap_or(0);
            if !seen.insert(ci) {
                return Err(ApiError::bad_request(
                    "0x80060888",
                    format!("The lookup '{}' is set more than once.", col.name),
                ));
            }
            let val = match v {
                J::Null => WriteVal::Lookup(None),
                J::String(s) => {
                    let (set, id) = resolve_reference(ctx, s)?;
                    let tt = ctx.sh.schema.by_logical(&target.entity).ok_or_else(|| {
                        ApiError::from(crate::Error::Internal("lookup target missing".into()))
                    })?;
                    if set != tt.entity_set {
                        return Err(ApiError::bad_request(
                            "0x80060888",
                            format!(
                                "'{k}' must refer to a row of '{}', not '{set}'.",
                                tt.entity_set
                            ),
                        ));
                    }
                    if ctx.db.row_version(tt, &id)?.is_none() {
                        return Err(not_found_row(tt, &id));
                    }
                    WriteVal::Lookup(Some((id, target.entity.clone())))
                }
                other => return Err(type_error(k, AttrType::Lookup, other)),
            };
            out.vals.push((ci, val));
            continue;
        }
        if k.starts_with('@') || k.contains('@') {
            continue; // instance annotations (`@odata.type`, formatted values) are ignored
        }
        if *k == t.primary_id {
            let id = v
                .as_str()
                .and_then(|s| Uuid::parse_str(s).ok())
                .ok_or_else(|| type_error(k, AttrType::Uniqueidentifier, v))?;
            out.key = Some(id);
            continue;
        }
        let Some(ci) = t.columns.iter().position(|c| c.name == *k) else {
            if let Some(c) = t.lookup_by_value_name(k) {
                return Err(ApiError::bad_request(
                    "0x80060888",
                    format!(
                        "'{k}' is read-only: write the lookup '{}' through its navigation property, e.g. '{}@odata.bind'.",
                        c.name, c.targets[0].navigation
                    ),
                ));
            }
            return Err(ApiError::bad_request(
                "0x80060888",
                format!(
                    "The property '{k}' does not exist on type 'Microsoft.Dynamics.CRM.{}'. Make sure to only use property names that are defined by the type.",
                    t.logical_name
                ),
            ));
        };
        let c = &t.columns[ci];
        if c.read_only {
            return Err(ApiError::bad_request(
                "0x80060888",
                format!("The property '{k}' is read-only: the server sets it."),
            ));
        }
        if c.ty.is_lookup() {
            return Err(ApiError::bad_request(
                "0x80060888",
                format!(
                    "The lookup '{k}' is written through its navigation property, e.g. '{}@odata.bind'.",
                    c.targets[0].navigation
                ),
            ));
        }
        seen.insert(ci);
        let val = match (c.ty, v) {
            (_, J::Null) => Value::Null,
            (ty, J::String(s)) if ty.is_text() => {
                if let Some(max) = c.max_length {
                    if s.chars().count() > max as usize {
                        return Err(ApiError::bad_request(
                            "0x80044331",
                            format!(
                                "A validation error occurred. The length of the '{k}' attribute of the '{}' entity exceeded the maximum allowed length of '{max}'.",
                                t.logical_name
                            ),
                        ));
                    }
                }
                Value::Text(s.clone())
            }
            (ty, J::Number(n)) if ty.is_integer() => {
                let i = n.as_i64().ok_or_else(|| type_error(k, ty, v))?;
                if ty != AttrType::BigInt && i32::try_from(i).is_err() {
                    return Err(type_error(k, ty, v));
                }
                Value::Integer(i)
            }
            (ty, J::Number(n)) if ty.is_float() => {
                Value::Real(n.as_f64().ok_or_else(|| type_error(k, ty, v))?)
            }
            (AttrType::Boolean, J::Bool(b)) => Value::Integer(*b as i64),
            (AttrType::DateTime, J::String(s)) if c.date_only() => {
                // DateOnly behavior: the date as written, no time zone.
                let day = s.get(..10).unwrap_or("");
                let ok =
                    filter::parse_datetime(s).is_some() && filter::parse_datetime(day).is_some();
                if !ok {
                    return Err(type_error(k, c.ty, v));
                }
                Value::Text(day.to_string())
            }
            (AttrType::MultiSelectPicklist, J::String(s)) => {
                let values: Option<Vec<i32>> = s
                    .split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(|p| p.parse().ok())
                    .collect();
                let values = values.ok_or_else(|| type_error(k, c.ty, v))?;
                let text: Vec<String> = values.iter().map(i32::to_string).collect();
                Value::Text(text.join(","))
            }
            (AttrType::DateTime, J::String(s)) => {
                Value::Text(filter::parse_datetime(s).ok_or_else(|| type_error(k, c.ty, v))?)
            }
            (AttrType::Uniqueidentifier, J::String(s)) => Value::Text(
                Uuid::parse_str(s)
                    .map_err(|_| type_error(k, c.ty, v))?
                    .to_string(),
            ),
            (ty, _) => return Err(type_error(k, ty, v)),
        };
        out.vals.push((ci, WriteVal::Plain(val)));
    }
    Ok(out)
}

/// Create defaults Dataverse applies: the owner is the caller, a new row is
/// active (statecode 0).
pub(crate) fn default_owner(t: &Table, user: &User, vals: &mut Vec<(usize, WriteVal)>) {
    for (ci, c) in t.columns.iter().enumerate() {
        if vals.iter().any(|(i, _)| *i == ci) {
            continue;
        }
        if c.name == "ownerid" && c.ty.is_lookup() {
            vals.push((ci, WriteVal::Lookup(Some((user.id, "systemuser".into())))));
        } else if c.ty == AttrType::State {
            vals.push((ci, WriteVal::Plain(Value::Integer(0))));
        }
    }
}

pub(crate) fn entity_id(sh: &Shared, t: &Table, id: &Uuid) -> String {
    format!("{}{}({})", sh.base_url, t.entity_set, id)
}

pub(crate) fn representation(
    ctx: &Ctx<'_>,
    req: &ApiRequest,
    t: &Table,
    id: &Uuid,
    status: u16,
    prefer: &Prefer,
) -> Result<ApiResponse, ApiError> {
    let q = parse_query(req)?;
    let sel = parse_select(t, q.select.as_deref())?;
    let context = context_url(ctx.sh, t, &q, "/$entity");
    let body = read_row(ctx, t, id, &sel, prefer.annotations, Some(&context))?
        .ok_or_else(|| not_found_row(t, id))?;
    let version = ctx.db.row_version(t, id)?.unwrap_or(0);
    Ok(ApiResponse::json(status, body)
        .with("Preference-Applied", "return=representation")
        .with("ETag", format!("W/\"{version}\""))
        .with("OData-EntityId", entity_id(ctx.sh, t, id)))
}

pub(crate) fn create(
    ctx: &mut Ctx<'_>,
    req: &ApiRequest,
    t: &Table,
) -> Result<ApiResponse, ApiError> {
    let prefer = parse_prefer(req);
    let mut wb = parse_write_body(ctx, t, &req.body)?;
    let id = wb.key.unwrap_or_else(Uuid::new_v4);
    if ctx.db.row_version(t, &id)?.is_some() {
        return Err(ApiError::new(
            412,
            "0x80040237",
            "A record with matching key values already exists.",
        ));
    }
    default_owner(t, ctx.user, &mut wb.vals);
    ctx.db.insert(t, &id, &wb.vals, None)?;
    remember_content_id(ctx, req, t, id);
    if prefer.representation {
        return representation(ctx, req, t, &id, 201, &prefer);
    }
    Ok(ApiResponse::empty(204).with("OData-EntityId", entity_id(ctx.sh, t, &id)))
}

pub(crate) fn remember_content_id(ctx: &mut Ctx<'_>, req: &ApiRequest, t: &Table, id: Uuid) {
    if let Some(cid) = req.header("content-id") {
        ctx.content_ids
            .insert(format!("${}", cid.trim()), (t.entity_set.clone(), id));
    }
}

/// `If-Match` / `If-None-Match` against the current version (None = missing).
pub(crate) fn check_conditions(
    req: &ApiRequest,
    t: &Table,
    id: &Uuid,
    current: Option<i64>,
) -> Result<(), ApiError> {
    if let Some(m) = req.header("if-match") {
        let Some(v) = current else {
            return Err(not_found_row(t, id));
        };
        let m = m.trim();
        if m != "*" && !m.split(',').any(|e| e.trim() == format!("W/\"{v}\"")) {
            return Err(ApiError::new(
                412,
                "0x80060882",
                "The version of the existing record doesn't match the RowVersion property provided.",
            ));
        }
    }
    if let Some(m) = req.header("if-none-match") {
        if m.trim() == "*" && current.is_some() {
            return Err(ApiError::new(
                412,
                "0x80040237",
                "A record with matching key values already exists.",
            ));
        }
    }
    Ok(())
}

pub(crate) fn patch(
    ctx: &mut Ctx<'_>,
    req: &ApiRequest,
    t: &Table,
    id: Uuid,
) -> Result<ApiResponse, ApiError> {
    let prefer = parse_prefer(req);
    let mut wb = parse_write_body(ctx, t, &req.body)?;
    if wb.key.is_some_and(|k| k != id) {
        return Err(ApiError::bad_request(
            "0x80060888",
            "The key in the body does not match the key in the URL.",
        ));
    }
    let current = ctx.db.row_version(t, &id)?;
    check_conditions(req, t, &id, current)?;
    let created = current.is_none();
    if created {
        default_owner(t, ctx.user, &mut wb.vals);
        ctx.db.insert(t, &id, &wb.vals, None)?;
    } else {
        ctx.db.update(t, &id, &wb.vals)?;
    }
    remember_content_id(ctx, req, t, id);
    if prefer.representation {
        return representation(ctx, req, t, &id, if created { 201 } else { 200 }, &prefer);
    }
    Ok(ApiResponse::empty(204).with("OData-EntityId", entity_id(ctx.sh, t, &id)))
}

pub(crate) fn delete(
    ctx: &mut Ctx<'_>,
    req: &ApiRequest,
    t: &Table,
    id: Uuid,
) -> Result<ApiResponse, ApiError> {
    let current = ctx.db.row_version(t, &id)?;
    check_conditions(req, t, &id, current)?;
    if current.is_none() || !ctx.db.delete(t, &id)? {
        return Err(not_found_row(t, &id));
    }
    Ok(ApiResponse::empty(204))
}

/// Admin writes: create (returns the id) or update as `user`.
pub(crate) fn admin_write(
    ctx: &mut Ctx<'_>,
    t: &Table,
    id: Option<Uuid>,
    values: &J,
) -> Result<Uuid, ApiError> {
    let J::Object(obj) = values else {
        return Err(ApiError::bad_request(
            "0x80060888",
            "values must be a JSON object",
        ));
    };
    let mut wb = parse_write_map(ctx, t, obj)?;
    match id {
        None => {
            let id = wb.key.unwrap_or_else(Uuid::new_v4);
            if ctx.db.row_version(t, &id)?.is_some() {
                return Err(ApiError::new(
                    412,
                    "0x80040237",
                    "A record with matching key values already exists.",
                ));
            }
            default_owner(t, ctx.user, &mut wb.vals);
            ctx.db.insert(t, &id, &wb.vals, None)?;
            Ok(id)
        }
        Some(id) => {
            if ctx.db.row_version(t, &id)?.is_none() {
                return Err(not_found_row(t, &id));
            }
            ctx.db.update(t, &id, &wb.vals)?;
            Ok(id)
        }
    }
}

pub(crate) fn admin_delete(ctx: &mut Ctx<'_>, t: &Table, id: &Uuid) -> Result<(), ApiError> {
    if !ctx.db.delete(t, id)? {
        return Err(not_found_row(t, id));
    }
    Ok(())
}
