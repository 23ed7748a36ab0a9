//! URL codecs, the `$skiptoken` paging cookie and the `$deltatoken`.
//!
//! The skiptoken imitates Dataverse's: an XML `<cookie pagenumber=...
//! pagingcookie="..."/>` whose inner `pagingcookie` is itself URL-encoded
//! (lower-case hex), and the whole is URL-encoded again in the link (upper
//! case). The server checks the inner layer byte for byte, so a client that
//! decodes and re-encodes a link breaks, as it would against Dataverse.

use std::fmt::Write;

use crate::api::ApiError;

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

pub fn pct_encode(s: &str, upper: bool, keep: &[u8]) -> String {
    let mut o = String::with_capacity(s.len() * 2);
    for &b in s.as_bytes() {
        if is_unreserved(b) || keep.contains(&b) {
            o.push(b as char);
        } else if upper {
            let _ = write!(o, "%{b:02X}");
        } else {
            let _ = write!(o, "%{b:02x}");
        }
    }
    o
}

/// Percent-decodes; `plus_space` turns `+` into a space (query strings).
pub fn pct_decode(s: &str, plus_space: bool) -> Result<String, ApiError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => out.push(v),
                    None => {
                        return Err(ApiError::bad_request(
                            "0x80060888",
                            "The URL contains an invalid percent-encoding.",
                        ));
                    }
                }
                i += 3;
            }
            b'+' if plus_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| {
        ApiError::bad_request("0x80060888", "The URL is not valid UTF-8 after decoding.")
    })
}

/// One query option: decoded name and value, plus the raw `name=value` text
/// (links are rebuilt from raw text so nothing gets re-encoded).
#[derive(Debug, Clone)]
pub struct QueryParam {
    pub name: String,
    pub value: String,
    pub raw: String,
}

pub fn parse_query(q: &str) -> Result<Vec<QueryParam>, ApiError> {
    let mut out = Vec::new();
    for raw in q.split('&').filter(|p| !p.is_empty()) {
        let (n, v) = raw.split_once('=').unwrap_or((raw, ""));
        out.push(QueryParam {
            name: pct_decode(n, true)?,
            value: pct_decode(v, true)?,
            raw: raw.to_string(),
        });
    }
    Ok(out)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn xml_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// `name="value"` attributes of the first element in `s`.
fn attrs(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(eq) = rest.find("=\"") {
        let name = rest[..eq]
            .rsplit([' ', '<'])
            .next()
            .unwrap_or("")
            .trim()
            .to_string();
        let after = &rest[eq + 2..];
        let Some(end) = after.find('"') else { break };
        out.push((name, xml_unescape(&after[..end])));
        rest = &after[end + 1..];
    }
    out
}

/// Where the next page of a full read starts.
#[derive(Debug, Clone, PartialEq)]
pub struct PageCursor {
    pub page: u32,
    /// Last row's values of the `$orderby` columns (None = null), in order.
    pub sort_values: Vec<(String, Option<String>)>,
    pub last_id: String,
    pub first_id: String,
    /// Tracked read: the version the delta link will start from.
    pub snapshot: Option<i64>,
}

/// Where the next page of a delta starts.
#[derive(Debug, Clone, PartialEq)]
pub struct DeltaCursor {
    pub page: u32,
    pub deletes: bool,
    pub last_version: i64,
    pub upto: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cursor {
    Page(PageCursor),
    Delta(DeltaCursor),
}

fn invalid_token() -> ApiError {
    ApiError::bad_request(
        "0x80040203",
        "The $skiptoken is not valid. Follow @odata.nextLink exactly as it was received, without decoding or re-encoding it.",
    )
}

/// The value of `$skiptoken=` as it appears in a link (already URL-encoded).
/// `key` names the primary key element, as Dataverse's cookie does.
pub fn encode_cursor(c: &Cursor, key: &str) -> String {
    let (inner, page, tracking) = match c {
        Cursor::Page(p) => {
            let mut x = format!("<cookie page=\"{}\"", p.page);
            if let Some(s) = p.snapshot {
                let _ = write!(x, " snapshot=\"{s}\"");
            }
            x.push('>');
            for (name, v) in &p.sort_values {
                match v {
                    Some(v) => {
                        let _ = write!(x, "<{name} last=\"{}\" />", xml_escape(v));
                    }
                    None => {
                        let _ = write!(x, "<{name} isnull=\"1\" />");
                    }
                }
            }
            let _ = write!(
                x,
                "<{key} last=\"{{{}}}\" first=\"{{{}}}\" /></cookie>",
                p.last_id.to_uppercase(),
                p.first_id.to_uppercase()
            );
            (x, p.page, p.snapshot.is_some())
        }
        Cursor::Delta(d) => (
            format!(
                "<cookie page=\"{}\" phase=\"{}\"><versionnumber last=\"{}\" upto=\"{}\" /></cookie>",
                d.page,
                if d.deletes { "deleted" } else { "changed" },
                d.last_version,
                d.upto
            ),
            d.page,
            true,
        ),
    };
    let outer = format!(
        "<cookie pagenumber=\"{}\" pagingcookie=\"{}\" istracking=\"{}\" />",
        page.saturating_add(1),
        pct_encode(&inner, false, &[]),
        if tracking { "True" } else { "False" }
    );
    pct_encode(&outer, true, b"=/")
}

/// Parses a `$skiptoken` value after the query string's own decoding.
pub fn decode_cursor(outer: &str) -> Result<Cursor, ApiError> {
    if !outer.starts_with("<cookie ") {
        return Err(invalid_token());
    }
    let oa = attrs(outer);
    let get = |k: &str| oa.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let inner_enc = get("pagingcookie").ok_or_else(invalid_token)?;
    // The inner layer must be exactly as sent: lower-case escapes, nothing raw.
    let b = inner_enc.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'%' {
            let hex = b.get(i + 1..i + 3).ok_or_else(invalid_token)?;
            if hex.iter().any(|h| h.is_ascii_uppercase()) {
                return Err(invalid_token());
            }
        } else if !is_unreserved(c) {
            return Err(invalid_token());
        }
    }
    let inner = pct_decode(inner_enc, false).map_err(|_| invalid_token())?;
    if !inner.starts_with("<cookie ") || !inner.ends_with("</cookie>") {
        return Err(invalid_token());
    }
    let head_end = inner.find('>').ok_or_else(invalid_token)?;
    let head = attrs(&inner[..head_end]);
    let hget = |k: &str| head.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let page: u32 = hget("page")
        .and_then(|p| p.parse().ok())
        .ok_or_else(invalid_token)?;
    let body = &inner[head_end + 1..inner.len() - "</cookie>".len()];
    let mut elems: Vec<(String, Vec<(String, String)>)> = Vec::new();
    for el in body.split("/>").filter(|e| !e.trim().is_empty()) {
        let el = el.trim().strip_prefix('<').ok_or_else(invalid_token)?;
        let name = el.split(' ').next().unwrap_or("").to_string();
        elems.push((name, attrs(el)));
    }
    if let Some(phase) = hget("phase") {
        let (_, a) = elems.first().ok_or_else(invalid_token)?;
        let num = |k: &str| -> Result<i64, ApiError> {
            a.iter()
                .find(|(n, _)| n == k)
                .and_then(|(_, v)| v.parse().ok())
                .ok_or_else(invalid_token)
        };
        return Ok(Cursor::Delta(DeltaCursor {
            page,
            deletes: phase == "deleted",
            last_version: num("last")?,
            upto: num("upto")?,
        }));
    }
    // The last element is the primary key's (its name is the key column's).
    let (_, ka) = elems.pop().ok_or_else(invalid_token)?;
    let guid = |k: &str| -> Result<String, ApiError> {
        let v = ka
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .ok_or_else(invalid_token)?;
        let v = v.trim_start_matches('{').trim_end_matches('}');
        uuid::Uuid::parse_str(v)
            .map(|u| u.to_string())
            .map_err(|_| invalid_token())
    };
    let mut sort_values = Vec::new();
    for (name, a) in elems {
        let last = a.iter().find(|(n, _)| n == "last").map(|(_, v)| v.clone());
        let isnull = a.iter().any(|(n, v)| n == "isnull" && v == "1");
        if last.is_none() && !isnull {
            return Err(invalid_token());
        }
        sort_values.push((name, last));
    }
    Ok(Cursor::Page(PageCursor {
        page,
        sort_values,
        last_id: guid("last")?,
        first_id: guid("first")?,
        snapshot: match hget("snapshot") {
            Some(s) => Some(s.parse().map_err(|_| invalid_token())?),
            None => None,
        },
    }))
}

/// A delta token: the version it was issued at, when, and the expiry
/// generation (bumped by the admin "expire delta tokens").
#[derive(Debug, Clone, PartialEq)]
pub struct DeltaToken {
    pub version: i64,
    pub issued_unix: i64,
    pub generation: u64,
}

/// Dataverse's tokens look like `919042!08/22/2017 08:10:44`; ours add the
/// generation. Returned URL-encoded for a link.
pub fn encode_delta_token(t: &DeltaToken) -> String {
    let when = time::OffsetDateTime::from_unix_timestamp(t.issued_unix)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let s = format!(
        "{}!{:02}/{:02}/{:04} {:02}:{:02}:{:02}!{}",
        t.version,
        u8::from(when.month()),
        when.day(),
        when.year(),
        when.hour(),
        when.minute(),
        when.second(),
        t.generation
    );
    pct_encode(&s, true, &[])
}

pub fn decode_delta_token(s: &str) -> Option<DeltaToken> {
    let mut parts = s.split('!');
    let version: i64 = parts.next()?.parse().ok()?;
    let when = parts.next()?;
    let generation: u64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    let fmt = time::macros::format_description!("[month]/[day]/[year] [hour]:[minute]:[second]");
    let dt = time::PrimitiveDateTime::parse(when, &fmt).ok()?;
    Some(DeltaToken {
        version,
        issued_unix: dt.assume_utc().unix_timestamp(),
        generation,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_reencoding() {
        let c = Cursor::Page(PageCursor {
            page: 3,
            sort_values: vec![
                ("name".into(), Some("A \"quoted\" & <odd> name".into())),
                ("revenue".into(), None),
            ],
            last_id: "3f2504e0-4f89-41d3-9a0c-0305e82c3301".into(),
            first_id: "00000000-4f89-41d3-9a0c-0305e82c3301".into(),
            snapshot: Some(42),
        });
        let link = encode_cursor(&c, "accountid");
        assert!(link.contains("%253c"), "{link}");
        let once = pct_decode(&link, true).unwrap();
        assert_eq!(decode_cursor(&once).unwrap(), c);
        // A client that decoded then re-encoded with upper-case hex breaks it.
        let reenc = pct_encode(&once, true, &[]);
        let again = pct_decode(&reenc, true).unwrap();
        assert_eq!(again, once);
        let fully = pct_decode(&once, true).unwrap();
        assert!(decode_cursor(&fully).is_err());
        let upper = once.replace("%3c", "%3C");
        assert!(decode_cursor(&upper).is_err());
    }

    #[test]
    fn delta_token_round_trips() {
        let t = DeltaToken {
            version: 919042,
            issued_unix: 1_700_000_000,
            generation: 2,
        };
        let enc = encode_delta_token(&t);
        let dec = decode_delta_token(&pct_decode(&enc, true).unwrap()).unwrap();
        assert_eq!(dec, t);
    }
}
