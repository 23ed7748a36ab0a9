//! Reading rows: the query options of a row request and what the three
//! kinds of read share (links, page size, preferences, sort values), the
//! count and single-row reads. Collections with keyset paging are
//! `collection.rs`, change-tracking deltas `delta.rs`, the JSON row writer
//! (the hot loop) `rows.rs`.

mod collection;
mod delta;
mod rows;

pub(crate) use collection::*;
pub(crate) use delta::*;
pub(crate) use rows::*;

use rusqlite::types::{Value, ValueRef};
use serde_json::{Map, Value as J};
use uuid::Uuid;

use crate::Shared;
use crate::api::{
    Annotations, ApiError, ApiRequest, ApiResponse, Ctx, MAX_PAGE, Prefer, not_found_row,
    parse_prefer,
};
use crate::cookie::{self, Cursor, DeltaCursor, DeltaToken, PageCursor, QueryParam};
use crate::filter::{self, Prop};
use crate::schema::{AttrType, Schema, Table};
use crate::store::{write_i64, write_json_str, write_json_value};

/// The query options of a row request, validated.
#[derive(Default)]
pub(crate) struct Query {
    pub(crate) params: Vec<QueryParam>,
    pub(crate) select: Option<String>,
    pub(crate) filter: Option<String>,
    pub(crate) orderby: Option<String>,
    pub(crate) top: Option<usize>,
    pub(crate) count: bool,
    pub(crate) expand: Option<String>,
    pub(crate) skiptoken: Option<String>,
    pub(crate) deltatoken: Option<String>,
}

pub(crate) fn parse_query(req: &ApiRequest) -> Result<Query, ApiError> {
    let params = cookie::parse_query(&req.raw_query)?;
    let mut q = Query::default();
    for p in &params {
        let v = Some(p.value.clone());
        match p.name.as_str() {
            "$select" => q.select = v,
            "$filter" => q.filter = v,
            "$orderby" => q.orderby = v,
            "$top" => {
                let n: usize = p.value.trim().parse().map_err(|_| {
                    ApiError::bad_request(
                        "0x80060888",
                        format!("Invalid value '{}' for $top query option found.", p.value),
                    )
                })?;
                q.top = Some(n);
            }
            "$count" => {
                q.count = match p.value.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(ApiError::bad_request(
                            "0x80060888",
                            format!("'{}' is not a valid count option.", p.value),
                        ));
                    }
                }
            }
            "$expand" => q.expand = v,
            "$skiptoken" => q.skiptoken = v,
            "$deltatoken" => q.deltatoken = v,
            "$skip" => {
                return Err(ApiError::bad_request(
                    "0x80060888",
                    "The query parameter $skip is not supported. Page with Prefer: odata.maxpagesize and @odata.nextLink.",
                ));
            }
            n if n.starts_with('$') => {
                return Err(ApiError::bad_request(
                    "0x80060888",
                    format!("The query parameter '{n}' is not supported."),
                ));
            }
            _ => {}
        }
    }
    q.params = params;
    Ok(q)
}

/// Columns to answer with: schema column indices (the key is always sent).
pub(crate) fn parse_select(t: &Table, select: Option<&str>) -> Result<Vec<usize>, ApiError> {
    let Some(s) = select else {
        return Ok((0..t.columns.len()).collect());
    };
    let mut out = Vec::new();
    for name in s.split(',').map(str::trim) {
        if name.is_empty() {
            return Err(ApiError::bad_request(
                "0x80060888",
                format!("Syntax error in $select '{s}'."),
            ));
        }
        match filter::resolve_prop(t, name)? {
            (Prop::Key, _) => {}
            (Prop::Col(i), _) => {
                if !out.contains(&i) {
                    out.push(i)
                }
            }
        }
    }
    Ok(out)
}

/// SQL columns for a row: id, version, then each selected column (lookups:
/// id and target type, plus the target row's primary name when formatted
/// values are asked for).
pub(crate) fn sel_sql(schema: &Schema, t: &Table, sel: &[usize], formatted: bool) -> String {
    let mut cols = vec!["id".to_string(), "c_versionnumber".to_string()];
    for &i in sel {
        let c = &t.columns[i];
        cols.extend(crate::store::sql_cols(c));
        if formatted && c.ty.is_lookup() {
            let mut case = format!("CASE {}.c_{}__t", t.sql_name, c.name);
            for tg in &c.targets {
                let Some(tt) = schema.by_logical(&tg.entity) else {
                    continue;
                };
                let Some(pn) = &tt.primary_name else { continue };
                // The inner table is aliased, so `t_x.c_y` names the outer row.
                case.push_str(&format!(
                    " WHEN '{}' THEN (SELECT f.c_{pn} FROM {} AS f WHERE f.id = {}.c_{})",
                    tt.logical_name, tt.sql_name, t.sql_name, c.name
                ));
            }
            case.push_str(" END");
            cols.push(case);
        }
    }
    cols.join(", ")
}

pub(crate) fn sql_width(t: &Table, sel: &[usize], formatted: bool) -> usize {
    let lookup = if formatted { 3 } else { 2 };
    2 + sel
        .iter()
        .map(|&i| {
            if t.columns[i].ty.is_lookup() {
                lookup
            } else {
                1
            }
        })
        .sum::<usize>()
}

pub(crate) fn context_url(sh: &Shared, t: &Table, q: &Query, suffix: &str) -> String {
    match &q.select {
        Some(s) => format!("{}$metadata#{}({}){}", sh.base_url, t.entity_set, s, suffix),
        None => format!("{}$metadata#{}{}", sh.base_url, t.entity_set, suffix),
    }
}

pub(crate) fn page_size(ctx: &Ctx<'_>, prefer: &Prefer) -> usize {
    let max = ctx.sh.max_page_size.clamp(1, MAX_PAGE);
    prefer.maxpagesize.unwrap_or(max).clamp(1, max)
}

pub(crate) fn preference_applied(
    prefer: &Prefer,
    size: Option<usize>,
    tracking: bool,
) -> Option<String> {
    let mut v = Vec::new();
    if let (Some(n), Some(_)) = (size, prefer.maxpagesize) {
        v.push(format!("odata.maxpagesize={n}"));
    }
    if tracking {
        v.push("odata.track-changes".to_string());
    }
    if prefer.annotations.any() {
        if let Some(a) = &prefer.annotations_raw {
            v.push(format!("odata.include-annotations={a}"));
        }
    }
    if v.is_empty() {
        None
    } else {
        Some(v.join(","))
    }
}

/// Link to the same collection with the given raw query parameters.
pub(crate) fn link(sh: &Shared, t: &Table, q: &Query, keep: &[&str], extra: &str) -> String {
    let mut parts: Vec<&str> = q
        .params
        .iter()
        .filter(|p| keep.contains(&p.name.as_str()))
        .map(|p| p.raw.as_str())
        .collect();
    parts.push(extra);
    format!("{}{}?{}", sh.base_url, t.entity_set, parts.join("&"))
}

pub(crate) fn take_truncation(ctx: &Ctx<'_>) -> Option<usize> {
    ctx.sh
        .faults
        .truncate_after
        .lock()
        .ok()
        .and_then(|mut g| g.take())
}

pub(crate) fn sort_value_param(ty: AttrType, v: &str) -> Result<Value, ApiError> {
    let bad = || {
        ApiError::bad_request(
            "0x80040203",
            "The $skiptoken is not valid for this $orderby.",
        )
    };
    Ok(if ty.is_integer() || ty == AttrType::Boolean {
        Value::Integer(v.parse().map_err(|_| bad())?)
    } else if ty.is_float() {
        Value::Real(v.parse().map_err(|_| bad())?)
    } else {
        Value::Text(v.to_string())
    })
}

pub(crate) fn value_to_cookie(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(format!("{f:?}")),
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(_) => None,
    }
}

pub(crate) fn count_collection(ctx: &mut Ctx<'_>, t: &Table) -> Result<ApiResponse, ApiError> {
    let n = ctx.db.count(t)?.min(MAX_PAGE as i64);
    let mut r = ApiResponse::json(200, n.to_string().into_bytes());
    r.headers[0].1 = "text/plain".into();
    Ok(r)
}

/// Reads one row in read shape (optionally with `@odata.context`).
pub(crate) fn read_row(
    ctx: &Ctx<'_>,
    t: &Table,
    id: &Uuid,
    sel: &[usize],
    ann: Annotations,
    context: Option<&str>,
) -> Result<Option<Vec<u8>>, ApiError> {
    let sql = format!(
        "SELECT {} FROM {} WHERE id = ?1",
        sel_sql(&ctx.sh.schema, t, sel, ann.formatted),
        t.sql_name
    );
    let mut st = ctx.db.conn.prepare_cached(&sql)?;
    let mut rows = st.query([id.to_string()])?;
    match rows.next()? {
        Some(row) => {
            let mut buf = Vec::with_capacity(512);
            write_row(&mut buf, &RowPlan::new(t, sel, ann), row, context)?;
            Ok(Some(buf))
        }
        None => Ok(None),
    }
}

pub(crate) fn get_single(
    ctx: &mut Ctx<'_>,
    req: &ApiRequest,
    t: &Table,
    id: Uuid,
) -> Result<ApiResponse, ApiError> {
    let q = parse_query(req)?;
    let prefer = parse_prefer(req);
    if q.expand.is_some() {
        return Err(ApiError::bad_request(
            "0x80060888",
            "$expand on rows is not supported by this emulator.",
        ));
    }
    if let Some(bad) = [
        ("$filter", q.filter.is_some()),
        ("$orderby", q.orderby.is_some()),
        ("$top", q.top.is_some()),
    ]
    .iter()
    .find(|(_, p)| *p)
    {
        return Err(ApiError::bad_request(
            "0x80060888",
            format!("The query option '{}' is not valid on a single row.", bad.0),
        ));
    }
    let sel = parse_select(t, q.select.as_deref())?;
    let Some(version) = ctx.db.row_version(t, &id)? else {
        return Err(not_found_row(t, &id));
    };
    if let Some(inm) = req.header("if-none-match") {
        if inm.trim() == format!("W/\"{version}\"") {
            return Ok(ApiResponse::empty(304));
        }
    }
    let context = context_url(ctx.sh, t, &q, "/$entity");
    let body = read_row(ctx, t, &id, &sel, prefer.annotations, Some(&context))?
        .ok_or_else(|| not_found_row(t, &id))?;
    ctx.sh.stats.add_rows(&t.entity_set, 1);
    let mut r = ApiResponse::json(200, body).with("ETag", format!("W/\"{version}\""));
    if let Some(pa) = preference_applied(&prefer, None, false) {
        r = r.with("Preference-Applied", pa);
    }
    Ok(r)
}

/// Admin and tests: a row in read shape as a JSON map (all columns).
pub(crate) fn row_json(
    ctx: &Ctx<'_>,
    t: &Table,
    id: &Uuid,
) -> Result<Option<Map<String, J>>, ApiError> {
    let sel: Vec<usize> = (0..t.columns.len()).collect();
    match read_row(ctx, t, id, &sel, Annotations::default(), None)? {
        Some(b) => match serde_json::from_slice(&b) {
            Ok(J::Object(m)) => Ok(Some(m)),
            _ => Ok(None),
        },
        None => Ok(None),
    }
}

pub(crate) fn all_rows(ctx: &Ctx<'_>, t: &Table) -> Result<Vec<Map<String, J>>, ApiError> {
    let sel: Vec<usize> = (0..t.columns.len()).collect();
    let sql = format!(
        "SELECT {} FROM {} ORDER BY id",
        sel_sql(&ctx.sh.schema, t, &sel, false),
        t.sql_name
    );
    let mut st = ctx.db.conn.prepare_cached(&sql)?;
    let mut rows = st.query([])?;
    let mut out = Vec::new();
    let plan = RowPlan::new(t, &sel, Annotations::default());
    while let Some(row) = rows.next()? {
        let mut buf = Vec::with_capacity(512);
        write_row(&mut buf, &plan, row, None)?;
        if let Ok(J::Object(m)) = serde_json::from_slice(&buf) {
            out.push(m);
        }
    }
    Ok(out)
}
