//! Reading rows: query options, collections with keyset paging, change
//! tracking deltas, single rows, and the JSON row writer (the hot loop).

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

/// How to write rows of one query: the JSON key bytes are built once per
/// page, not per row (serialization is the emulator's hot loop).
pub(crate) struct RowPlan<'a> {
    t: &'a Table,
    sel: &'a [usize],
    ann: Annotations,
    /// Per selected column: `,"name":` (lookups: `,"_name_value":`).
    keys: Vec<Vec<u8>>,
    /// Per selected lookup column: (`,"_x_value@...lookuplogicalname":`, `,"_x_value@...associatednavigationproperty":`).
    ann_keys: Vec<(Vec<u8>, Vec<u8>)>,
    /// Per selected column: `,"<key>@OData.Community.Display.V1.FormattedValue":`.
    fmt_keys: Vec<Vec<u8>>,
    key_key: Vec<u8>,
}

pub(crate) fn json_key(name: &str) -> Vec<u8> {
    let mut k = vec![b','];
    write_json_str(&mut k, name);
    k.push(b':');
    k
}

impl<'a> RowPlan<'a> {
    pub(crate) fn new(t: &'a Table, sel: &'a [usize], ann: Annotations) -> RowPlan<'a> {
        let mut keys = Vec::with_capacity(sel.len());
        let mut ann_keys = Vec::with_capacity(sel.len());
        let mut fmt_keys = Vec::with_capacity(sel.len());
        for &ci in sel {
            let c = &t.columns[ci];
            let name = if c.ty.is_lookup() {
                format!("_{}_value", c.name)
            } else {
                c.name.clone()
            };
            keys.push(json_key(&name));
            fmt_keys.push(json_key(&format!(
                "{name}@OData.Community.Display.V1.FormattedValue"
            )));
            if c.ty.is_lookup() {
                ann_keys.push((
                    json_key(&format!("{name}@Microsoft.Dynamics.CRM.lookuplogicalname")),
                    json_key(&format!(
                        "{name}@Microsoft.Dynamics.CRM.associatednavigationproperty"
                    )),
                ));
            } else {
                ann_keys.push((vec![], vec![]));
            }
        }
        RowPlan {
            t,
            sel,
            ann,
            keys,
            ann_keys,
            fmt_keys,
            key_key: json_key(&t.primary_id),
        }
    }
}

/// Writes one row object in Web API read shape.
pub(crate) fn write_row(
    buf: &mut Vec<u8>,
    plan: &RowPlan<'_>,
    row: &rusqlite::Row<'_>,
    context: Option<&str>,
) -> Result<(), rusqlite::Error> {
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
            let present = !matches!(v, ValueRef::Null);
            if plan.ann.formatted && present {
                if let ValueRef::Text(name) = row.get_ref(idx + 2)? {
                    buf.extend_from_slice(&plan.fmt_keys[k]);
                    crate::store::write_json_bytes(buf, name);
                }
            }
            if plan.ann.lookup && present {
                if let ValueRef::Text(ty) = row.get_ref(idx + 1)? {
                    let ty = String::from_utf8_lossy(ty);
                    buf.extend_from_slice(&plan.ann_keys[k].1);
                    if let Some(tg) = c.targets.iter().find(|tg| tg.entity == ty) {
                        write_json_str(buf, &tg.navigation);
                    } else {
                        buf.extend_from_slice(b"null");
                    }
                    buf.extend_from_slice(&plan.ann_keys[k].0);
                    write_json_str(buf, &ty);
                }
            }
            idx += if plan.ann.formatted { 3 } else { 2 };
        } else {
            let v = row.get_ref(idx)?;
            write_json_value(buf, c.ty, v);
            if plan.ann.formatted && c.ty == AttrType::State {
                if let ValueRef::Integer(s) = v {
                    buf.extend_from_slice(&plan.fmt_keys[k]);
                    // The labels of the sample tables' statecode options.
                    write_json_str(
                        buf,
                        match s {
                            0 => "Active",
                            1 => "Inactive",
                            _ => "Other",
                        },
                    );
                }
            }
            idx += 1;
        }
    }
    buf.extend_from_slice(&plan.key_key);
    write_json_value(buf, AttrType::Uniqueidentifier, row.get_ref(0)?);
    buf.push(b'}');
    Ok(())
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

pub(crate) fn get_collection(
    ctx: &mut Ctx<'_>,
    req: &ApiRequest,
    t: &Table,
) -> Result<ApiResponse, ApiError> {
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
        if pc.sort_values.len() != order.len()
            || pc
                .sort_values
                .iter()
                .zip(&order)
                .any(|((n, _), o)| n != &o.3)
        {
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
                        (
                            format!("({col} < ?{n} OR {col} IS NULL)"),
                            format!("{col} = ?{n}"),
                        )
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
    let snapshot = if tracking {
        Some(
            pc.as_ref()
                .and_then(|p| p.snapshot)
                .unwrap_or(ctx.db.version),
        )
    } else {
        None
    };
    let mut sql = format!(
        "SELECT {}",
        sel_sql(&ctx.sh.schema, t, &sel, prefer.annotations.formatted)
    );
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
        sql.push_str(&format!(
            "{} {}, ",
            filter::prop_sql(t, *p),
            if *d { "DESC" } else { "ASC" }
        ));
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
        let n: i64 = ctx
            .db
            .conn
            .prepare_cached(&csql)?
            .query_row(rusqlite::params_from_iter(count_params.iter()), |r| {
                r.get(0)
            })?;
        // Dataverse caps the count at 5000.
        buf.extend_from_slice(format!(",\"@odata.count\":{}", n.min(MAX_PAGE as i64)).as_bytes());
        if n > MAX_PAGE as i64 {
            buf.extend_from_slice(
                b",\"@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded\":true",
            );
        }
    }
    buf.extend_from_slice(b",\"value\":[");
    let truncate = take_truncation(ctx);
    let mut cut_at = None;
    let width = sql_width(t, &sel, prefer.annotations.formatted);
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
            let next = link(
                ctx.sh,
                t,
                &q,
                &["$select", "$filter", "$orderby", "$count"],
                &format!("$skiptoken={}", cookie::encode_cursor(&c, &t.primary_id)),
            );
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

pub(crate) fn cookie_mismatch() -> ApiError {
    ApiError::bad_request(
        "0x80040203",
        "The $skiptoken does not belong to this query.",
    )
}

pub(crate) fn issue_token(ctx: &Ctx<'_>, version: i64) -> String {
    cookie::encode_delta_token(&DeltaToken {
        version,
        issued_unix: time::OffsetDateTime::now_utc().unix_timestamp(),
        generation: ctx
            .sh
            .faults
            .token_generation
            .load(std::sync::atomic::Ordering::SeqCst),
    })
}

/// Dataverse refuses these options together with change tracking.
pub(crate) fn refuse_with_tracking(q: &Query) -> Result<(), ApiError> {
    for (name, present) in [
        ("$filter", q.filter.is_some()),
        ("$orderby", q.orderby.is_some()),
        ("$expand", q.expand.is_some()),
        ("$top", q.top.is_some()),
    ] {
        if present {
            return Err(ApiError::bad_request(
                "0x80060888",
                format!(
                    "The \"{name}\" query parameter isn't supported when Change Tracking is enabled."
                ),
            ));
        }
    }
    Ok(())
}

pub(crate) fn expired() -> ApiError {
    ApiError::bad_request(
        "0x80044352",
        "Version stamp associated with the client has expired. Please perform a full sync.",
    )
}

pub(crate) fn get_delta(
    ctx: &mut Ctx<'_>,
    q: &Query,
    prefer: &Prefer,
    t: &Table,
    token: &str,
    dc: Option<DeltaCursor>,
) -> Result<ApiResponse, ApiError> {
    let tok = cookie::decode_delta_token(token).ok_or_else(|| {
        ApiError::bad_request(
            "0x80044352",
            "The $deltatoken is not valid. Please perform a full sync.",
        )
    })?;
    let generation = ctx
        .sh
        .faults
        .token_generation
        .load(std::sync::atomic::Ordering::SeqCst);
    let age = time::OffsetDateTime::now_utc().unix_timestamp() - tok.issued_unix;
    if tok.generation != generation
        || age > ctx.sh.delta_retention.as_secs() as i64
        || tok.version > ctx.db.version
    {
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
            sel_sql(&ctx.sh.schema, t, &sel, prefer.annotations.formatted),
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
            next = Some(DeltaCursor {
                page,
                deletes: false,
                last_version: v,
                upto,
            });
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
        let mut rows = st.query(rusqlite::params![
            t.entity_set,
            after,
            upto,
            (room + 1) as i64
        ])?;
        let deleted_ctx = format!(
            "{}$metadata#{}/$deletedEntity",
            ctx.sh.base_url, t.entity_set
        );
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
            next = Some(DeltaCursor {
                page,
                deletes: true,
                last_version: v,
                upto,
            });
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
    let raw_token = q
        .params
        .iter()
        .find(|p| p.name == "$deltatoken")
        .map(|p| p.raw.clone())
        .unwrap_or_default();
    match next {
        Some(c) => {
            let nl = link(
                ctx.sh,
                t,
                q,
                &["$select"],
                &format!(
                    "{raw_token}&$skiptoken={}",
                    cookie::encode_cursor(&Cursor::Delta(c), &t.primary_id)
                ),
            );
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
    ctx.sh.stats.add_rows(1);
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
