//! `$batch`: multipart/mixed in, multipart/mixed out. Each part runs through
//! the same handler as a top-level request; a change set is one SQLite
//! savepoint, rolled back when any of its requests fails.
//!
//! The multipart parser is hand-written: no maintained crate parses OData
//! batch bodies (nested change sets holding raw HTTP requests), and the
//! format is small.

use crate::api::{self, ApiError, ApiRequest, ApiResponse, Ctx};

pub const MAX_BATCH: usize = 1000;

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::bad_request("0x80060888", msg)
}

/// `multipart/mixed;boundary=batch_X` -> `batch_X`.
fn boundary_of(content_type: &str) -> Option<String> {
    if !content_type
        .trim()
        .to_ascii_lowercase()
        .starts_with("multipart/mixed")
    {
        return None;
    }
    content_type.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        (k.trim().eq_ignore_ascii_case("boundary")).then(|| v.trim().trim_matches('"').to_string())
    })
}

/// The parts between `--boundary` lines.
fn split_parts<'a>(body: &'a str, boundary: &str) -> Result<Vec<&'a str>, ApiError> {
    let delim = format!("--{boundary}");
    let mut starts = Vec::new();
    let mut search = 0;
    while let Some(i) = body[search..].find(&delim) {
        let at = search + i;
        if at == 0 || body.as_bytes()[at - 1] == b'\n' {
            starts.push(at);
        }
        search = at + delim.len();
    }
    if starts.is_empty() {
        return Err(bad(format!(
            "The batch body has no part delimited by '--{boundary}'."
        )));
    }
    let mut parts = Vec::new();
    for (n, &s) in starts.iter().enumerate() {
        let after = s + delim.len();
        if body[after..].starts_with("--") {
            return Ok(parts);
        }
        let content_start = match body[after..].find('\n') {
            Some(i) => after + i + 1,
            None => return Err(bad("The batch body ends inside a delimiter line.")),
        };
        let end = match starts.get(n + 1) {
            Some(&e) => e,
            None => {
                return Err(bad(format!(
                    "The batch body is missing its closing '--{boundary}--'."
                )));
            }
        };
        let part = &body[content_start.min(end)..end];
        let part = part.strip_suffix('\n').unwrap_or(part);
        let part = part.strip_suffix('\r').unwrap_or(part);
        parts.push(part);
    }
    Err(bad(format!(
        "The batch body is missing its closing '--{boundary}--'."
    )))
}

/// Splits MIME/HTTP headers from the rest at the first blank line.
fn split_head(s: &str) -> (Vec<(String, String)>, &str) {
    let (head, rest) = if let Some(i) = s.find("\r\n\r\n") {
        (&s[..i], &s[i + 4..])
    } else if let Some(i) = s.find("\n\n") {
        (&s[..i], &s[i + 2..])
    } else {
        (s, "")
    };
    let headers = head
        .lines()
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect();
    (headers, rest)
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

enum Item {
    Request(ApiRequest, Option<String>),
    ChangeSet(Vec<(ApiRequest, Option<String>)>),
}

/// Parses one `application/http` part into a request.
fn parse_http(
    ctx: &Ctx<'_>,
    mime: &[(String, String)],
    rest: &str,
) -> Result<(ApiRequest, Option<String>), ApiError> {
    let content_id = header(mime, "content-id").map(str::to_string);
    let (line, after) = match rest.find('\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, ""),
    };
    let mut words = line.split_whitespace();
    let (Some(method), Some(url)) = (words.next(), words.next()) else {
        return Err(bad(format!(
            "Invalid request line in batch part: '{}'.",
            line.trim()
        )));
    };
    if !matches!(method, "GET" | "POST" | "PATCH" | "PUT" | "DELETE") {
        return Err(bad(format!(
            "Invalid HTTP method '{method}' in batch part."
        )));
    }
    let (headers, body) = split_head(after);
    // Absolute, rooted or relative URL -> path relative to the base URL.
    let mut u = url;
    if let Some(i) = u.find("://") {
        u = &u[i + 3..];
        u = u.find('/').map(|j| &u[j..]).unwrap_or("/");
    }
    let u = u
        .strip_prefix("/api/data/v9.2/")
        .or_else(|| u.strip_prefix("/api/data/v9.2"))
        .unwrap_or(u)
        .trim_start_matches('/');
    let (path, query) = u.split_once('?').unwrap_or((u, ""));
    let mut path = crate::cookie::pct_decode(path, false)?;
    if let Some(r) = path.strip_prefix('$') {
        let (id, tail) = r
            .split_once('/')
            .map(|(a, b)| (a, format!("/{b}")))
            .unwrap_or((r, String::new()));
        if let Some((set, key)) = ctx.content_ids.get(&format!("${id}")) {
            path = format!("{set}({key}){tail}");
        }
    }
    let mut headers = headers;
    if let Some(cid) = &content_id {
        headers.push(("content-id".into(), cid.clone()));
    }
    let body = body
        .strip_suffix("\r\n")
        .or_else(|| body.strip_suffix('\n'))
        .unwrap_or(body);
    Ok((
        ApiRequest {
            method: method.to_string(),
            path,
            raw_query: query.to_string(),
            headers,
            body: body.as_bytes().to_vec(),
        },
        content_id,
    ))
}

/// (MIME headers, content, boundary of a nested change set).
type RawPart = (Vec<(String, String)>, String, Option<String>);

fn parse_items(body: &str, boundary: &str) -> Result<Vec<RawPart>, ApiError> {
    let mut out = Vec::new();
    for part in split_parts(body, boundary)? {
        let (mime, rest) = split_head(part);
        let ct = header(&mime, "content-type").unwrap_or("");
        let nested = boundary_of(ct);
        if nested.is_none() && !ct.to_ascii_lowercase().starts_with("application/http") {
            return Err(bad(format!(
                "A batch part must be application/http or multipart/mixed, not '{ct}'."
            )));
        }
        out.push((mime, rest.to_string(), nested));
    }
    Ok(out)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        412 => "Precondition Failed",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

fn write_part(out: &mut Vec<u8>, boundary: &str, r: &ApiResponse, content_id: Option<&str>) {
    out.extend_from_slice(format!("--{boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n").as_bytes());
    if let Some(c) = content_id {
        out.extend_from_slice(format!("Content-ID: {c}\r\n").as_bytes());
    }
    out.extend_from_slice(format!("\r\nHTTP/1.1 {} {}\r\n", r.status, reason(r.status)).as_bytes());
    for (k, v) in &r.headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&r.body);
    out.extend_from_slice(b"\r\n");
}

pub fn run(ctx: &mut Ctx<'_>, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
    ctx.sh
        .stats
        .batch_requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let ct = req.header("content-type").unwrap_or("");
    let boundary = boundary_of(ct)
        .ok_or_else(|| bad("A $batch request needs Content-Type: multipart/mixed;boundary=..."))?;
    let body =
        std::str::from_utf8(&req.body).map_err(|_| bad("The batch body is not valid UTF-8."))?;
    let continue_on_error = req
        .headers
        .iter()
        .any(|(k, v)| k == "prefer" && v.split(',').any(|p| p.trim() == "odata.continue-on-error"));
    // Parse everything first: a malformed batch runs nothing.
    let mut items = Vec::new();
    let mut total = 0usize;
    for (mime, content, nested) in parse_items(body, &boundary)? {
        match nested {
            None => {
                let (mime2, rest) = (mime, content);
                let (r, cid) = parse_http(ctx, &mime2, &rest)?;
                items.push(Item::Request(r, cid));
                total += 1;
            }
            Some(cs_boundary) => {
                let mut reqs = Vec::new();
                for (m, c, n) in parse_items(&content, &cs_boundary)? {
                    if n.is_some() {
                        return Err(bad("Change sets cannot be nested."));
                    }
                    // Parsed later (after earlier Content-IDs exist); keep raw text for now.
                    reqs.push((
                        ApiRequest {
                            method: String::new(),
                            path: c,
                            raw_query: String::new(),
                            headers: m,
                            body: vec![],
                        },
                        None,
                    ));
                    total += 1;
                }
                items.push(Item::ChangeSet(reqs));
            }
        }
        if total > MAX_BATCH {
            return Err(bad(format!(
                "The batch holds more than {MAX_BATCH} requests, the maximum Dataverse allows."
            )));
        }
    }
    let outer = format!("batchresponse_{}", uuid::Uuid::new_v4());
    let mut out = Vec::new();
    for item in items {
        match item {
            Item::Request(r, cid) => {
                if r.path.trim_matches('/') == "$batch" {
                    let resp = bad("A batch cannot contain another $batch.").into_response();
                    write_part(&mut out, &outer, &resp, cid.as_deref());
                    if !continue_on_error {
                        break;
                    }
                    continue;
                }
                let resp = api::handle(ctx, &r);
                let failed = resp.status >= 400;
                let mut resp = resp;
                resp.cut_at = None;
                write_part(&mut out, &outer, &resp, cid.as_deref());
                if failed && !continue_on_error {
                    break;
                }
            }
            Item::ChangeSet(raw) => {
                let (ok, parts) = run_change_set(ctx, raw)?;
                if ok {
                    let inner = format!("changesetresponse_{}", uuid::Uuid::new_v4());
                    out.extend_from_slice(
                        format!(
                            "--{outer}\r\nContent-Type: multipart/mixed; boundary={inner}\r\n\r\n"
                        )
                        .as_bytes(),
                    );
                    for (resp, cid) in &parts {
                        write_part(&mut out, &inner, resp, cid.as_deref());
                    }
                    out.extend_from_slice(format!("--{inner}--\r\n").as_bytes());
                } else {
                    // A failed change set answers with the one failing response.
                    if let Some((resp, cid)) = parts.last() {
                        write_part(&mut out, &outer, resp, cid.as_deref());
                    }
                    if !continue_on_error {
                        break;
                    }
                }
            }
        }
    }
    out.extend_from_slice(format!("--{outer}--\r\n").as_bytes());
    Ok(ApiResponse {
        status: 200,
        headers: vec![
            (
                "Content-Type".into(),
                format!("multipart/mixed; boundary={outer}"),
            ),
            ("OData-Version".into(), "4.0".into()),
        ],
        body: out,
        cut_at: None,
    })
}

type Parts = Vec<(ApiResponse, Option<String>)>;

fn run_change_set(
    ctx: &mut Ctx<'_>,
    raw: Vec<(ApiRequest, Option<String>)>,
) -> Result<(bool, Parts), ApiError> {
    ctx.content_ids.clear();
    ctx.db.conn.execute_batch("SAVEPOINT changeset")?;
    let mut parts = Vec::new();
    let mut ok = true;
    for (r, _) in raw {
        let parsed = parse_http(ctx, &r.headers, &r.path);
        let (req, cid) = match parsed {
            Ok(x) => x,
            Err(e) => {
                parts.push((e.into_response(), None));
                ok = false;
                break;
            }
        };
        if req.method == "GET" {
            parts.push((
                bad("GET requests are not allowed inside a change set.").into_response(),
                cid,
            ));
            ok = false;
            break;
        }
        let mut resp = api::handle(ctx, &req);
        resp.cut_at = None;
        let failed = resp.status >= 400;
        parts.push((resp, cid));
        if failed {
            ok = false;
            break;
        }
    }
    if ok {
        ctx.db.conn.execute_batch("RELEASE changeset")?;
    } else {
        ctx.db
            .conn
            .execute_batch("ROLLBACK TO changeset; RELEASE changeset")?;
    }
    ctx.content_ids.clear();
    Ok((ok, parts))
}
