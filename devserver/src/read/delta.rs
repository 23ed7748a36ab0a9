//! Change tracking: delta tokens issued and refused, and the delta pages
//! of rows changed and deleted since a token's version.

use super::*;

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
    ctx.sh.stats.add_rows(&t.entity_set, served as u64);
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
