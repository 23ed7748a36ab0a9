//! Entry points for the fuzz targets (`fuzz/`) and their regression tests
//! (`core/tests/fuzz_regressions.rs`): each feeds arbitrary bytes to one
//! parser of network or app input, exactly as the engine calls it, and
//! returns what the parser said. A panic here is a bug. Not an app API.

use std::sync::OnceLock;

use crate::profile::{AppManifest, Attribute, LookupTarget, Profile, Schema, SqlType, TableSchema};
use crate::remote::{PageShape, parse_error_body, read_page};

/// What a parser answered: Ok, or its (typed) error as text.
pub type Outcome = std::result::Result<(), String>;

fn shape() -> &'static PageShape {
    static S: OnceLock<PageShape> = OnceLock::new();
    S.get_or_init(|| {
        PageShape::new(
            "accountid",
            &[
                ("name".into(), SqlType::Text),
                ("revenue".into(), SqlType::Real),
                ("numberofemployees".into(), SqlType::Integer),
                ("_ownerid_value".into(), SqlType::Text),
            ],
        )
        .for_set("accounts")
    })
}

/// A read page (`GET accounts`) as JSON, served as `application/json`.
pub fn page(data: &[u8]) -> Outcome {
    read_page(
        data,
        Some("application/json; odata.metadata=minimal"),
        shape(),
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
}

/// A delta page: the same parser, and the content type taken from the
/// input's first line (`text/html`, none, ...), as a server may send.
pub fn delta(data: &[u8]) -> Outcome {
    let (ct, body) = split_line(data);
    let ct = std::str::from_utf8(ct).ok().filter(|c| !c.is_empty());
    let page = read_page(body, ct, shape()).map_err(|e| e.to_string())?;
    // What the engine does with a page next: keys and links as strings.
    let _ = page.rows.iter().map(|r| r.key.len()).sum::<usize>();
    let _ = page.deleted.len() + page.next_link.map_or(0, |l| l.len());
    Ok(())
}

/// A `$batch` response: the first line is its Content-Type header, the rest
/// its body.
pub fn batch_response(data: &[u8]) -> Outcome {
    let (ct, body) = split_line(data);
    let ct = String::from_utf8_lossy(ct);
    match crate::outbox::batch::parse(body, &ct) {
        Some(parts) => {
            for p in &parts {
                let _ = p.header("content-id").map(str::trim);
                let _ = parse_error_body(&p.body);
            }
            Ok(())
        }
        None => Err("not a multipart response".into()),
    }
}

/// An OData error body (`{"error":{"code","message"}}`).
pub fn error_body(data: &[u8]) -> Outcome {
    parse_error_body(data)
        .map(|_| ())
        .ok_or_else(|| "not an error body".into())
}

/// An app manifest, turned into a profile and resolved against a sample
/// schema, as `Mooring::open` does with a manifest.
pub fn manifest(data: &[u8]) -> Outcome {
    let text = std::str::from_utf8(data).map_err(|e| e.to_string())?;
    let m = AppManifest::from_json(text).map_err(|e| e.to_string())?;
    let p = m.to_profile(schema()).map_err(|e| e.to_string())?;
    p.resolve(schema()).map(|_| ()).map_err(|e| e.to_string())
}

/// A profile (JSON, its filters parsed), resolved against a sample schema;
/// the same text also goes through the `$filter` parser on its own.
pub fn profile(data: &[u8]) -> Outcome {
    let text = std::str::from_utf8(data).map_err(|e| e.to_string())?;
    let filter = crate::profile::parse_filter(text).map(|f| f.columns().len());
    let p = Profile::from_json(text).map_err(|e| e.to_string());
    match (filter, p) {
        (_, Ok(p)) => p.resolve(schema()).map(|_| ()).map_err(|e| e.to_string()),
        (Ok(_), Err(_)) => Ok(()),
        (Err(f), Err(p)) => Err(format!("{p}; as a filter: {f}")),
    }
}

fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&[], data),
    }
}

fn attr(name: &str, ty: &str) -> Attribute {
    Attribute {
        logical_name: name.into(),
        attribute_type: ty.into(),
        type_name: None,
        valid_for_create: true,
        valid_for_update: true,
        display_name: None,
    }
}

/// accounts and contacts with a lookup between them, enough for manifests
/// and profiles to resolve.
fn schema() -> &'static Schema {
    static S: OnceLock<Schema> = OnceLock::new();
    S.get_or_init(|| Schema {
        tables: vec![
            TableSchema {
                logical_name: "account".into(),
                entity_set: "accounts".into(),
                primary_id: "accountid".into(),
                primary_name: Some("name".into()),
                attributes: vec![
                    attr("accountid", "Uniqueidentifier"),
                    attr("name", "String"),
                    attr("revenue", "Money"),
                    attr("numberofemployees", "Integer"),
                    attr("statecode", "State"),
                    attr("modifiedon", "DateTime"),
                    attr("ownerid", "Owner"),
                ],
                lookups: vec![],
            },
            TableSchema {
                logical_name: "contact".into(),
                entity_set: "contacts".into(),
                primary_id: "contactid".into(),
                primary_name: Some("lastname".into()),
                attributes: vec![
                    attr("contactid", "Uniqueidentifier"),
                    attr("lastname", "String"),
                    attr("modifiedon", "DateTime"),
                    attr("parentcustomerid", "Customer"),
                    attr("ownerid", "Owner"),
                ],
                lookups: vec![LookupTarget {
                    attribute: "parentcustomerid".into(),
                    target: "account".into(),
                    navigation: Some("parentcustomerid_account".into()),
                }],
            },
        ],
    })
}
