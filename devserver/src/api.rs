//! The request handler: one function from an internal `ApiRequest` to an
//! `ApiResponse`, used for top-level requests and for every part of a
//! `$batch`. It runs with the database locked, so a change set can wrap
//! several calls in one savepoint. Reading lives in `read`, writing in `write`.

use std::collections::HashMap;

use serde_json::{Value as J, json};
use uuid::Uuid;

use crate::schema::Table;
use crate::store::Db;
use crate::{Shared, User, read, write};

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
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn all_headers(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
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
    pub(crate) fn json(status: u16, body: Vec<u8>) -> ApiResponse {
        ApiResponse {
            status,
            headers: vec![
                (
                    "Content-Type".into(),
                    "application/json; odata.metadata=minimal".into(),
                ),
                ("OData-Version".into(), "4.0".into()),
            ],
            body,
            cut_at: None,
        }
    }
    pub(crate) fn empty(status: u16) -> ApiResponse {
        ApiResponse {
            status,
            headers: vec![("OData-Version".into(), "4.0".into())],
            body: vec![],
            cut_at: None,
        }
    }
    pub(crate) fn with(mut self, name: &str, value: impl Into<String>) -> ApiResponse {
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
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
            headers: vec![],
        }
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
        ApiError::new(
            500,
            "0x80040216",
            format!("An unexpected error occurred: {e}"),
        )
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> ApiError {
        ApiError::from(crate::Error::from(e))
    }
}

pub(crate) fn not_found_row(t: &Table, id: &Uuid) -> ApiError {
    ApiError::new(
        404,
        "0x80040217",
        format!("{} With Id = {} Does Not Exist", t.logical_name, id),
    )
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

/// Instance annotations asked for with `odata.include-annotations`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Annotations {
    /// `Microsoft.Dynamics.CRM.lookuplogicalname` / `associatednavigationproperty`.
    pub(crate) lookup: bool,
    /// `OData.Community.Display.V1.FormattedValue` (lookup names, state labels).
    pub(crate) formatted: bool,
}

impl Annotations {
    pub(crate) fn any(self) -> bool {
        self.lookup || self.formatted
    }
}

#[derive(Debug, Default)]
pub(crate) struct Prefer {
    pub(crate) maxpagesize: Option<usize>,
    pub(crate) track: bool,
    pub(crate) representation: bool,
    pub(crate) annotations: Annotations,
    pub(crate) annotations_raw: Option<String>,
}

pub(crate) fn parse_prefer(req: &ApiRequest) -> Prefer {
    let mut p = Prefer::default();
    for h in req.all_headers("prefer") {
        for item in h.split(',') {
            let item = item.trim();
            let (k, v) = item
                .split_once('=')
                .map(|(k, v)| (k.trim(), v.trim()))
                .unwrap_or((item, ""));
            match k {
                "odata.maxpagesize" => p.maxpagesize = v.parse().ok(),
                "odata.track-changes" => p.track = true,
                "return" => p.representation = v == "representation",
                "odata.include-annotations" => {
                    for a in v.trim_matches('"').split(',').map(str::trim) {
                        match a {
                            "*" => {
                                p.annotations.lookup = true;
                                p.annotations.formatted = true;
                            }
                            "Microsoft.Dynamics.CRM.*"
                            | "Microsoft.Dynamics.CRM.lookuplogicalname"
                            | "Microsoft.Dynamics.CRM.associatednavigationproperty" => {
                                p.annotations.lookup = true
                            }
                            "OData.Community.Display.V1.*"
                            | "OData.Community.Display.V1.FormattedValue" => {
                                p.annotations.formatted = true
                            }
                            _ => {}
                        }
                    }
                    p.annotations_raw = Some(v.to_string());
                }
                _ => {}
            }
        }
    }
    p
}

/// `name(key)` -> (name, Some(key)).
pub(crate) fn split_segment(seg: &str) -> Result<(&str, Option<&str>), ApiError> {
    match seg.find('(') {
        None => Ok((seg, None)),
        Some(i) => {
            let rest = &seg[i + 1..];
            let key = rest.strip_suffix(')').ok_or_else(|| bad_segment(seg))?;
            Ok((&seg[..i], Some(key)))
        }
    }
}

pub(crate) fn bad_segment(seg: &str) -> ApiError {
    ApiError::new(
        404,
        "0x8006088a",
        format!("Resource not found for the segment '{seg}'."),
    )
}

fn parse_key(t: &Table, key: &str) -> Result<Uuid, ApiError> {
    let k = key
        .strip_prefix(&format!("{}=", t.primary_id))
        .unwrap_or(key);
    Uuid::parse_str(k).map_err(|_| {
        ApiError::bad_request(
            "0x80060888",
            format!(
                "Bad Request - Error in query syntax: '{key}' is not a valid key for {}.",
                t.entity_set
            ),
        )
    })
}

fn route(ctx: &mut Ctx<'_>, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
    let path = req.path.trim_matches('/');
    let segs: Vec<&str> = if path.is_empty() {
        vec![]
    } else {
        path.split('/').collect()
    };
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
        "EntityDefinitions" => {
            return crate::metadata::entity_definitions(ctx, req, key, &segs[1..]);
        }
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
        ("GET", None, None, 1) => read::get_collection(ctx, req, t),
        ("GET", None, Some("$count"), 2) => read::count_collection(ctx, t),
        ("GET", Some(k), None, 1) => read::get_single(ctx, req, t, parse_key(t, k)?),
        ("POST", None, None, 1) => write::create(ctx, req, t),
        ("PATCH", Some(k), None, 1) => write::patch(ctx, req, t, parse_key(t, k)?),
        ("DELETE", Some(k), None, 1) => write::delete(ctx, req, t, parse_key(t, k)?),
        (_, _, Some(s), _) if s != "$count" => Err(bad_segment(s)),
        _ => Err(method_not_allowed(req)),
    }
}

pub(crate) fn method_not_allowed(req: &ApiRequest) -> ApiError {
    ApiError::new(
        405,
        "0x80060888",
        format!(
            "The HTTP method '{}' is not allowed on '{}'.",
            req.method, req.path
        ),
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
    Ok(ApiResponse::json(
        200,
        serde_json::to_vec(&body).unwrap_or_default(),
    ))
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
    Ok(ApiResponse::json(
        200,
        serde_json::to_vec(&body).unwrap_or_default(),
    ))
}
