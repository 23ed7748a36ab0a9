//! Parses one response page (a read page or a delta page) straight into the
//! row cells the store writes, without building a JSON tree: annotations in
//! any order, unknown properties skipped, deletes recognised by the
//! `$deletedEntity` suffix of the row's `@odata.context`. Links are kept as
//! the exact strings the server sent.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::profile::SqlType;
use crate::status::ResponseProblem;
use crate::value::{RowData, Value};

/// Which properties of a row to keep, in the order the store wants them.
#[derive(Clone, Debug)]
pub struct PageShape {
    key: String,
    index: HashMap<String, usize>,
    /// Each column's type, in column order: the one JSON-to-cell rule
    /// (`Value::from_json`) needs it.
    types: Vec<SqlType>,
    /// The entity set asked for: a page whose `@odata.context` names
    /// another one is refused.
    entity_set: Option<String>,
}

impl PageShape {
    /// `key`: the primary id property; `columns`: the selected properties
    /// (`_x_value` for lookups) with their column types, in column order.
    pub fn new(key: &str, columns: &[(String, SqlType)]) -> Self {
        let index = columns
            .iter()
            .enumerate()
            .map(|(i, (w, _))| (w.clone(), i))
            .collect();
        PageShape {
            key: key.to_string(),
            index,
            types: columns.iter().map(|(_, t)| *t).collect(),
            entity_set: None,
        }
    }

    /// Checks `@odata.context` against this entity set (`accounts`).
    pub fn for_set(mut self, entity_set: &str) -> Self {
        self.entity_set = Some(entity_set.to_string());
        self
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Page {
    pub rows: Vec<RowData>,
    /// Keys of `$deletedEntity` entries (delta pages only).
    pub deleted: Vec<String>,
    pub next_link: Option<String>,
    pub delta_link: Option<String>,
    /// The page's own `@odata.context`, when sent.
    pub context: Option<String>,
    /// Size of the JSON body (decoded), for progress.
    pub bytes: u64,
    /// Size of the body as it crossed the network (compressed), for
    /// progress; set by the client that received it.
    pub wire_bytes: u64,
}

/// Parses a page body. Errors say where the JSON broke.
pub fn parse_page(body: &[u8], shape: &PageShape) -> Result<Page, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let mut page = PageSeed(shape).deserialize(&mut de)?;
    de.end()?;
    page.bytes = body.len() as u64;
    Ok(page)
}

/// Why a success response is not a page, classified for the status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageError {
    pub problem: ResponseProblem,
    pub detail: String,
}

impl fmt::Display for PageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.detail, self.problem.as_str())
    }
}

/// A success response as a page, or why it is not one: the content type
/// must be JSON (`None`: the header was missing), the body a complete page
/// of `shape`'s table (its `@odata.context`, when sent, names that entity
/// set) with each row once. Nothing is half-accepted.
pub fn read_page(
    body: &[u8],
    content_type: Option<&str>,
    shape: &PageShape,
) -> Result<Page, PageError> {
    let err = |problem, detail: String| PageError { problem, detail };
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let ct = content_type.unwrap_or("").trim().to_ascii_lowercase();
    let looks_html = first == Some(b'<');
    if ct.starts_with("text/html") || looks_html {
        return Err(err(
            ResponseProblem::Html,
            format!(
                "an HTML page instead of JSON (content type {:?})",
                content_type.unwrap_or("none")
            ),
        ));
    }
    let media = ct.split(';').next().unwrap_or("").trim();
    if media != "application/json" {
        return Err(err(
            ResponseProblem::WrongContentType,
            format!(
                "content type {:?} instead of application/json",
                content_type.unwrap_or("none")
            ),
        ));
    }
    let page = parse_page(body, shape).map_err(|e| {
        if e.is_eof() {
            err(
                ResponseProblem::Truncated,
                format!("the JSON stops early: {e}"),
            )
        } else {
            err(ResponseProblem::Malformed, format!("not a page: {e}"))
        }
    })?;
    if let (Some(want), Some(ctx)) = (&shape.entity_set, &page.context) {
        if let Some(got) = context_entity_set(ctx) {
            if !got.eq_ignore_ascii_case(want) {
                return Err(err(
                    ResponseProblem::WrongTable,
                    format!("a page of {got:?} when {want:?} was asked for"),
                ));
            }
        }
    }
    let mut seen = std::collections::HashSet::with_capacity(page.rows.len());
    if let Some(r) = page.rows.iter().find(|r| !seen.insert(r.key.as_str())) {
        return Err(err(
            ResponseProblem::DuplicateRows,
            format!("row {} appears twice in one page", r.key),
        ));
    }
    let mut seen = std::collections::HashSet::with_capacity(page.deleted.len());
    if let Some(k) = page.deleted.iter().find(|k| !seen.insert(k.as_str())) {
        return Err(err(
            ResponseProblem::DuplicateRows,
            format!("deleted row {k} appears twice in one page"),
        ));
    }
    Ok(page)
}

/// The entity set an `@odata.context` names: `<base>/$metadata#accounts`,
/// `#accounts(name,revenue)`, `#accounts(name)/$delta` give `accounts`.
/// None when it names no entity set (no `#`, or an empty name).
pub fn context_entity_set(ctx: &str) -> Option<&str> {
    let (_, frag) = ctx.split_once('#')?;
    let end = frag.find(['(', '/', '$']).unwrap_or(frag.len());
    let name = &frag[..end];
    (!name.is_empty()).then_some(name)
}

struct PageSeed<'a>(&'a PageShape);

impl<'de> DeserializeSeed<'de> for PageSeed<'_> {
    type Value = Page;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Page, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PageSeed<'_> {
    type Value = Page;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an OData collection object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Page, A::Error> {
        let mut page = Page::default();
        let mut saw_value = false;
        while let Some(key) = map.next_key::<PageKey>()? {
            match key {
                PageKey::Value => {
                    saw_value = true;
                    map.next_value_seed(RowsSeed {
                        shape: self.0,
                        page: &mut page,
                    })?;
                }
                PageKey::NextLink => page.next_link = Some(map.next_value()?),
                PageKey::DeltaLink => page.delta_link = Some(map.next_value()?),
                PageKey::Context => page.context = map.next_value()?,
                PageKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if !saw_value {
            return Err(de::Error::missing_field("value"));
        }
        Ok(page)
    }
}

enum PageKey {
    Value,
    NextLink,
    DeltaLink,
    Context,
    Other,
}

impl<'de> de::Deserialize<'de> for PageKey {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = PageKey;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a property name")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<PageKey, E> {
                Ok(match s {
                    "value" => PageKey::Value,
                    "@odata.nextLink" => PageKey::NextLink,
                    "@odata.deltaLink" => PageKey::DeltaLink,
                    "@odata.context" => PageKey::Context,
                    _ => PageKey::Other,
                })
            }
        }
        d.deserialize_str(V)
    }
}

struct RowsSeed<'a> {
    shape: &'a PageShape,
    page: &'a mut Page,
}

impl<'de> DeserializeSeed<'de> for RowsSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for RowsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of rows")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if let Some(n) = seq.size_hint() {
            self.page.rows.reserve(n);
        }
        while let Some(entry) = seq.next_element_seed(RowSeed(self.shape))? {
            match entry {
                Entry::Row(r) => self.page.rows.push(r),
                Entry::Deleted(id) => self.page.deleted.push(id),
            }
        }
        Ok(())
    }
}

enum Entry {
    Row(RowData),
    Deleted(String),
}

struct RowSeed<'a>(&'a PageShape);

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = Entry;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Entry, D::Error> {
        d.deserialize_map(self)
    }
}

enum Slot {
    Key,
    Etag,
    Context,
    Id,
    Column(usize),
    Ignore,
}

struct SlotSeed<'a>(&'a PageShape);

impl<'de> DeserializeSeed<'de> for SlotSeed<'_> {
    type Value = Slot;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Slot, D::Error> {
        d.deserialize_str(self)
    }
}

impl Visitor<'_> for SlotSeed<'_> {
    type Value = Slot;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a property name")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Slot, E> {
        Ok(if s == self.0.key {
            Slot::Key
        } else if let Some(&i) = self.0.index.get(s) {
            Slot::Column(i)
        } else {
            match s {
                "@odata.etag" => Slot::Etag,
                "@odata.context" => Slot::Context,
                "id" => Slot::Id,
                _ => Slot::Ignore,
            }
        })
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = Entry;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a row object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entry, A::Error> {
        let mut key: Option<String> = None;
        let mut etag = None;
        let mut deleted = false;
        let mut id: Option<String> = None;
        // Absent properties are NULL: Dataverse sends every selected column.
        let mut values = vec![Value::Null; self.0.types.len()];
        while let Some(slot) = map.next_key_seed(SlotSeed(self.0))? {
            match slot {
                Slot::Key => key = map.next_value::<Option<String>>()?,
                Slot::Etag => etag = map.next_value::<Option<String>>()?,
                Slot::Context => {
                    let ctx: Option<String> = map.next_value()?;
                    deleted = ctx.is_some_and(|c| c.ends_with("$deletedEntity"));
                }
                Slot::Id => id = map.next_value::<Option<String>>()?,
                Slot::Column(i) => values[i] = map.next_value_seed(ValueSeed(self.0.types[i]))?,
                Slot::Ignore => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if deleted {
            let id = id.or(key).ok_or_else(|| de::Error::missing_field("id"))?;
            return Ok(Entry::Deleted(id.to_ascii_lowercase()));
        }
        let key =
            key.ok_or_else(|| de::Error::custom(format!("a row without its key {}", self.0.key)))?;
        Ok(Entry::Row(RowData {
            key: key.to_ascii_lowercase(),
            etag,
            values,
        }))
    }
}

/// One cell, by the one rule of `Value::from_json`, without building a
/// JSON tree: the scalar constructors are called as the parser meets them.
struct ValueSeed(SqlType);

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::from_bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from_i64(self.0, v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from_u64(self.0, v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from_f64(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::Text(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Text(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    // Objects and arrays are NULL, as `Value::from_json` says.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape() -> PageShape {
        PageShape::new(
            "accountid",
            &[
                ("name".into(), SqlType::Text),
                ("revenue".into(), SqlType::Real),
                ("_ownerid_value".into(), SqlType::Text),
            ],
        )
    }

    #[test]
    fn annotations_in_any_order_unknown_skipped() {
        let body = br#"{"@odata.deltaLink":"https://x/api/data/v9.2/accounts?$deltatoken=9%3A1","extra":{"a":[1,2]},
          "value":[{"revenue":1.5,"accountid":"AAAAAAAA-0000-0000-0000-000000000001","name@OData.Community.Display.V1.FormattedValue":"n","@odata.etag":"W/\"1\"","name":"n","_ownerid_value":null,"unknown":true},
                   {"@odata.context":"https://x/api/data/v9.2/$metadata#accounts/$deletedEntity","reason":"deleted","id":"BBBBBBBB-0000-0000-0000-000000000002"}],
          "@odata.context":"https://x/api/data/v9.2/$metadata#accounts(name)/$delta"}"#;
        let p = parse_page(body, &shape()).unwrap();
        assert_eq!(p.rows.len(), 1);
        assert_eq!(p.rows[0].key, "aaaaaaaa-0000-0000-0000-000000000001");
        assert_eq!(p.rows[0].etag.as_deref(), Some("W/\"1\""));
        assert_eq!(
            p.rows[0].values,
            vec![Value::Text("n".into()), Value::Real(1.5), Value::Null]
        );
        assert_eq!(p.deleted, vec!["bbbbbbbb-0000-0000-0000-000000000002"]);
        assert_eq!(
            p.delta_link.as_deref(),
            Some("https://x/api/data/v9.2/accounts?$deltatoken=9%3A1")
        );
        assert!(p.next_link.is_none());
    }

    #[test]
    fn truncated_or_shapeless_bodies_fail() {
        assert!(
            parse_page(
                br#"{"value":[{"accountid":"a","name":"x"},{"accountid""#,
                &shape()
            )
            .is_err()
        );
        assert!(parse_page(br#"{"error":{"code":"","message":"m"}}"#, &shape()).is_err());
        assert!(parse_page(br#"{"value":[{"name":"no key"}]}"#, &shape()).is_err());
    }

    /// The streaming parser and `Value::from_json` are one rule: every kind
    /// of JSON value in a column of every type becomes the same cell.
    #[test]
    fn the_page_parser_follows_the_one_json_to_cell_rule() {
        let samples = [
            "null",
            "true",
            "false",
            "0",
            "-7",
            "9223372036854775807",
            "18446744073709551615",
            "1.5",
            "3.0",
            "1e300",
            "\"text\"",
            "\"\"",
            "{\"nested\":[1,2]}",
            "[1,\"a\"]",
        ];
        for ty in [SqlType::Text, SqlType::Integer, SqlType::Real] {
            let shape = PageShape::new("id", &[("c".into(), ty)]);
            for sample in samples {
                let body = format!(r#"{{"value":[{{"id":"K","c":{sample}}}]}}"#);
                let page = parse_page(body.as_bytes(), &shape).unwrap();
                let json: serde_json::Value = serde_json::from_str(sample).unwrap();
                assert_eq!(
                    page.rows[0].values,
                    vec![Value::from_json(ty, &json)],
                    "{sample} in a {ty:?} column"
                );
            }
        }
    }
}
