//! The fuzz target's entry point (`fuzz/`, and its regression tests in
//! `core/tests/fuzz_regressions.rs`): a `$filter` as a client sends it,
//! parsed and compiled to SQL against the sample `accounts` table, as a
//! `GET accounts?$filter=...` does. Not an API.

use std::sync::OnceLock;

use crate::schema::Schema;

/// Parses and compiles `filter`; Err carries the 400 message a client gets.
pub fn filter(data: &[u8]) -> Result<(), String> {
    static S: OnceLock<Option<Schema>> = OnceLock::new();
    let text = std::str::from_utf8(data).map_err(|e| e.to_string())?;
    let expr = crate::filter::parse_filter(text).map_err(|e| e.message)?;
    let Some(table) = S
        .get_or_init(|| Schema::load(None).ok())
        .as_ref()
        .and_then(|s| s.by_set("accounts"))
    else {
        return Err("the sample schema does not load".into());
    };
    let mut params = Vec::new();
    crate::filter::to_sql(table, &expr, &mut params)
        .map(|_| ())
        .map_err(|e| e.message)
}
