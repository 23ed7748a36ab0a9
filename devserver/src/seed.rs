//! Deterministic sample data: the same `--seed` gives the same rows, ids and
//! lookups on every machine. Values are chosen by column name where the name
//! says what it holds (emailaddress1, telephone1, ...), else by type.

use std::collections::HashMap;

use rusqlite::types::Value;
use uuid::Uuid;

use crate::Error;
use crate::schema::{AttrType, Schema, Table};
use crate::store::{Db, format_datetime, sql_cols};

const COMPANY_A: &[&str] = &[
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Adventure",
    "Blue Yonder",
    "Litware",
    "Proseware",
    "Tailspin",
    "Wide World",
    "Alpine",
    "Coho",
    "Lucerne",
    "Margie's",
    "Trey",
    "Woodgrove",
    "Fourth Coffee",
];
const COMPANY_B: &[&str] = &[
    "Traders",
    "Works",
    "Airlines",
    "Bank",
    "Research",
    "Logistics",
    "Foods",
    "Systems",
    "Media",
    "Energy",
];
const COMPANY_C: &[&str] = &["Ltd", "Inc", "GmbH", "SA", "LLC", "Group", "Co"];
const FIRST: &[&str] = &[
    "Ava", "Liam", "Maya", "Noah", "Zoe", "Omar", "Lena", "Ivan", "Sofia", "Kenji", "Amara",
    "Lucas", "Nora", "Diego", "Hana", "Felix", "Priya", "Tomas", "Elif", "Jonas",
];
const LAST: &[&str] = &[
    "Smith",
    "Garcia",
    "Müller",
    "Rossi",
    "Nakamura",
    "Okafor",
    "Novak",
    "Silva",
    "Dubois",
    "Kowalski",
    "Johansson",
    "Haddad",
    "Kim",
    "O'Brien",
    "Jensen",
    "Costa",
    "Yilmaz",
    "Patel",
    "Larsen",
    "Moreau",
];
const CITIES: &[&str] = &[
    "Seattle",
    "Lisbon",
    "Nairobi",
    "Osaka",
    "Berlin",
    "Lyon",
    "Toronto",
    "Austin",
    "Kraków",
    "Bergen",
    "Porto",
    "Cork",
    "Valencia",
    "Utrecht",
    "Adelaide",
    "Montréal",
];
const PRODUCTS: &[&str] = &[
    "laptops",
    "printers",
    "licences",
    "servers",
    "coffee machines",
    "desks",
    "tablets",
    "routers",
];
const VERBS: &[&str] = &[
    "Call",
    "Email",
    "Visit",
    "Follow up with",
    "Send quote to",
    "Demo for",
];

/// Start of the seeded date range (2024-01-01T00:00:00Z), fixed so seeds repeat.
const DATE_BASE: i64 = 1_704_067_200;
const DATE_SPAN: i64 = 2 * 365 * 86_400;

fn pick<'a>(rng: &mut fastrand::Rng, items: &[&'a str]) -> &'a str {
    items[rng.usize(..items.len())]
}

fn fnv(s: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

pub fn uuid_from(rng: &mut fastrand::Rng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.u128(..).to_le_bytes()).into_uuid()
}

/// A stable id for a user, from its name.
pub fn user_id(name: &str) -> Uuid {
    let mut rng = fastrand::Rng::with_seed(fnv(name) ^ 0x5eed_05e7);
    uuid_from(&mut rng)
}

fn date(rng: &mut fastrand::Rng) -> i64 {
    DATE_BASE + rng.i64(0..DATE_SPAN)
}

fn date_str(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .map(format_datetime)
        .unwrap_or_default()
}

/// Inserts the users (name, email) into `systemusers`, keeping existing rows.
pub fn ensure_users(db: &mut Db, schema: &Schema, users: &[(Uuid, String)]) -> Result<(), Error> {
    let Some(t) = schema.by_logical("systemuser") else {
        return Ok(());
    };
    for (id, name) in users {
        if db.row_version(t, id)?.is_some() {
            continue;
        }
        let mut vals = Vec::new();
        let login = name.to_lowercase().replace(' ', ".");
        for (ci, c) in t.columns.iter().enumerate() {
            let v = match c.name.as_str() {
                "fullname" => Value::Text(name.clone()),
                "domainname" => Value::Text(format!("{login}@mooring.example")),
                "internalemailaddress" => Value::Text(format!("{login}@mooring.example")),
                _ => continue,
            };
            vals.push((ci, crate::store::WriteVal::Plain(v)));
        }
        db.insert(t, id, &vals, Some("2024-01-01T00:00:00Z"))?;
    }
    Ok(())
}

/// Seeds `rows` rows into every table but systemusers (or only into the
/// entity sets `only` names), when it is empty. One transaction, one
/// prepared statement per table.
pub fn seed(
    db: &mut Db,
    schema: &Schema,
    rows: usize,
    only: &[String],
    seed: u64,
    owners: &[Uuid],
) -> Result<(), Error> {
    if rows == 0 {
        return Ok(());
    }
    let mut ids: HashMap<String, Vec<u128>> = HashMap::new();
    let mut version = db.version;
    let tx = db.conn.transaction()?;
    for t in &schema.tables {
        if t.logical_name == "systemuser" || !(only.is_empty() || only.contains(&t.entity_set)) {
            continue;
        }
        let existing: i64 =
            tx.query_row(&format!("SELECT COUNT(*) FROM {}", t.sql_name), [], |r| {
                r.get(0)
            })?;
        if existing > 0 {
            // Persisted database: keep its rows, remember their ids for lookups.
            let mut st = tx.prepare(&format!("SELECT id FROM {}", t.sql_name))?;
            let got: Vec<u128> = st
                .query_map([], |r| r.get::<_, String>(0))?
                .filter_map(|r| {
                    r.ok()
                        .and_then(|s| Uuid::parse_str(&s).ok())
                        .map(|u| u.as_u128())
                })
                .collect();
            ids.insert(t.logical_name.clone(), got);
            continue;
        }
        let mut names = vec!["id".to_string()];
        for c in &t.columns {
            names.extend(sql_cols(c));
        }
        let marks: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            t.sql_name,
            names.join(", "),
            marks.join(", ")
        );
        let mut st = tx.prepare(&sql)?;
        let mut rng = fastrand::Rng::with_seed(seed ^ fnv(&t.logical_name));
        // Keys from their own generator, inserted in key order: appending to
        // the primary-key B-tree is several times faster than random inserts.
        let mut id_rng =
            fastrand::Rng::with_seed(seed ^ fnv(&t.logical_name) ^ 0x1d5_u64.rotate_left(40));
        let mut own_ids: Vec<u128> = (0..rows)
            .map(|_| uuid_from(&mut id_rng).as_u128())
            .collect();
        own_ids.sort_unstable();
        let mut params: Vec<Value> = Vec::with_capacity(names.len());
        for (n, &id) in own_ids.iter().enumerate() {
            params.clear();
            params.push(Value::Text(Uuid::from_u128(id).to_string()));
            version += 1;
            let created = date(&mut rng);
            let first = pick(&mut rng, FIRST);
            let last = pick(&mut rng, LAST);
            for c in &t.columns {
                gen_value(
                    &mut rng,
                    t,
                    c,
                    n,
                    version,
                    created,
                    first,
                    last,
                    &ids,
                    owners,
                    &mut params,
                );
            }
            st.execute(rusqlite::params_from_iter(params.iter()))?;
        }
        ids.insert(t.logical_name.clone(), own_ids);
    }
    tx.commit()?;
    db.version = version;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn gen_value(
    rng: &mut fastrand::Rng,
    t: &Table,
    c: &crate::schema::Column,
    n: usize,
    version: i64,
    created: i64,
    first: &str,
    last: &str,
    ids: &HashMap<String, Vec<u128>>,
    owners: &[Uuid],
    out: &mut Vec<Value>,
) {
    let name = c.name.as_str();
    if c.ty.is_lookup() {
        let target = if c.ty == AttrType::Owner || name == "ownerid" {
            owners
                .get(rng.usize(..owners.len().max(1)))
                .map(|u| (u.as_u128(), "systemuser".to_string()))
        } else if rng.u8(..10) == 0 {
            None // some lookups are empty, as in real data
        } else {
            // First target that has rows; the customer lookup mostly points at accounts.
            c.targets.iter().find_map(|tg| {
                let pool = ids.get(&tg.entity)?;
                if pool.is_empty() {
                    return None;
                }
                Some((pool[rng.usize(..pool.len())], tg.entity.clone()))
            })
        };
        match target {
            Some((id, ty)) => {
                out.push(Value::Text(Uuid::from_u128(id).to_string()));
                out.push(Value::Text(ty));
            }
            None => {
                out.push(Value::Null);
                out.push(Value::Null);
            }
        }
        return;
    }
    let v = match (name, c.ty) {
        ("versionnumber", _) => Value::Integer(version),
        ("createdon", _) => Value::Text(date_str(created)),
        ("modifiedon", _) => Value::Text(date_str(created + rng.i64(0..30 * 86_400))),
        ("name", _) if t.logical_name == "account" => Value::Text(format!(
            "{} {} {}",
            pick(rng, COMPANY_A),
            pick(rng, COMPANY_B),
            pick(rng, COMPANY_C)
        )),
        ("name", _) if t.logical_name == "opportunity" => {
            Value::Text(format!("{} {}", rng.u32(2..500), pick(rng, PRODUCTS)))
        }
        ("name", _) if t.logical_name == "competitor" => {
            Value::Text(format!("{} {}", pick(rng, COMPANY_A), pick(rng, COMPANY_B)))
        }
        ("name", _) if t.logical_name == "product" => {
            Value::Text(format!("{} model {}", pick(rng, PRODUCTS), n + 1))
        }
        ("name", _) if matches!(t.logical_name.as_str(), "quote" | "salesorder") => {
            Value::Text(format!("{} {}", rng.u32(2..500), pick(rng, PRODUCTS)))
        }
        ("title", _) => Value::Text(format!(
            "{} not working for {first} {last}",
            pick(rng, PRODUCTS)
        )),
        ("companyname", _) => Value::Text(format!(
            "{} {} {}",
            pick(rng, COMPANY_A),
            pick(rng, COMPANY_B),
            pick(rng, COMPANY_C)
        )),
        ("websiteurl", _) => Value::Text(format!(
            "https://{}{}.example.com",
            pick(rng, COMPANY_A).to_lowercase().replace(' ', ""),
            n
        )),
        ("location", _) => Value::Text(pick(rng, CITIES).to_string()),
        ("accountnumber", _) => Value::Text(format!("ACC-{:07}", n + 1)),
        ("ticketnumber", _) => Value::Text(format!("CAS-{:05}-{:04}", n + 1, rng.u32(0..10_000))),
        ("quotenumber", _) => Value::Text(format!("QUO-{:05}", n + 1)),
        ("ordernumber", _) => Value::Text(format!("ORD-{:05}", n + 1)),
        ("productnumber", _) => Value::Text(format!("PRD-{:05}", n + 1)),
        ("firstname", _) => Value::Text(first.to_string()),
        ("lastname", _) => Value::Text(last.to_string()),
        ("fullname", _) => Value::Text(format!("{first} {last}")),
        ("subject", _) => Value::Text(format!("{} {} {}", pick(rng, VERBS), first, last)),
        (_, AttrType::String | AttrType::Memo) if name.contains("email") => Value::Text(format!(
            "{}.{}{}@example.com",
            first.to_lowercase(),
            last.to_lowercase().replace(['\'', 'ü'], ""),
            n
        )),
        (_, AttrType::String) if name.contains("phone") => Value::Text(format!(
            "+1-555-{:03}-{:04}",
            rng.u32(100..1000),
            rng.u32(0..10_000)
        )),
        (_, AttrType::String) if name.contains("city") => {
            Value::Text(pick(rng, CITIES).to_string())
        }
        (_, AttrType::String | AttrType::Memo) => {
            let s = format!("{} {} {}", pick(rng, COMPANY_A), pick(rng, PRODUCTS), n);
            let max = c.max_length.unwrap_or(100) as usize;
            Value::Text(s.chars().take(max).collect())
        }
        ("statecode", _) | (_, AttrType::State) => {
            Value::Integer(if rng.u8(..10) == 0 { 1 } else { 0 })
        }
        (_, AttrType::Status | AttrType::Picklist) => {
            // The same draw with or without options, so adding labels to a
            // column leaves the seeded data as it was.
            let v = rng.i64(1..4);
            let options = c.option_list();
            match options.get((v as usize - 1) % options.len().max(1)) {
                Some((o, _)) if c.ty == AttrType::Picklist && !c.options.is_empty() => {
                    Value::Integer(*o)
                }
                _ => Value::Integer(v),
            }
        }
        (_, AttrType::MultiSelectPicklist) => {
            let chosen: Vec<String> = c
                .option_list()
                .iter()
                .filter(|_| rng.u8(..3) == 0)
                .map(|(v, _)| v.to_string())
                .collect();
            Value::Text(chosen.join(","))
        }
        (_, AttrType::DateTime) if c.date_only() => {
            let full = date_str(created + rng.i64(0..60 * 86_400));
            Value::Text(full.chars().take(10).collect())
        }
        (_, AttrType::Integer) => Value::Integer(rng.i64(1..5_000)),
        (_, AttrType::BigInt) => Value::Integer(rng.i64(1..1_000_000_000)),
        (_, AttrType::Money | AttrType::Decimal) => {
            Value::Real((rng.i64(10_000..50_000_000) / 100 * 100) as f64)
        }
        (_, AttrType::Double) => Value::Real(rng.f64() * 1000.0),
        (_, AttrType::Boolean) => Value::Integer(rng.bool() as i64),
        (_, AttrType::DateTime) => Value::Text(date_str(created + rng.i64(0..60 * 86_400))),
        (_, AttrType::Uniqueidentifier) => Value::Text(uuid_from(rng).to_string()),
        _ => Value::Null,
    };
    out.push(v);
}
