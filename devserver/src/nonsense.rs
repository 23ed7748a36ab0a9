//! Fault injection of answers that are not the protocol: a 200 carrying a
//! captive portal's HTML, a JSON body cut short (but complete as HTTP), the
//! right JSON under the wrong content type, a page repeating a row, a page
//! whose `@odata.context` names another table, or bytes that are not JSON.
//! Applied to successful collection and delta reads (`GET <set>`) only, so
//! the probe (`WhoAmI`), metadata and writes stay sane while pages lie.

use serde_json::Value as J;

use crate::api::ApiResponse;

/// What the next entity reads answer instead of their page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nonsense {
    /// 200, `text/html`, a captive portal's sign-in page.
    Html,
    /// 200, JSON content type, the body cut in the middle (the HTTP response
    /// itself is complete: `Content-Length` matches what is sent).
    Truncated,
    /// 200, the real JSON page, but `Content-Type: text/plain`.
    WrongContentType,
    /// 200, the page with its first row repeated at the end.
    DuplicateRows,
    /// 200, the page with `@odata.context` naming another entity set.
    WrongContext,
    /// 200, JSON content type, a body that is not JSON.
    Garbage,
    /// 200, `Content-Encoding: gzip`, the compressed page cut in the middle
    /// (complete as HTTP: a proxy that lost the end of the stream).
    TruncatedGzip,
    /// 200, the real page labelled `Content-Encoding: br`, which no client
    /// of this emulator asks for.
    UnaskedEncoding,
}

impl Nonsense {
    /// The admin API's names: `html`, `truncated`, `wrong_content_type`,
    /// `duplicate_rows`, `wrong_context`, `garbage`, `truncated_gzip`,
    /// `unasked_encoding`.
    pub fn from_name(s: &str) -> Option<Nonsense> {
        Some(match s {
            "html" => Nonsense::Html,
            "truncated" => Nonsense::Truncated,
            "wrong_content_type" => Nonsense::WrongContentType,
            "duplicate_rows" => Nonsense::DuplicateRows,
            "wrong_context" => Nonsense::WrongContext,
            "garbage" => Nonsense::Garbage,
            "truncated_gzip" => Nonsense::TruncatedGzip,
            "unasked_encoding" => Nonsense::UnaskedEncoding,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Nonsense::Html => "html",
            Nonsense::Truncated => "truncated",
            Nonsense::WrongContentType => "wrong_content_type",
            Nonsense::DuplicateRows => "duplicate_rows",
            Nonsense::WrongContext => "wrong_context",
            Nonsense::Garbage => "garbage",
            Nonsense::TruncatedGzip => "truncated_gzip",
            Nonsense::UnaskedEncoding => "unasked_encoding",
        }
    }
}

pub(crate) const PORTAL_HTML: &str = "<!DOCTYPE html>\n<html><head><title>Guest Wi-Fi</title></head>\n<body><h1>Welcome</h1><p>Please accept the terms of use to continue.</p>\n<form method=\"post\" action=\"/login\"><button>Accept</button></form></body></html>\n";

fn set_content_type(r: &mut ApiResponse, ct: &str) {
    r.headers
        .retain(|(k, _)| !k.eq_ignore_ascii_case("content-type"));
    r.headers.push(("Content-Type".into(), ct.into()));
}

/// Rewrites a successful page the way `kind` says.
pub(crate) fn apply(kind: Nonsense, mut r: ApiResponse) -> ApiResponse {
    match kind {
        Nonsense::Html => {
            r.headers.clear();
            r.headers
                .push(("Content-Type".into(), "text/html; charset=utf-8".into()));
            r.body = PORTAL_HTML.as_bytes().to_vec();
        }
        Nonsense::Truncated => {
            let cut = (r.body.len() / 2).max(1).min(r.body.len());
            r.body.truncate(cut);
        }
        Nonsense::WrongContentType => set_content_type(&mut r, "text/plain; charset=utf-8"),
        Nonsense::TruncatedGzip => {
            use std::io::Write;
            let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            let gz = z.write_all(&r.body).and_then(|()| z.finish());
            if let Ok(mut gz) = gz {
                gz.truncate((gz.len() / 2).max(1));
                r.body = gz;
                r.headers.push(("Content-Encoding".into(), "gzip".into()));
            }
        }
        Nonsense::UnaskedEncoding => {
            r.headers.push(("Content-Encoding".into(), "br".into()));
        }
        Nonsense::Garbage => {
            r.body = b"{\"value\":[{\"@odata.etag\":]]}\x00\xff garbage".to_vec();
        }
        Nonsense::DuplicateRows | Nonsense::WrongContext => {
            if let Ok(J::Object(mut page)) = serde_json::from_slice::<J>(&r.body) {
                if kind == Nonsense::DuplicateRows {
                    if let Some(J::Array(rows)) = page.get_mut("value") {
                        if let Some(first) = rows.first().cloned() {
                            rows.push(first);
                        }
                    }
                } else {
                    let ctx = page
                        .get("@odata.context")
                        .and_then(J::as_str)
                        .unwrap_or("$metadata#x")
                        .to_string();
                    let base = ctx.split('#').next().unwrap_or("");
                    page.insert(
                        "@odata.context".into(),
                        J::String(format!("{base}#someothertables(name)")),
                    );
                }
                if let Ok(b) = serde_json::to_vec(&J::Object(page)) {
                    r.body = b;
                }
            }
        }
    }
    r
}
