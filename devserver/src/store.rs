//! SQLite storage: one table per entity set with typed columns, a
//! server-wide version counter, and a tombstone table for deletes (what
//! change tracking reads). Knows nothing of HTTP.

use std::path::Path;

use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::Error;
use crate::schema::{AttrType, Column, Schema, Table};

/// The locked database plus the version counter that goes with it.
pub struct Db {
    pub conn: Connection,
    /// Highest versionnumber handed out. Gaps (rolled-back change sets) are fine.
    pub version: i64,
}

/// A column value on its way into SQLite.
#[derive(Debug, Clone)]
pub enum WriteVal {
    Plain(Value),
    /// A lookup: (target id, target logical name), or None to clear it.
    Lookup(Option<(Uuid, String)>),
}

pub fn now_string() -> String {
    format_datetime(time::OffsetDateTime::now_utc())
}

pub fn format_datetime(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// SQL column names of a schema column (lookups take two: id and target type).
pub fn sql_cols(c: &Column) -> Vec<String> {
    if c.ty.is_lookup() {
        vec![format!("c_{}", c.name), format!("c_{}__t", c.name)]
    } else {
        vec![format!("c_{}", c.name)]
    }
}

impl Db {
    pub fn open(path: Option<&Path>, schema: &Schema) -> Result<Db, Error> {
        let conn = match path {
            Some(p) => Connection::open(p)?,
            None => Connection::open_in_memory()?,
        };
        if path.is_some() {
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
        }
        conn.pragma_update(None, "temp_store", 2)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.set_prepared_statement_cache_capacity(256);
        let mut db = Db { conn, version: 0 };
        db.create_tables(schema)?;
        db.version = db.max_version(schema)?;
        Ok(db)
    }

    fn create_tables(&mut self, schema: &Schema) -> Result<(), Error> {
        let mut ddl = String::from(
            "CREATE TABLE IF NOT EXISTS tombstones (entity_set TEXT NOT NULL, id TEXT NOT NULL, \
             version INTEGER NOT NULL, PRIMARY KEY (entity_set, id)) WITHOUT ROWID;\n\
             CREATE INDEX IF NOT EXISTS tombstones_version ON tombstones (entity_set, version);\n",
        );
        for t in &schema.tables {
            let mut cols = vec!["id TEXT NOT NULL PRIMARY KEY".to_string()];
            for c in &t.columns {
                let names = sql_cols(c);
                let decl = match c.ty {
                    // Dataverse compares and sorts text case-insensitively.
                    AttrType::String | AttrType::Memo => "TEXT COLLATE NOCASE",
                    AttrType::DateTime | AttrType::Uniqueidentifier => "TEXT",
                    AttrType::Decimal | AttrType::Double | AttrType::Money => "REAL",
                    AttrType::BigInt if c.name == "versionnumber" => "INTEGER NOT NULL",
                    _ if c.ty.is_lookup() => "TEXT",
                    _ => "INTEGER",
                };
                cols.push(format!("{} {}", names[0], decl));
                if names.len() > 1 {
                    cols.push(format!("{} TEXT", names[1]));
                }
            }
            ddl.push_str(&format!(
                "CREATE TABLE IF NOT EXISTS {} ({}) WITHOUT ROWID;\n\
                 CREATE INDEX IF NOT EXISTS {}_version ON {} (c_versionnumber);\n",
                t.sql_name,
                cols.join(", "),
                t.sql_name,
                t.sql_name
            ));
            if t.column("ownerid").is_some_and(|c| c.ty.is_lookup()) {
                ddl.push_str(&format!(
                    "CREATE INDEX IF NOT EXISTS {}_owner ON {} (c_ownerid);\n",
                    t.sql_name, t.sql_name
                ));
            }
        }
        self.conn.execute_batch(&ddl)?;
        // A database file made with another schema would fail on every query: say so now.
        for t in &schema.tables {
            let mut st = self
                .conn
                .prepare(&format!("PRAGMA table_info({})", t.sql_name))?;
            let have: Vec<String> = st
                .query_map([], |r| r.get::<_, String>(1))?
                .collect::<Result<_, _>>()?;
            for c in &t.columns {
                for col in sql_cols(c) {
                    if !have.contains(&col) {
                        return Err(Error::Config(format!(
                            "the database file has no column {}.{} (made with another schema?): delete it or use another --db",
                            t.entity_set, c.name
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    fn max_version(&self, schema: &Schema) -> Result<i64, Error> {
        let mut v: i64 = self.conn.query_row(
            "SELECT COALESCE(MAX(version), 0) FROM tombstones",
            [],
            |r| r.get(0),
        )?;
        for t in &schema.tables {
            let tv: i64 = self.conn.query_row(
                &format!(
                    "SELECT COALESCE(MAX(c_versionnumber), 0) FROM {}",
                    t.sql_name
                ),
                [],
                |r| r.get(0),
            )?;
            v = v.max(tv);
        }
        Ok(v)
    }

    pub fn next_version(&mut self) -> i64 {
        self.version += 1;
        self.version
    }

    /// The row's versionnumber, or None when it does not exist.
    pub fn row_version(&self, t: &Table, id: &Uuid) -> Result<Option<i64>, Error> {
        let mut st = self.conn.prepare_cached(&format!(
            "SELECT c_versionnumber FROM {} WHERE id = ?1",
            t.sql_name
        ))?;
        Ok(st.query_row([id.to_string()], |r| r.get(0)).optional()?)
    }

    pub fn count(&self, t: &Table) -> Result<i64, Error> {
        Ok(self
            .conn
            .query_row(&format!("SELECT COUNT(*) FROM {}", t.sql_name), [], |r| {
                r.get(0)
            })?)
    }

    /// Inserts a row. `vals` must not contain read-only columns.
    pub fn insert(
        &mut self,
        t: &Table,
        id: &Uuid,
        vals: &[(usize, WriteVal)],
        created: Option<&str>,
    ) -> Result<i64, Error> {
        let version = self.next_version();
        let now = now_string();
        let mut names = vec![
            "id".to_string(),
            "c_versionnumber".into(),
            "c_createdon".into(),
            "c_modifiedon".into(),
        ];
        let mut params: Vec<Value> = vec![
            Value::Text(id.to_string()),
            Value::Integer(version),
            Value::Text(created.unwrap_or(&now).to_string()),
            Value::Text(now.clone()),
        ];
        push_vals(t, vals, &mut names, &mut params);
        let marks: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            t.sql_name,
            names.join(", "),
            marks.join(", ")
        );
        let tx = self.conn.savepoint()?;
        tx.prepare_cached(&sql)?
            .execute(rusqlite::params_from_iter(params.iter()))?;
        // A row that comes back under a deleted row's id is a change, not a delete.
        tx.prepare_cached("DELETE FROM tombstones WHERE entity_set = ?1 AND id = ?2")?
            .execute(params![t.entity_set, id.to_string()])?;
        tx.commit()?;
        Ok(version)
    }

    pub fn update(
        &mut self,
        t: &Table,
        id: &Uuid,
        vals: &[(usize, WriteVal)],
    ) -> Result<i64, Error> {
        let version = self.next_version();
        let mut names = vec!["c_versionnumber".to_string(), "c_modifiedon".into()];
        let mut params: Vec<Value> = vec![Value::Integer(version), Value::Text(now_string())];
        push_vals(t, vals, &mut names, &mut params);
        let sets: Vec<String> = names
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{n} = ?{}", i + 1))
            .collect();
        params.push(Value::Text(id.to_string()));
        let sql = format!(
            "UPDATE {} SET {} WHERE id = ?{}",
            t.sql_name,
            sets.join(", "),
            params.len()
        );
        self.conn
            .prepare_cached(&sql)?
            .execute(rusqlite::params_from_iter(params.iter()))?;
        Ok(version)
    }

    /// Deletes a row and leaves a tombstone. False when it did not exist.
    pub fn delete(&mut self, t: &Table, id: &Uuid) -> Result<bool, Error> {
        let version = self.next_version();
        let tx = self.conn.savepoint()?;
        let n = tx
            .prepare_cached(&format!("DELETE FROM {} WHERE id = ?1", t.sql_name))?
            .execute([id.to_string()])?;
        if n > 0 {
            tx.prepare_cached(
                "INSERT INTO tombstones (entity_set, id, version) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (entity_set, id) DO UPDATE SET version = excluded.version",
            )?
            .execute(params![t.entity_set, id.to_string(), version])?;
        }
        tx.commit()?;
        Ok(n > 0)
    }
}

fn push_vals(
    t: &Table,
    vals: &[(usize, WriteVal)],
    names: &mut Vec<String>,
    params: &mut Vec<Value>,
) {
    for (ci, v) in vals {
        let c = &t.columns[*ci];
        let cols = sql_cols(c);
        match v {
            WriteVal::Plain(p) => {
                names.push(cols[0].clone());
                params.push(p.clone());
            }
            WriteVal::Lookup(l) => {
                names.push(cols[0].clone());
                names.push(cols[1].clone());
                match l {
                    Some((id, ty)) => {
                        params.push(Value::Text(id.to_string()));
                        params.push(Value::Text(ty.clone()));
                    }
                    None => {
                        params.push(Value::Null);
                        params.push(Value::Null);
                    }
                }
            }
        }
    }
}

/// Writes one SQLite value as JSON for a column of type `ty`.
pub fn write_json_value(buf: &mut Vec<u8>, ty: AttrType, v: rusqlite::types::ValueRef<'_>) {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => buf.extend_from_slice(b"null"),
        ValueRef::Integer(i) => {
            if ty == AttrType::Boolean {
                buf.extend_from_slice(if i != 0 { b"true" } else { b"false" });
            } else if ty.is_float() {
                write_f64(buf, i as f64);
            } else {
                write_i64(buf, i);
            }
        }
        ValueRef::Real(f) => {
            if ty.is_integer() {
                write_i64(buf, f as i64);
            } else {
                write_f64(buf, f);
            }
        }
        ValueRef::Text(t) => write_json_bytes(buf, t),
        ValueRef::Blob(_) => buf.extend_from_slice(b"null"),
    }
}

/// Integer to decimal without the formatting machinery (hot loop).
pub fn write_i64(buf: &mut Vec<u8>, v: i64) {
    let mut tmp = [0u8; 20];
    let mut n = v.unsigned_abs();
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        buf.push(b'-');
    }
    buf.extend_from_slice(&tmp[i..]);
}

pub fn write_f64(buf: &mut Vec<u8>, f: f64) {
    if f.is_finite() {
        // serde_json never fails on a finite f64 into a Vec.
        let _ = serde_json::to_writer(&mut *buf, &f);
    } else {
        buf.extend_from_slice(b"null");
    }
}

pub fn write_json_str(buf: &mut Vec<u8>, s: &str) {
    // Valid UTF-8 already: write_json_bytes never takes its replacement path.
    write_json_bytes(buf, s.as_bytes());
}

/// Bytes that stop the plain-copy run: `"`, `\\`, control characters, and
/// non-ASCII (checked for valid UTF-8 once per string, only when present).
static SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = i < 0x20 || i == b'"' as usize || i == b'\\' as usize || i >= 0x80;
        i += 1;
    }
    t
};

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// True when any of the 8 bytes is special (see `SPECIAL`): a SWAR test so
/// plain text is skipped 8 bytes at a time.
fn any_special(x: u64) -> bool {
    let zero_in = |v: u64| v.wrapping_sub(LO) & !v & HI != 0;
    x & HI != 0
        || x.wrapping_sub(LO * 0x20) & !x & HI != 0
        || zero_in(x ^ (LO * b'"' as u64))
        || zero_in(x ^ (LO * b'\\' as u64))
}

/// Writes bytes as a JSON string in one pass (runs of plain bytes are
/// copied at once). Invalid UTF-8 is replaced, never copied.
pub fn write_json_bytes(buf: &mut Vec<u8>, b: &[u8]) {
    let mark = buf.len();
    buf.push(b'"');
    let mut start = 0;
    let mut checked_utf8 = false;
    let mut i = 0;
    while i < b.len() {
        if i + 8 <= b.len() {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[i..i + 8]);
            if !any_special(u64::from_le_bytes(w)) {
                i += 8;
                continue;
            }
        }
        let c = b[i];
        i += 1;
        if !SPECIAL[c as usize] {
            continue;
        }
        if c >= 0x80 {
            if !checked_utf8 {
                if std::str::from_utf8(b).is_err() {
                    buf.truncate(mark);
                    return write_json_str(buf, &String::from_utf8_lossy(b));
                }
                checked_utf8 = true;
            }
            continue;
        }
        buf.extend_from_slice(&b[start..i - 1]);
        match c {
            b'"' => buf.extend_from_slice(b"\\\""),
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                buf.extend_from_slice(b"\\u00");
                buf.push(HEX[(c >> 4) as usize]);
                buf.push(HEX[(c & 15) as usize]);
            }
        }
        start = i;
    }
    buf.extend_from_slice(&b[start..]);
    buf.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_integers_and_escaped_strings_as_json() {
        for v in [0i64, 7, -7, 10, 1234567890, i64::MAX, i64::MIN] {
            let mut b = Vec::new();
            write_i64(&mut b, v);
            assert_eq!(String::from_utf8(b).unwrap(), v.to_string());
        }
        for s in [
            "plain",
            "quote\" back\\slash",
            "ctl\u{1}\n\t\r",
            "ünï ✓",
            "",
            "é\"é",
            "0123456789abcdef0123456789abcdef",
            "01234567\"9abcdef01234\\67\u{1f}9",
            "12345678ü",
            "1234567\u{7f}\u{80}",
        ] {
            let mut b = Vec::new();
            write_json_str(&mut b, s);
            assert_eq!(serde_json::from_slice::<String>(&b).unwrap(), s);
        }
        let mut b = b"[".to_vec();
        write_json_bytes(&mut b, b"bad \xff\xfe utf8 \"q\"");
        b.push(b']');
        let v: Vec<String> = serde_json::from_slice(&b).unwrap();
        assert_eq!(v[0], "bad \u{fffd}\u{fffd} utf8 \"q\"");
    }
}
