//! The `$batch` wire format, written from the documented multipart/mixed
//! shape (Dataverse "Execute batch operations"): one change set per call,
//! each part an `application/http` request; the response parsed per part,
//! tolerant of header case and order, CRLF or bare LF, nested change-set
//! responses or a single failure response in their place.

/// One request of a change set.
pub(super) struct PartRequest {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

/// One response part: status, headers (names lowercased), body.
#[derive(Debug, Clone)]
pub(crate) struct PartResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl PartResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The body and its Content-Type for `POST $batch`: one change set holding
/// `parts` in order (Content-ID 1..n).
pub(super) fn build(parts: &[PartRequest]) -> (String, String) {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let batch = format!("batch_{id}");
    let changeset = format!("changeset_{id}");
    let mut b = String::new();
    b.push_str(&format!(
        "--{batch}\r\nContent-Type: multipart/mixed; boundary={changeset}\r\n\r\n"
    ));
    for (i, p) in parts.iter().enumerate() {
        b.push_str(&format!("--{changeset}\r\n"));
        b.push_str("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n");
        b.push_str(&format!("Content-ID: {}\r\n\r\n", i + 1));
        b.push_str(&format!("{} {} HTTP/1.1\r\n", p.method, p.url));
        for (k, v) in &p.headers {
            b.push_str(&format!("{k}: {v}\r\n"));
        }
        match &p.body {
            Some(body) => {
                b.push_str("Content-Type: application/json; type=entry\r\n\r\n");
                b.push_str(body);
                b.push_str("\r\n");
            }
            None => b.push_str("\r\n"),
        }
    }
    b.push_str(&format!("--{changeset}--\r\n"));
    b.push_str(&format!("--{batch}--\r\n"));
    (format!("multipart/mixed; boundary={batch}"), b)
}

/// `boundary=` of a multipart Content-Type (quoted or not).
pub(super) fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').map(str::trim).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// Splits at the first blank line (CRLF CRLF or LF LF).
fn split_head(b: &[u8]) -> (&[u8], &[u8]) {
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\n' {
            let rest = &b[i + 1..];
            if rest.starts_with(b"\r\n") {
                return (&b[..i], &rest[2..]);
            }
            if rest.starts_with(b"\n") {
                return (&b[..i], &rest[1..]);
            }
        }
        i += 1;
    }
    (b, &[])
}

fn headers(head: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(head)
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.trim().to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect()
}

/// The parts between `--boundary` delimiters, without the delimiters' line
/// endings.
fn parts<'a>(body: &'a [u8], boundary: &str) -> Vec<&'a [u8]> {
    let delim = format!("--{boundary}");
    let d = delim.as_bytes();
    let mut starts = Vec::new();
    let mut i = 0;
    while i + d.len() <= body.len() {
        // A delimiter starts a line.
        if &body[i..i + d.len()] == d && (i == 0 || body[i - 1] == b'\n') {
            starts.push(i);
            i += d.len();
        } else {
            i += 1;
        }
    }
    let mut out = Vec::new();
    for w in 0..starts.len() {
        let s = starts[w] + d.len();
        if body[s..].starts_with(b"--") {
            break; // the close delimiter
        }
        let end = starts.get(w + 1).copied().unwrap_or(body.len());
        let mut part = &body[s..end];
        // Skip the rest of the delimiter line, trim the CRLF before the next.
        if let Some(nl) = part.iter().position(|&c| c == b'\n') {
            part = &part[nl + 1..];
        }
        if part.ends_with(b"\r\n") {
            part = &part[..part.len() - 2];
        } else if part.ends_with(b"\n") {
            part = &part[..part.len() - 1];
        }
        out.push(part);
    }
    out
}

/// An `application/http` part: `HTTP/1.1 200 OK`, headers, body.
fn http_part(b: &[u8]) -> Option<PartResponse> {
    let (head, body) = split_head(b);
    let text = String::from_utf8_lossy(head);
    let mut lines = text.lines();
    let status_line = lines.find(|l| !l.trim().is_empty())?;
    let status: u16 = status_line.split_whitespace().nth(1)?.parse().ok()?;
    let hs = lines
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.trim().to_ascii_lowercase(), v.trim().to_string()))
        })
        .collect();
    Some(PartResponse {
        status,
        headers: hs,
        body: body.to_vec(),
    })
}

/// Every response in the batch, in order, change-set responses flattened.
/// None when the body is not a multipart response at all.
pub(crate) fn parse(body: &[u8], content_type: &str) -> Option<Vec<PartResponse>> {
    let b = boundary(content_type)?;
    let mut out = Vec::new();
    for part in parts(body, &b) {
        let (head, inner) = split_head(part);
        let hs = headers(head);
        let ct = hs
            .iter()
            .find(|(k, _)| k == "content-type")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        if ct.to_ascii_lowercase().starts_with("multipart/mixed") {
            let nb = boundary(ct)?;
            for p in parts(inner, &nb) {
                let (_h, http) = split_head(p);
                out.push(http_part(http)?);
            }
        } else {
            out.push(http_part(inner)?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_crlf_and_lf_and_any_header_case() {
        let crlf = "--batchresponse_1\r\ncontent-type: Multipart/Mixed; Boundary=\"changesetresponse_2\"\r\n\r\n--changesetresponse_2\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 1\r\n\r\nHTTP/1.1 204 No Content\r\nOData-EntityId: x\r\n\r\n\r\n--changesetresponse_2\r\nCONTENT-TYPE: application/http\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"a\":1}\r\n--changesetresponse_2--\r\n--batchresponse_1--\r\n";
        for text in [crlf.to_string(), crlf.replace("\r\n", "\n")] {
            let r = parse(text.as_bytes(), "multipart/mixed; boundary=batchresponse_1").unwrap();
            assert_eq!(r.len(), 2);
            assert_eq!(r[0].status, 204);
            assert_eq!(r[0].header("odata-entityid"), Some("x"));
            assert_eq!(r[1].status, 200);
            assert_eq!(r[1].body, b"{\"a\":1}");
        }
    }

    #[test]
    fn a_failed_change_set_is_one_plain_part() {
        let text = "--b\nContent-Type: application/http\n\nHTTP/1.1 400 Bad Request\nContent-Type: application/json\n\n{\"error\":{\"code\":\"\",\"message\":\"no\"}}\n--b--\n";
        let r = parse(text.as_bytes(), "multipart/mixed;boundary=b").unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].status, 400);
    }

    #[test]
    fn builds_one_change_set() {
        let (ct, body) = build(&[PartRequest {
            method: "DELETE",
            url: "http://x/a(1)".into(),
            headers: vec![],
            body: None,
        }]);
        let b = boundary(&ct).unwrap();
        assert!(body.starts_with(&format!(
            "--{b}\r\nContent-Type: multipart/mixed; boundary=changeset_"
        )));
        assert!(body.contains("DELETE http://x/a(1) HTTP/1.1\r\n"));
        assert!(body.ends_with(&format!("--{b}--\r\n")));
    }
}
