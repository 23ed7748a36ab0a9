//! Collections: a table's rows with $select/$filter/$orderby/$top/$count,
//! keyset paging with signed skip tokens, and change tracking's first page.

use super::*;

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
    ctx.sh.stats.add_rows(&t.entity_set, served as u64);
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
