//! The request handler: one function from an internal `ApiRequest` to an
//! `ApiResponse`, used for top-level requests and for every part of a
//! `$batch`. It runs with the database locked, so a change set can wrap
//! several calls in one savepoint.

use std::collections::HashMap;

use rusqlite::types::{Value, ValueRef};
use serde_json::{Map, Value as J, json};
use uuid::Uuid;

use crate::cookie::{self, Cursor, DeltaCursor, DeltaToken, PageCursor, QueryParam};
use crate::filter::{self, Prop};
use crate::schema::{AttrType, Table};
use crate::store::{Db, WriteVal, write_i64, write_json_str, write_json_value};
use crate::{Shared, User};

pub const MAX_PAGE: usize = 5000;

#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub method: String,
    /// Decoded path relative to the base URL: `accounts(<guid>)`.
    pub path: String,
    pub raw_query: String,
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl ApiRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
    fn all_headers(&self, name: &str) -> Vec<&str> {
        self.headers.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect()
    }
}

#[derive(Debug, Clone, Default)]
pub struct ApiResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Fault injection: send this many body bytes, then cut the connection.
    pub cut_at: Option<usize>,
}

impl ApiResponse {
    fn json(status: u16, body: Vec<u8>) -> ApiResponse {
        ApiResponse {
            status,
            headers: vec![
                ("Content-Type".into(), "application/json; odata.metadata=minimal".into()),
                ("OData-Version".into(), "4.0".into()),
            ],
            body,
            cut_at: None,
        }
    }
    fn empty(status: u16) -> ApiResponse {
        ApiResponse { status, headers: vec![("OData-Version".into(), "4.0".into())], body: vec![], cut_at: None }
    }
    fn with(mut self, name: &str, value: impl Into<String>) -> ApiResponse {
        self.headers.push((name.into(), value.into()));
        self
    }
}

/// An error answered with Dataverse's body: `{"error":{"code","message"}}`.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub headers: Vec<(String, String)>,
}

impl ApiError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> ApiError {
        ApiError { status, code: code.into(), message: message.into(), headers: vec![] }
    }
    pub fn bad_request(code: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(400, code, message)
    }
    pub fn into_response(self) -> ApiResponse {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        let mut r = ApiResponse::json(self.status, serde_json::to_vec(&body).unwrap_or_default());
        r.headers.extend(self.headers);
        r
    }
}

impl From<crate::Error> for ApiError {
    fn from(e: crate::Error) -> ApiError {
        tracing::error!("internal error: {e}");
        ApiError::new(500, "0x80040216", format!("An unexpected error occurred: {e}"))
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> ApiError {
        ApiError::from(crate::Error::from(e))
    }
}

fn not_found_row(t: &Table, id: &Uuid) -> ApiError {
    ApiError::new(404, "0x80040217", format!("{} With Id = {} Does Not Exist", t.logical_name, id))
}

/// Per-call state: the shared server, the locked database, the caller, and
/// the change set's `Content-ID` -> (entity set, id) map.
pub struct Ctx<'a> {
    pub sh: &'a Shared,
    pub db: &'a mut Db,
    pub user: &'a User,
    pub content_ids: HashMap<String, (String, Uuid)>,
}

pub fn handle(ctx: &mut Ctx<'_>, req: &ApiRequest) -> ApiResponse {
    match route(ctx, req) {
        Ok(r) => r,
        Err(e) => e.into_response(),
    }
}

#[derive(Debug, Default)]
struct Prefer {
    maxpagesize: Option<usize>,
    track: bool,
    representation: bool,
    annotations: bool,
    annotations_raw: Option<String>,
}

fn parse_prefer(req: &ApiRequest) -> Prefer {
    let mut p = Prefer::default();
    for h in req.all_headers("prefer") {
        for item in h.split(',') {
            let item = item.trim();
            let (k, v) = item.split_once('=').map(|(k, v)| (k.trim(), v.trim())).unwrap_or((item, ""));
            match k {
                "odata.maxpagesize" => p.maxpagesize = v.parse().ok(),
                "odata.track-changes" => p.track = true,
                "return" => p.representation = v == "representation",
                "odata.include-annotations" => {
                    let inner = v.trim_matches('"');
                    p.annotations = inner.split(',').any(|a| {
                        let a = a.trim();
                        a == "*" || a == "Microsoft.Dynamics.CRM.*" || a == "Microsoft.Dynamics.CRM.lookuplogicalname"
                    });
                    p.annotations_raw = Some(v.to_string());
                }
                _ => {}
            }
        }
    }
    p
}

/// `name(key)` -> (name, Some(key)).
fn split_segment(seg: &str) -> Result<(&str, Option<&str>), ApiError> {
    match seg.find('(') {
        None => Ok((seg, None)),
        Some(i) => {
            let rest = &seg[i + 1..];
            let key = rest.strip_suffix(')').ok_or_else(|| bad_segment(seg))?;
            Ok((&seg[..i], Some(key)))
        }
    }
}

fn bad_segment(seg: &str) -> ApiError {
    ApiError::new(404, "0x8006088a", format!("Resource not found for the segment '{seg}'."))
}

fn parse_key(t: &Table, key: &str) -> Result<Uuid, ApiError> {
    let k = key.strip_prefix(&format!("{}=", t.primary_id)).unwrap_or(key);
    Uuid::parse_str(k).map_err(|_| {
        ApiError::bad_request(
            "0x80060888",
            format!("Bad Request - Error in query syntax: '{key}' is not a valid key for {}.", t.entity_set),
        )
    })
}

fn route(ctx: &mut Ctx<'_>, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let path = req.path.trim_matches('/');
    let segs: Vec<&str> = if path.is_empty() { vec![] } else { path.split('/').collect() };
    let Some(first) = segs.first() else {
        return service_document(ctx, req);
    };
    let (name, key) = split_segment(first)?;
    match name {
        "$batch" => {
            if req.method != "POST" {
                return Err(method_not_allowed(req));
            }
            return crate::batch::run(ctx, req);
        }
        "WhoAmI" => return who_am_i(ctx, req),
        "RetrieveTotalRecordCount" => return crate::metadata::total_record_count(ctx, req, key),
        "EntityDefinitions" => return crate::metadata::entity_definitions(ctx, req, key, &segs[1..]),
        "$metadata" => {
            return Err(ApiError::new(
                501,
                "0x80040216",
                "The emulator does not serve CSDL $metadata: read EntityDefinitions instead.",
            ));
        }
        _ => {}
    }
    let Some(t) = ctx.sh.schema.by_set(name) else {
        return Err(bad_segment(first));
    };
    match (req.method.as_str(), key, segs.get(1).copied(), segs.len()) {
        ("GET", None, None, 1) => get_collection(ctx, req, t),
        ("GET", None, Some("$count"), 2) => count_collection(ctx, t),
        ("GET", Some(k), None, 1) => get_single(ctx, req, t, parse_key(t, k)?),
        ("POST", None, None, 1) => create(ctx, req, t),
        ("PATCH", Some(k), None, 1) => patch(ctx, req, t, parse_key(t, k)?),
        ("DELETE", Some(k), None, 1) => delete(ctx, req, t, parse_key(t, k)?),
        (_, _, Some(s), _) if s != "$count" => Err(bad_segment(s)),
        _ => Err(method_not_allowed(req)),
    }
}

fn method_not_allowed(req: &ApiRequest) -> ApiError {
    ApiError::new(
        405,
        "0x80060888",
        format!("The HTTP method '{}' is not allowed on '{}'.", req.method, req.path),
    )
}

fn service_document(ctx: &mut Ctx<'_>, _req: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let sets: Vec<J> = ctx
        .sh
        .schema
        .tables
        .iter()
        .map(|t| json!({"name": t.entity_set, "kind": "EntitySet", "url": t.entity_set}))
        .collect();
    let body = json!({"@odata.context": format!("{}$metadata", ctx.sh.base_url), "value": sets});
    Ok(ApiResponse::json(200, serde_json::to_vec(&body).unwrap_or_default()))
}

fn who_am_i(ctx: &mut Ctx<'_>, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
    if req.method != "GET" {
        return Err(method_not_allowed(req));
    }
    let body = json!({
        "@odata.context": format!("{}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse", ctx.sh.base_url),
        "BusinessUnitId": ctx.sh.business_unit_id,
        "UserId": ctx.user.id,
        "OrganizationId": ctx.sh.organization_id,
    });
    Ok(ApiResponse::json(200, serde_json::to_vec(&body).unwrap_or_default()))
}

/// The query options of a row request, validated.
#[derive(Default)]
struct Query {
    params: Vec<QueryParam>,
    select: Option<String>,
    filter: Option<String>,
    orderby: Option<String>,
    top: Option<usize>,
    count: bool,
    expand: Option<String>,
    skiptoken: Option<String>,
    deltatoken: Option<String>,
}

fn parse_query(req: &ApiRequest) -> Result<Query, ApiError> {
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
                    ApiError::bad_request("0x80060888", format!("Invalid value '{}' for $top query option found.", p.value))
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
                return Err(ApiError::bad_request("0x80060888", format!("The query parameter '{n}' is not supported.")));
            }
            _ => {}
        }
    }
    q.params = params;
    Ok(q)
}

/// Columns to answer with: schema column indices (the key is always sent).
fn parse_select(t: &Table, select: Option<&str>) -> Result<Vec<usize>, ApiError> {
    let Some(s) = select else {
        return Ok((0..t.columns.len()).collect());
    };
    let mut out = Vec::new();
    for name in s.split(',').map(str::trim) {
        if name.is_empty() {
            return Err(ApiError::bad_request("0x80060888", format!("Syntax error in $select '{s}'.")));
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

fn sel_sql(t: &Table, sel: &[usize]) -> String {
    let mut cols = vec!["id".to_string(), "c_versionnumber".to_string()];
    for &i in sel {
        cols.extend(crate::store::sql_cols(&t.columns[i]));
    }
    cols.join(", ")
}

fn sql_width(t: &Table, sel: &[usize]) -> usize {
    2 + sel.iter().map(|&i| if t.columns[i].ty.is_lookup() { 2 } else { 1 }).sum::<usize>()
}

/// How to write rows of one query: the JSON key bytes are built once per
/// page, not per row (serialization is the emulator's hot loop).
struct RowPlan<'a> {
    t: &'a Table,
    sel: &'a [usize],
    annotations: bool,
    /// Per selected column: `,"name":` (lookups: `,"_name_value":`).
    keys: Vec<Vec<u8>>,
    /// Per selected lookup column: (`,"_x_value@...lookuplogicalname":`, `,"_x_value@...associatednavigationproperty":`).
    ann_keys: Vec<(Vec<u8>, Vec<u8>)>,
    key_key: Vec<u8>,
}

fn json_key(name: &str) -> Vec<u8> {
    let mut k = vec![b','];
    write_json_str(&mut k, name);
    k.push(b':');
    k
}

impl<'a> RowPlan<'a> {
    fn new(t: &'a Table, sel: &'a [usize], annotations: bool) -> RowPlan<'a> {
        let mut keys = Vec::with_capacity(sel.len());
        let mut ann_keys = Vec::with_capacity(sel.len());
        for &ci in sel {
            let c = &t.columns[ci];
            if c.ty.is_lookup() {
                let name = format!("_{}_value", c.name);
                keys.push(json_key(&name));
                ann_keys.push((
                    json_key(&format!("{name}@Microsoft.Dynamics.CRM.lookuplogicalname")),
                    json_key(&format!("{name}@Microsoft.Dynamics.CRM.associatednavigationproperty")),
                ));
            } else {
                keys.push(json_key(&c.name));
                ann_keys.push((vec![], vec![]));
            }
        }
        RowPlan { t, sel, annotations, keys, ann_keys, key_key: json_key(&t.primary_id) }
    }
}

/// Writes one row object in Web API read shape.
fn write_row(buf: &mut Vec<u8>, plan: &RowPlan<'_>, row: &rusqlite::Row<'_>, context: Option<&str>) -> Result<(), rusqlite::Error> {
    let t = plan.t;
    buf.push(b'{');
    if let Some(c) = context {
        buf.extend_from_slice(b"\"@odata.context\":");
        write_json_str(buf, c);
        buf.push(b',');
    }
    let version: i64 = row.get(1)?;
    buf.extend_from_slice(b"\"@odata.etag\":\"W/\\\"");
    write_i64(buf, version);
    buf.extend_from_slice(b"\\\"\"");
    let mut idx = 2;
    for (k, &ci) in plan.sel.iter().enumerate() {
        let c = &t.columns[ci];
        buf.extend_from_slice(&plan.keys[k]);
        if c.ty.is_lookup() {
            let v = row.get_ref(idx)?;
            write_json_value(buf, AttrType::Uniqueidentifier, v);
            if plan.annotations && !matches!(v, ValueRef::Null) {
                if let ValueRef::Text(ty) = row.get_ref(idx + 1)? {
                    let ty = String::from_utf8_lossy(ty);
                    buf.extend_from_slice(&plan.ann_keys[k].0);
                    write_json_str(buf, &ty);
                    if let Some(tg) = c.targets.iter().find(|tg| tg.entity == ty) {
                        buf.extend_from_slice(&plan.ann_keys[k].1);
                        write_json_str(buf, &tg.navigation);
                    }
                }
            }
            idx += 2;
        } else {
            write_json_value(buf, c.ty, row.get_ref(idx)?);
            idx += 1;
        }
    }
    buf.extend_from_slice(&plan.key_key);
    write_json_value(buf, AttrType::Uniqueidentifier, row.get_ref(0)?);
    buf.push(b'}');
    Ok(())
}

fn context_url(sh: &Shared, t: &Table, q: &Query, suffix: &str) -> String {
    match &q.select {
        Some(s) => format!("{}$metadata#{}({}){}", sh.base_url, t.entity_set, s, suffix),
        None => format!("{}$metadata#{}{}", sh.base_url, t.entity_set, suffix),
    }
}

fn page_size(ctx: &Ctx<'_>, prefer: &Prefer) -> usize {
    let max = ctx.sh.max_page_size.clamp(1, MAX_PAGE);
    prefer.maxpagesize.unwrap_or(max).clamp(1, max)
}

fn preference_applied(prefer: &Prefer, size: Option<usize>, tracking: bool) -> Option<String> {
    let mut v = Vec::new();
    if let (Some(n), Some(_)) = (size, prefer.maxpagesize) {
        v.push(format!("odata.maxpagesize={n}"));
    }
    if tracking {
        v.push("odata.track-changes".to_string());
    }
    if prefer.annotations {
        if let Some(a) = &prefer.annotations_raw {
            v.push(format!("odata.include-annotations={a}"));
        }
    }
    if v.is_empty() { None } else { Some(v.join(",")) }
}

/// Link to the same collection with the given raw query parameters.
fn link(sh: &Shared, t: &Table, q: &Query, keep: &[&str], extra: &str) -> String {
    let mut parts: Vec<&str> = q.params.iter().filter(|p| keep.contains(&p.name.as_str())).map(|p| p.raw.as_str()).collect();
    parts.push(extra);
    format!("{}{}?{}", sh.base_url, t.entity_set, parts.join("&"))
}

fn take_truncation(ctx: &Ctx<'_>) -> Option<usize> {
    ctx.sh.faults.truncate_after.lock().ok().and_then(|mut g| g.take())
}

fn sort_value_param(ty: AttrType, v: &str) -> Result<Value, ApiError> {
    let bad = || ApiError::bad_request("0x80040203", "The $skiptoken is not valid for this $orderby.");
    Ok(if ty.is_integer() || ty == AttrType::Boolean {
        Value::Integer(v.parse().map_err(|_| bad())?)
    } else if ty.is_float() {
        Value::Real(v.parse().map_err(|_| bad())?)
    } else {
        Value::Text(v.to_string())
    })
}

fn value_to_cookie(v: ValueRef<'_>) -> Option<String> {
    match v {
        ValueRef::Null => None,
        ValueRef::Integer(i) => Some(i.to_string()),
        ValueRef::Real(f) => Some(format!("{f:?}")),
        ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(_) => None,
    }
}

fn get_collection(ctx: &mut Ctx<'_>, req: &ApiRequest, t: &Table) -> Result<ApiResponse, ApiError> {
    let q = parse_query(req)?;
    let prefer = parse_prefer(req);
    let cursor = match &q.skiptoken {
        Some(s) => Some(cookie::decode_cursor(s)?),
        None => None,
    };
    if let Some(dt) = q.deltatoken.clone() {
        refuse_with_tracking(&q)?;
        let dc = match cursor {
            Some(Cursor::Delta(d)) => Some(d),
            Some(Cursor::Page(_)) => return Err(cookie_mismatch()),
            None => None,
        };
        return get_delta(ctx, &q, &prefer, t, &dt, dc);
    }
    let pc = match cursor {
        Some(Cursor::Page(p)) => Some(p),
        Some(Cursor::Delta(_)) => return Err(cookie_mismatch()),
        None => None,
    };
    let tracking = prefer.track || pc.as_ref().is_some_and(|p| p.snapshot.is_some());
    if tracking {
        refuse_with_tracking(&q)?;
    }
    if q.expand.is_some() {
        return Err(ApiError::bad_request(
            "0x80060888",
            "$expand on rows is not supported by this emulator (only on EntityDefinitions).",
        ));
    }
    let sel = parse_select(t, q.select.as_deref())?;
    let mut params: Vec<Value> = Vec::new();
    let mut wheres: Vec<String> = Vec::new();
    if let Some(f) = &q.filter {
        let e = filter::parse_filter(f)?;
        wheres.push(filter::to_sql(t, &e, &mut params)?);
    }
    let order: Vec<(Prop, AttrType, bool, String)> = match &q.orderby {
        Some(o) => filter::parse_orderby(o)?
            .into_iter()
            .map(|(n, d)| filter::resolve_prop(t, &n).map(|(p, ty)| (p, ty, d, n)))
            .collect::<Result<_, _>>()?,
        None => vec![],
    };
    let count_where = wheres.clone();
    let count_params = params.clone();
    if let Some(pc) = &pc {
        if pc.sort_values.len() != order.len() || pc.sort_values.iter().zip(&order).any(|((n, _), o)| n != &o.3) {
            return Err(cookie_mismatch());
        }
        // Keyset: strictly after the last row in (order columns..., id) order.
        let mut cond = {
            params.push(Value::Text(pc.last_id.clone()));
            format!("id > ?{}", params.len())
        };
        for ((_, v), (p, ty, desc, _)) in pc.sort_values.iter().zip(&order).rev() {
            let col = filter::prop_sql(t, *p);
            let (after, equal) = match (v, desc) {
                (None, false) => (format!("{col} IS NOT NULL"), format!("{col} IS NULL")),
                (None, true) => ("0".to_string(), format!("{col} IS NULL")),
                (Some(v), d) => {
                    params.push(sort_value_param(*ty, v)?);
                    let n = params.len();
                    if *d {
                        (format!("({col} < ?{n} OR {col} IS NULL)"), format!("{col} = ?{n}"))
                    } else {
                        (format!("{col} > ?{n}"), format!("{col} = ?{n}"))
                    }
                }
            };
            cond = format!("({after} OR ({equal} AND {cond}))");
        }
        wheres.push(cond);
    }
    let size = page_size(ctx, &prefer);
    let (limit, paged) = match q.top {
        Some(top) => (top.min(MAX_PAGE), false),
        None => (size, true),
    };
    let snapshot = if tracking { Some(pc.as_ref().and_then(|p| p.snapshot).unwrap_or(ctx.db.version)) } else { None };
    let mut sql = format!("SELECT {}", sel_sql(t, &sel));
    for (p, ..) in &order {
        sql.push_str(", ");
        sql.push_str(&filter::prop_sql(t, *p));
    }
    sql.push_str(&format!(" FROM {}", t.sql_name));
    if !wheres.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&wheres.join(" AND "));
    }
    sql.push_str(" ORDER BY ");
    for (p, _, d, _) in &order {
        sql.push_str(&format!("{} {}, ", filter::prop_sql(t, *p), if *d { "DESC" } else { "ASC" }));
    }
    sql.push_str(&format!("id ASC LIMIT {}", limit + 1));

    let plan = RowPlan::new(t, &sel, prefer.annotations);
    let mut buf = Vec::with_capacity(1024 + limit.min(MAX_PAGE) * 450);
    buf.extend_from_slice(b"{\"@odata.context\":");
    write_json_str(&mut buf, &context_url(ctx.sh, t, &q, ""));
    if q.count {
        let mut csql = format!("SELECT COUNT(*) FROM (SELECT 1 FROM {}", t.sql_name);
        if !count_where.is_empty() {
            csql.push_str(" WHERE ");
            csql.push_str(&count_where.join(" AND "));
        }
        csql.push_str(&format!(" LIMIT {})", MAX_PAGE + 1));
        let n: i64 = ctx.db.conn.prepare_cached(&csql)?.query_row(rusqlite::params_from_iter(count_params.iter()), |r| r.get(0))?;
        // Dataverse caps the count at 5000.
        buf.extend_from_slice(format!(",\"@odata.count\":{}", n.min(MAX_PAGE as i64)).as_bytes());
        if n > MAX_PAGE as i64 {
            buf.extend_from_slice(b",\"@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded\":true");
        }
    }
    buf.extend_from_slice(b",\"value\":[");
    let truncate = take_truncation(ctx);
    let mut cut_at = None;
    let width = sql_width(t, &sel);
    let mut served = 0usize;
    let mut more = false;
    let mut last: Option<(String, Vec<Option<String>>)> = None;
    let mut first_id: Option<String> = None;
    {
        let mut st = ctx.db.conn.prepare_cached(&sql)?;
        let mut rows = st.query(rusqlite::params_from_iter(params.iter()))?;
        while let Some(row) = rows.next()? {
            if served == limit {
                more = true;
                break;
            }
            if truncate == Some(served) {
                cut_at = Some(buf.len());
            }
            if served > 0 {
                buf.push(b',');
            }
            write_row(&mut buf, &plan, row, None)?;
            served += 1;
            // The cursor only matters for a full page: keep the first and last row's keys.
            if paged && served == 1 {
                first_id = Some(row.get(0)?);
            }
            if paged && served == limit {
                let id: String = row.get(0)?;
                let mut sv = Vec::with_capacity(order.len());
                for k in 0..order.len() {
                    sv.push(value_to_cookie(row.get_ref(width + k)?));
                }
                last = Some((id, sv));
            }
        }
    }
    if truncate.is_some() && cut_at.is_none() {
        cut_at = Some(buf.len());
    }
    buf.push(b']');
    ctx.sh.stats.add_rows(served as u64);
    if paged && more {
        if let Some((last_id, sv)) = last {
            let c = Cursor::Page(PageCursor {
                page: pc.as_ref().map(|p| p.page.saturating_add(1)).unwrap_or(1),
                sort_values: order.iter().map(|o| o.3.clone()).zip(sv).collect(),
                last_id,
                first_id: first_id.unwrap_or_default(),
                snapshot,
            });
            let next = link(ctx.sh, t, &q, &["$select", "$filter", "$orderby", "$count"], &format!("$skiptoken={}", cookie::encode_cursor(&c, &t.primary_id)));
            buf.extend_from_slice(b",\"@odata.nextLink\":");
            write_json_str(&mut buf, &next);
        }
    } else if let Some(snap) = snapshot {
        let token = issue_token(ctx, snap);
        let dl = link(ctx.sh, t, &q, &["$select"], &format!("$deltatoken={token}"));
        buf.extend_from_slice(b",\"@odata.deltaLink\":");
        write_json_str(&mut buf, &dl);
    }
    buf.push(b'}');
    let mut r = ApiResponse::json(200, buf);
    r.cut_at = cut_at;
    if let Some(pa) = preference_applied(&prefer, Some(size), tracking) {
        r = r.with("Preference-Applied", pa);
    }
    Ok(r)
}

fn cookie_mismatch() -> ApiError {
    ApiError::bad_request("0x80040203", "The $skiptoken does not belong to this query.")
}

fn issue_token(ctx: &Ctx<'_>, version: i64) -> String {
    cookie::encode_delta_token(&DeltaToken {
        version,
        issued_unix: time::OffsetDateTime::now_utc().unix_timestamp(),
        generation: ctx.sh.faults.token_generation.load(std::sync::atomic::Ordering::SeqCst),
    })
}

/// Dataverse refuses these options together with change tracking.
fn refuse_with_tracking(q: &Query) -> Result<(), ApiError> {
    for (name, present) in [
        ("$filter", q.filter.is_some()),
        ("$orderby", q.orderby.is_some()),
        ("$expand", q.expand.is_some()),
        ("$top", q.top.is_some()),
    ] {
        if present {
            return Err(ApiError::bad_request(
                "0x80060888",
                format!("The \"{name}\" query parameter isn't supported when Change Tracking is enabled."),
            ));
        }
    }
    Ok(())
}

fn expired() -> ApiError {
    ApiError::bad_request(
        "0x80044352",
        "Version stamp associated with the client has expired. Please perform a full sync.",
    )
}

fn get_delta(ctx: &mut Ctx<'_>, q: &Query, prefer: &Prefer, t: &Table, token: &str, dc: Option<DeltaCursor>) -> Result<ApiResponse, ApiError> {
    let tok = cookie::decode_delta_token(token)
        .ok_or_else(|| ApiError::bad_request("0x80044352", "The $deltatoken is not valid. Please perform a full sync."))?;
    let generation = ctx.sh.faults.token_generation.load(std::sync::atomic::Ordering::SeqCst);
    let age = time::OffsetDateTime::now_utc().unix_timestamp() - tok.issued_unix;
    if tok.generation != generation || age > ctx.sh.delta_retention.as_secs() as i64 || tok.version > ctx.db.version {
        return Err(expired());
    }
    let sel = parse_select(t, q.select.as_deref())?;
    let size = page_size(ctx, prefer);
    let upto = dc.as_ref().map(|d| d.upto).unwrap_or(ctx.db.version);
    let plan = RowPlan::new(t, &sel, prefer.annotations);
    let mut buf = Vec::with_capacity(1024 + size.min(MAX_PAGE) * 450);
    buf.extend_from_slice(b"{\"@odata.context\":");
    write_json_str(&mut buf, &context_url(ctx.sh, t, q, "/$delta"));
    buf.extend_from_slice(b",\"value\":[");
    let truncate = take_truncation(ctx);
    let mut cut_at = None;
    let mut served = 0usize;
    let mut next: Option<DeltaCursor> = None;
    let page = dc.as_ref().map(|d| d.page.saturating_add(1)).unwrap_or(1);
    let in_deletes = dc.as_ref().is_some_and(|d| d.deletes);
    if !in_deletes {
        let after = dc.as_ref().map(|d| d.last_version).unwrap_or(tok.version);
        let sql = format!(
            "SELECT {} FROM {} WHERE c_versionnumber > ?1 AND c_versionnumber <= ?2 ORDER BY c_versionnumber LIMIT {}",
            sel_sql(t, &sel),
            t.sql_name,
            size + 1
        );
        let mut st = ctx.db.conn.prepare_cached(&sql)?;
        let mut rows = st.query(rusqlite::params![after, upto])?;
        while let Some(row) = rows.next()? {
            if served == size {
                // `served` rows went out; continue after the last one's version.
                break;
            }
            if truncate == Some(served) {
                cut_at = Some(buf.len());
            }
            if served > 0 {
                buf.push(b',');
            }
            write_row(&mut buf, &plan, row, None)?;
            let v: i64 = row.get(1)?;
            served += 1;
            next = Some(DeltaCursor { page, deletes: false, last_version: v, upto });
        }
        // Only keep the cursor when the page is full (there may be more rows).
        if served < size {
            next = None;
        }
    }
    if served < size {
        let after = match &dc {
            Some(d) if d.deletes => d.last_version,
            _ => tok.version,
        };
        let mut st = ctx.db.conn.prepare_cached(
            "SELECT id, version FROM tombstones WHERE entity_set = ?1 AND version > ?2 AND version <= ?3 ORDER BY version LIMIT ?4",
        )?;
        let room = size - served;
        let mut rows = st.query(rusqlite::params![t.entity_set, after, upto, (room + 1) as i64])?;
        let deleted_ctx = format!("{}$metadata#{}/$deletedEntity", ctx.sh.base_url, t.entity_set);
        let mut n = 0;
        while let Some(row) = rows.next()? {
            if n == room {
                break;
            }
            if truncate == Some(served) {
                cut_at = Some(buf.len());
            }
            if served > 0 {
                buf.push(b',');
            }
            let id: String = row.get(0)?;
            let v: i64 = row.get(1)?;
            buf.extend_from_slice(b"{\"@odata.context\":");
            write_json_str(&mut buf, &deleted_ctx);
            buf.extend_from_slice(b",\"id\":");
            write_json_str(&mut buf, &id);
            buf.extend_from_slice(b",\"reason\":\"deleted\"}");
            served += 1;
            n += 1;
            next = Some(DeltaCursor { page, deletes: true, last_version: v, upto });
        }
        if n < room {
            next = None;
        }
    }
    if truncate.is_some() && cut_at.is_none() {
        cut_at = Some(buf.len());
    }
    buf.push(b']');
    ctx.sh.stats.add_rows(served as u64);
    let raw_token = q.params.iter().find(|p| p.name == "$deltatoken").map(|p| p.raw.clone()).unwrap_or_default();
    match next {
        Some(c) => {
            let nl = link(ctx.sh, t, q, &["$select"], &format!("{raw_token}&$skiptoken={}", cookie::encode_cursor(&Cursor::Delta(c), &t.primary_id)));
            buf.extend_from_slice(b",\"@odata.nextLink\":");
            write_json_str(&mut buf, &nl);
        }
        None => {
            let token = issue_token(ctx, upto);
            let dl = link(ctx.sh, t, q, &["$select"], &format!("$deltatoken={token}"));
            buf.extend_from_slice(b",\"@odata.deltaLink\":");
            write_json_str(&mut buf, &dl);
        }
    }
    buf.push(b'}');
    let mut r = ApiResponse::json(200, buf);
    r.cut_at = cut_at;
    if let Some(pa) = preference_applied(prefer, Some(size), prefer.track) {
        r = r.with("Preference-Applied", pa);
    }
    Ok(r)
}

fn count_collection(ctx: &mut Ctx<'_>, t: &Table) -> Result<ApiResponse, ApiError> {
    let n = ctx.db.count(t)?.min(MAX_PAGE as i64);
    let mut r = ApiResponse::json(200, n.to_string().into_bytes());
    r.headers[0].1 = "text/plain".into();
    Ok(r)
}

/// Reads one row in read shape (optionally with `@odata.context`).
fn read_row(ctx: &Ctx<'_>, t: &Table, id: &Uuid, sel: &[usize], annotations: bool, context: Option<&str>) -> Result<Option<Vec<u8>>, ApiError> {
    let sql = format!("SELECT {} FROM {} WHERE id = ?1", sel_sql(t, sel), t.sql_name);
    let mut st = ctx.db.conn.prepare_cached(&sql)?;
    let mut rows = st.query([id.to_string()])?;
    match rows.next()? {
        Some(row) => {
            let mut buf = Vec::with_capacity(512);
            write_row(&mut buf, &RowPlan::new(t, sel, annotations), row, context)?;
            Ok(Some(buf))
        }
        None => Ok(None),
    }
}

fn get_single(ctx: &mut Ctx<'_>, req: &ApiRequest, t: &Table, id: Uuid) -> Result<ApiResponse, ApiError> {
    let q = parse_query(req)?;
    let prefer = parse_prefer(req);
    if q.expand.is_some() {
        return Err(ApiError::bad_request("0x80060888", "$expand on rows is not supported by this emulator."));
    }
    if let Some(bad) = [("$filter", q.filter.is_some()), ("$orderby", q.orderby.is_some()), ("$top", q.top.is_some())]
        .iter()
        .find(|(_, p)| *p)
    {
        return Err(ApiError::bad_request("0x80060888", format!("The query option '{}' is not valid on a single row.", bad.0)));
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
    let body = read_row(ctx, t, &id, &sel, prefer.annotations, Some(&context))?.ok_or_else(|| not_found_row(t, &id))?;
    ctx.sh.stats.add_rows(1);
    let mut r = ApiResponse::json(200, body).with("ETag", format!("W/\"{version}\""));
    if let Some(pa) = preference_applied(&prefer, None, false) {
        r = r.with("Preference-Applied", pa);
    }
    Ok(r)
}

/// The columns of a write body, checked against the schema.
pub struct WriteBody {
    pub vals: Vec<(usize, WriteVal)>,
    pub key: Option<Uuid>,
}

fn type_error(c_name: &str, ty: AttrType, v: &J) -> ApiError {
    ApiError::bad_request(
        "0x80060888",
        format!("Cannot convert the literal '{v}' to the expected type '{}' of property '{c_name}'.", ty.edm()),
    )
}

/// Resolves `/accounts(<guid>)`, a full URL, or `$1` to (entity set, id).
fn resolve_reference(ctx: &Ctx<'_>, s: &str) -> Result<(String, Uuid), ApiError> {
    if let Some(r) = ctx.content_ids.get(s) {
        return Ok(r.clone());
    }
    let bad = || ApiError::bad_request("0x80060888", format!("The reference '{s}' is not a valid entity reference like '/accounts(<guid>)'."));
    let rel = s.strip_prefix(ctx.sh.base_url.as_str()).or_else(|| s.split("/api/data/v9.2/").nth(1)).unwrap_or(s);
    let rel = rel.trim_start_matches('/');
    let (set, key) = split_segment(rel).map_err(|_| bad())?;
    let key = key.ok_or_else(bad)?;
    let id = Uuid::parse_str(key).map_err(|_| bad())?;
    Ok((set.to_string(), id))
}

pub fn parse_write_body(ctx: &Ctx<'_>, t: &Table, body: &[u8]) -> Result<WriteBody, ApiError> {
    let v: J = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request("0x80060888", format!("The request body is not valid JSON: {e}"))
    })?;
    let J::Object(obj) = v else {
        return Err(ApiError::bad_request("0x80060888", "The request body must be a JSON object."));
    };
    parse_write_map(ctx, t, &obj)
}

pub fn parse_write_map(ctx: &Ctx<'_>, t: &Table, obj: &Map<String, J>) -> Result<WriteBody, ApiError> {
    let mut out = WriteBody { vals: vec![], key: None };
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
            let ci = t.columns.iter().position(|c| c.name == col.name).unwrap_or(0);
            if !seen.insert(ci) {
                return Err(ApiError::bad_request("0x80060888", format!("The lookup '{}' is set more than once.", col.name)));
            }
            let val = match v {
                J::Null => WriteVal::Lookup(None),
                J::String(s) => {
                    let (set, id) = resolve_reference(ctx, s)?;
                    let tt = ctx.sh.schema.by_logical(&target.entity).ok_or_else(|| ApiError::from(crate::Error::Internal("lookup target missing".into())))?;
                    if set != tt.entity_set {
                        return Err(ApiError::bad_request(
                            "0x80060888",
                            format!("'{k}' must refer to a row of '{}', not '{set}'.", tt.entity_set),
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
            let id = v.as_str().and_then(|s| Uuid::parse_str(s).ok()).ok_or_else(|| type_error(k, AttrType::Uniqueidentifier, v))?;
            out.key = Some(id);
            continue;
        }
        let Some(ci) = t.columns.iter().position(|c| c.name == *k) else {
            if let Some(c) = t.lookup_by_value_name(k) {
                return Err(ApiError::bad_request(
                    "0x80060888",
                    format!("'{k}' is read-only: write the lookup '{}' through its navigation property, e.g. '{}@odata.bind'.", c.name, c.targets[0].navigation),
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
                format!("The lookup '{k}' is written through its navigation property, e.g. '{}@odata.bind'.", c.targets[0].navigation),
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
            (ty, J::Number(n)) if ty.is_float() => Value::Real(n.as_f64().ok_or_else(|| type_error(k, ty, v))?),
            (AttrType::Boolean, J::Bool(b)) => Value::Integer(*b as i64),
            (AttrType::DateTime, J::String(s)) => {
                Value::Text(filter::parse_datetime(s).ok_or_else(|| type_error(k, c.ty, v))?)
            }
            (AttrType::Uniqueidentifier, J::String(s)) => {
                Value::Text(Uuid::parse_str(s).map_err(|_| type_error(k, c.ty, v))?.to_string())
            }
            (ty, _) => return Err(type_error(k, ty, v)),
        };
        out.vals.push((ci, WriteVal::Plain(val)));
    }
    Ok(out)
}

/// Create defaults Dataverse applies: the owner is the caller, a new row is
/// active (statecode 0).
fn default_owner(t: &Table, user: &User, vals: &mut Vec<(usize, WriteVal)>) {
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

fn entity_id(sh: &Shared, t: &Table, id: &Uuid) -> String {
    format!("{}{}({})", sh.base_url, t.entity_set, id)
}

fn representation(ctx: &Ctx<'_>, req: &ApiRequest, t: &Table, id: &Uuid, status: u16, prefer: &Prefer) -> Result<ApiResponse, ApiError> {
    let q = parse_query(req)?;
    let sel = parse_select(t, q.select.as_deref())?;
    let context = context_url(ctx.sh, t, &q, "/$entity");
    let body = read_row(ctx, t, id, &sel, prefer.annotations, Some(&context))?.ok_or_else(|| not_found_row(t, id))?;
    let version = ctx.db.row_version(t, id)?.unwrap_or(0);
    Ok(ApiResponse::json(status, body)
        .with("Preference-Applied", "return=representation")
        .with("ETag", format!("W/\"{version}\""))
        .with("OData-EntityId", entity_id(ctx.sh, t, id)))
}

fn create(ctx: &mut Ctx<'_>, req: &ApiRequest, t: &Table) -> Result<ApiResponse, ApiError> {
    let prefer = parse_prefer(req);
    let mut wb = parse_write_body(ctx, t, &req.body)?;
    let id = wb.key.unwrap_or_else(Uuid::new_v4);
    if ctx.db.row_version(t, &id)?.is_some() {
        return Err(ApiError::new(412, "0x80040237", "A record with matching key values already exists."));
    }
    default_owner(t, ctx.user, &mut wb.vals);
    ctx.db.insert(t, &id, &wb.vals, None)?;
    remember_content_id(ctx, req, t, id);
    if prefer.representation {
        return representation(ctx, req, t, &id, 201, &prefer);
    }
    Ok(ApiResponse::empty(204).with("OData-EntityId", entity_id(ctx.sh, t, &id)))
}

fn remember_content_id(ctx: &mut Ctx<'_>, req: &ApiRequest, t: &Table, id: Uuid) {
    if let Some(cid) = req.header("content-id") {
        ctx.content_ids.insert(format!("${}", cid.trim()), (t.entity_set.clone(), id));
    }
}

/// `If-Match` / `If-None-Match` against the current version (None = missing).
fn check_conditions(req: &ApiRequest, t: &Table, id: &Uuid, current: Option<i64>) -> Result<(), ApiError> {
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
            return Err(ApiError::new(412, "0x80040237", "A record with matching key values already exists."));
        }
    }
    Ok(())
}

fn patch(ctx: &mut Ctx<'_>, req: &ApiRequest, t: &Table, id: Uuid) -> Result<ApiResponse, ApiError> {
    let prefer = parse_prefer(req);
    let mut wb = parse_write_body(ctx, t, &req.body)?;
    if wb.key.is_some_and(|k| k != id) {
        return Err(ApiError::bad_request("0x80060888", "The key in the body does not match the key in the URL."));
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

fn delete(ctx: &mut Ctx<'_>, req: &ApiRequest, t: &Table, id: Uuid) -> Result<ApiResponse, ApiError> {
    let current = ctx.db.row_version(t, &id)?;
    check_conditions(req, t, &id, current)?;
    if current.is_none() || !ctx.db.delete(t, &id)? {
        return Err(not_found_row(t, &id));
    }
    Ok(ApiResponse::empty(204))
}

/// Admin and tests: a row in read shape as a JSON map (all columns).
pub fn row_json(ctx: &Ctx<'_>, t: &Table, id: &Uuid) -> Result<Option<Map<String, J>>, ApiError> {
    let sel: Vec<usize> = (0..t.columns.len()).collect();
    match read_row(ctx, t, id, &sel, false, None)? {
        Some(b) => match serde_json::from_slice(&b) {
            Ok(J::Object(m)) => Ok(Some(m)),
            _ => Ok(None),
        },
        None => Ok(None),
    }
}

pub fn all_rows(ctx: &Ctx<'_>, t: &Table) -> Result<Vec<Map<String, J>>, ApiError> {
    let sel: Vec<usize> = (0..t.columns.len()).collect();
    let sql = format!("SELECT {} FROM {} ORDER BY id", sel_sql(t, &sel), t.sql_name);
    let mut st = ctx.db.conn.prepare_cached(&sql)?;
    let mut rows = st.query([])?;
    let mut out = Vec::new();
    let plan = RowPlan::new(t, &sel, false);
    while let Some(row) = rows.next()? {
        let mut buf = Vec::with_capacity(512);
        write_row(&mut buf, &plan, row, None)?;
        if let Ok(J::Object(m)) = serde_json::from_slice(&buf) {
            out.push(m);
        }
    }
    Ok(out)
}

/// Admin writes: create (returns the id) or update as `user`.
pub fn admin_write(ctx: &mut Ctx<'_>, t: &Table, id: Option<Uuid>, values: &J) -> Result<Uuid, ApiError> {
    let J::Object(obj) = values else {
        return Err(ApiError::bad_request("0x80060888", "values must be a JSON object"));
    };
    let mut wb = parse_write_map(ctx, t, obj)?;
    match id {
        None => {
            let id = wb.key.unwrap_or_else(Uuid::new_v4);
            if ctx.db.row_version(t, &id)?.is_some() {
                return Err(ApiError::new(412, "0x80040237", "A record with matching key values already exists."));
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

pub fn admin_delete(ctx: &mut Ctx<'_>, t: &Table, id: &Uuid) -> Result<(), ApiError> {
    if !ctx.db.delete(t, id)? {
        return Err(not_found_row(t, id));
    }
    Ok(())
}
