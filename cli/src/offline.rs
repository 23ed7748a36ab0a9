//! The one-shot commands that work on a mirror with no network, for
//! scripts: `query --sql`, `create`, `update`, `delete`, `apply` (writes
//! as one transaction) and `pending`.
//! Writes are checked against the profile the mirror remembers from its
//! last sync and queued in its outbox, exactly as the app's writes are;
//! `mooring upload` or `mooring sync` sends them.

use std::path::PathBuf;

use mooring_core::profile::SqlType;
use mooring_core::store::PendingChange;
use mooring_core::{Outbox, OutboxConfig, SqlRows, Store, Value};
use serde_json::{Map, Value as J};

use crate::open_existing;

/// The mirror a one-shot command works on.
#[derive(clap::Args)]
pub struct Mirror {
    /// The local SQLite mirror (synced at least once by `mooring sync`).
    #[arg(long)]
    db: PathBuf,
    /// Name of an environment variable holding the database's encryption
    /// key (SQLCipher). Without it the database is plain SQLite.
    #[arg(long, value_name = "VAR")]
    key_env: Option<String>,
}

impl Mirror {
    fn open(&self) -> mooring_core::Result<Store> {
        open_existing(&self.db, self.key_env.as_deref())
    }
}

#[derive(clap::Args)]
pub struct QueryArgs {
    #[command(flatten)]
    mirror: Mirror,
    /// One read-only SQL statement over the mirror's tables (the profile's
    /// table and column logical names), with `?` for each PARAM.
    #[arg(long)]
    sql: String,
    /// Values of the statement's `?` parameters, in order: a JSON scalar
    /// (`42`, `2.5`, `true`, `null`, `"007"`) or else plain text.
    params: Vec<String>,
    /// One JSON object per row instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
pub struct CreateArgs {
    #[command(flatten)]
    mirror: Mirror,
    /// The table's logical name (`accounts`).
    table: String,
    /// COLUMN=VALUE pairs; VALUE is a JSON scalar or else plain text
    /// (`name=Contoso numberofemployees=12 parentcustomerid=<guid>`).
    #[arg(value_name = "COLUMN=VALUE", required = true)]
    values: Vec<String>,
}

#[derive(clap::Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    mirror: Mirror,
    table: String,
    /// The row's GUID.
    id: String,
    #[arg(value_name = "COLUMN=VALUE", required = true)]
    values: Vec<String>,
}

#[derive(clap::Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    mirror: Mirror,
    table: String,
    id: String,
}

#[derive(clap::Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    mirror: Mirror,
    /// A JSON array of writes, applied as one transaction and uploaded as
    /// one change set: `{"create": "accounts", "id": "<guid, optional>",
    /// "values": {...}}`, `{"update": "accounts", "id": "...", "values":
    /// {...}}`, `{"delete": "accounts", "id": "..."}`. `-` reads stdin.
    file: PathBuf,
}

#[derive(clap::Args)]
pub struct PendingArgs {
    #[command(flatten)]
    mirror: Mirror,
    /// At most this many changes listed (the count is always whole).
    #[arg(long, default_value_t = 50)]
    limit: usize,
}

/// A command-line value: a JSON scalar when it parses as one, else text
/// (so `name=Contoso` needs no quotes).
fn scalar(word: &str) -> J {
    match serde_json::from_str::<J>(word) {
        Ok(v @ (J::Null | J::Bool(_) | J::Number(_) | J::String(_))) => v,
        _ => J::String(word.to_string()),
    }
}

/// A SQL parameter: what the mirror compares against (booleans are 0/1).
fn param(word: &str) -> Value {
    match scalar(word) {
        J::Null => Value::Null,
        J::Bool(b) => Value::from(b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Real(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Value::Text(s),
        other => Value::Text(other.to_string()),
    }
}

/// A value for `column` of `outbox`'s profile: a text column (names,
/// phone numbers, dates, GUIDs) takes the word as text even when it looks
/// like a number (`telephone1=555`); `null` and a quoted JSON string are
/// the same everywhere.
fn value_for(outbox: &Outbox, table: &str, column: &str, word: &str) -> J {
    let text_column = outbox
        .profile()
        .tables
        .iter()
        .find(|t| t.name == table)
        .and_then(|t| t.columns.iter().find(|c| c.name == column))
        .is_some_and(|c| c.sql_type == SqlType::Text);
    match scalar(word) {
        J::Number(_) | J::Bool(_) if text_column => J::String(word.to_string()),
        v => v,
    }
}

fn pairs(outbox: &Outbox, table: &str, words: &[String]) -> mooring_core::Result<Map<String, J>> {
    let mut out = Map::new();
    for w in words {
        let (k, v) = w
            .split_once('=')
            .ok_or_else(|| mooring_core::Error::Query(format!("{w}: expected COLUMN=VALUE")))?;
        if k.is_empty() {
            return Err(mooring_core::Error::Query(format!("{w}: no column name")));
        }
        out.insert(k.to_string(), value_for(outbox, table, k, v));
    }
    Ok(out)
}

fn local_outbox(mirror: &Mirror) -> mooring_core::Result<Outbox> {
    Outbox::local(mirror.open()?, OutboxConfig::default())
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Integer(i) => i.to_string(),
        Value::Real(r) => r.to_string(),
        Value::Text(s) => s.replace(['\n', '\t'], " "),
    }
}

/// An aligned text table: a header, a rule, the rows, then the count.
pub(crate) fn table(rows: &SqlRows) -> String {
    let cells: Vec<Vec<String>> = rows
        .rows
        .iter()
        .map(|r| r.iter().map(cell).collect())
        .collect();
    let widths: Vec<usize> = rows
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .chain([c.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |vals: &[String]| -> String {
        vals.iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = vec![line(&rows.columns)];
    out.push(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  "),
    );
    out.extend(cells.iter().map(|r| line(r)));
    let n = rows.rows.len();
    out.push(format!("({n} row{})", if n == 1 { "" } else { "s" }));
    out.join("\n")
}

pub fn query(args: &QueryArgs) -> mooring_core::Result<String> {
    let store = args.mirror.open()?;
    let params: Vec<Value> = args.params.iter().map(|p| param(p)).collect();
    let rows = store.sql(&args.sql, &params)?;
    Ok(if args.json {
        rows.to_maps()
            .into_iter()
            .map(|m| J::Object(m).to_string())
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        table(&rows)
    })
}

pub fn create(args: &CreateArgs) -> mooring_core::Result<String> {
    let outbox = local_outbox(&args.mirror)?;
    let id = outbox.create(&args.table, &pairs(&outbox, &args.table, &args.values)?)?;
    Ok(format!(
        "created {} {id} (pending={})",
        args.table,
        outbox.pending_count()?
    ))
}

pub fn update(args: &UpdateArgs) -> mooring_core::Result<String> {
    let outbox = local_outbox(&args.mirror)?;
    outbox.update(
        &args.table,
        &args.id,
        &pairs(&outbox, &args.table, &args.values)?,
    )?;
    Ok(format!(
        "updated {} {} (pending={})",
        args.table,
        args.id,
        outbox.pending_count()?
    ))
}

pub fn delete(args: &DeleteArgs) -> mooring_core::Result<String> {
    let outbox = local_outbox(&args.mirror)?;
    outbox.delete(&args.table, &args.id)?;
    Ok(format!(
        "deleted {} {} (pending={})",
        args.table,
        args.id,
        outbox.pending_count()?
    ))
}

/// One write of an `apply` file.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FileWrite {
    create: Option<String>,
    update: Option<String>,
    delete: Option<String>,
    id: Option<String>,
    #[serde(default)]
    values: Map<String, J>,
}

pub fn apply(args: &ApplyArgs) -> mooring_core::Result<String> {
    let text = if args.file.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(&args.file)
    }
    .map_err(|e| mooring_core::Error::Query(format!("{}: {e}", args.file.display())))?;
    let writes: Vec<FileWrite> = serde_json::from_str(&text).map_err(|e| {
        mooring_core::Error::Query(format!(
            "{}: not a JSON array of writes ({e})",
            args.file.display()
        ))
    })?;
    let outbox = local_outbox(&args.mirror)?;
    let lines = outbox.write_transaction(|tx| {
        let mut lines = Vec::with_capacity(writes.len());
        for (i, w) in writes.iter().enumerate() {
            let bad = |msg: &str| mooring_core::Error::Query(format!("write {}: {msg}", i + 1));
            let line = match (&w.create, &w.update, &w.delete, &w.id) {
                (Some(t), None, None, None) => format!("created {t} {}", tx.create(t, &w.values)?),
                (Some(t), None, None, Some(id)) => {
                    format!("created {t} {}", tx.create_with_id(t, id, &w.values)?)
                }
                (None, Some(t), None, Some(id)) => {
                    tx.update(t, id, &w.values)?;
                    format!("updated {t} {id}")
                }
                (None, None, Some(t), Some(id)) => {
                    tx.delete(t, id)?;
                    format!("deleted {t} {id}")
                }
                (None, None, None, _) => return Err(bad("needs one of create, update, delete")),
                (_, _, _, None) => return Err(bad("update and delete need an id")),
                _ => return Err(bad("one of create, update, delete per write")),
            };
            lines.push(line);
        }
        Ok(lines)
    })?;
    Ok(format!(
        "{}
one transaction of {} write{} (pending={})",
        lines.join("\n"),
        lines.len(),
        if lines.len() == 1 { "" } else { "s" },
        outbox.pending_count()?
    ))
}

/// "3 min", "2 h 5 min", "4 d": how long a change has waited.
pub fn age(ms: i64) -> String {
    let secs = (ms.max(0) / 1000) as u64;
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..86400 => format!("{} h {} min", secs / 3600, secs % 3600 / 60),
        _ => format!("{} d {} h", secs / 86400, secs % 86400 / 3600),
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// What waits in the outbox and why: nothing uploads from the command line
/// until `mooring upload` or `mooring sync` runs.
pub fn pending(args: &PendingArgs) -> mooring_core::Result<String> {
    let store = args.mirror.open()?;
    let total = store.pending_count()?;
    let errors = store.sync_error_count()?;
    let mut out = Vec::new();
    let changes = store.pending_changes(args.limit)?;
    let now = now_ms();
    match changes.first() {
        None => out.push("nothing waits for upload".to_string()),
        Some(oldest) => out.push(format!(
            "{total} change{} waiting for {}: not uploaded until `mooring upload` or `mooring sync` runs",
            if total == 1 { "" } else { "s" },
            age(now - oldest.queued_at_ms)
        )),
    }
    if !changes.is_empty() {
        out.push(listing(&changes, now));
    }
    if (changes.len() as u64) < total {
        out.push(format!("... and {} more", total - changes.len() as u64));
    }
    if errors > 0 {
        out.push(format!(
            "{errors} refused change{} in the sync errors (`mooring diagnostics --db {}`)",
            if errors == 1 { "" } else { "s" },
            args.mirror.db.display()
        ));
    }
    Ok(out.join("\n"))
}

pub(crate) fn listing(changes: &[PendingChange], now: i64) -> String {
    let rows = SqlRows {
        columns: ["seq", "table", "row", "change", "columns", "waiting"]
            .map(String::from)
            .to_vec(),
        rows: changes
            .iter()
            .map(|c| {
                let mut change = c.op.as_str().to_string();
                if let Some(txn) = c.transaction {
                    change.push_str(&format!(" (transaction {txn})"));
                }
                if c.in_flight {
                    change.push_str(&format!(
                        " (sent {} time{}, unanswered)",
                        c.attempts,
                        if c.attempts == 1 { "" } else { "s" }
                    ));
                }
                [
                    c.seq.to_string(),
                    c.table.clone(),
                    c.row_id.clone(),
                    change,
                    c.columns.join(","),
                    age(now - c.queued_at_ms),
                ]
                .map(Value::Text)
                .to_vec()
            })
            .collect(),
    };
    let text = table(&rows);
    // The row count line is the header's business here.
    text.rsplit_once('\n')
        .map(|(t, _)| t.to_string())
        .unwrap_or(text)
}
