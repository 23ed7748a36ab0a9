//! The diagnostics report a support engineer asks a user for: versions,
//! the profile, each table's sync state, the outbox, the sync errors (codes,
//! never values), the recent status changes and sync runs, the database's
//! size and integrity, and the recent log records kept in the mirror.
//!
//! Built from what the mirror remembers (`Report::from_store`, which is
//! what `mooring diagnostics --db` prints) plus, for an open app, what it
//! saw since it opened (`Mooring::diagnostics`). Nothing in it is a token,
//! a key or a row's value: the report names tables, columns, ids, counts,
//! codes and times (the secrets test in `core/tests/security_logs.rs`
//! checks it).

mod history;
mod log_ring;
mod text;

pub use history::{History, RunRecord, Transition};
pub(crate) use log_ring::since as log_since;
pub use log_ring::{LogRecord, LogRing, log_layer};

use serde::Serialize;

use crate::error::Result;
use crate::profile::Rows;
use crate::store::{Store, TablePhase};

/// Log records a report carries.
const LOG_RECORDS: usize = 200;

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub generated_at_ms: i64,
    pub versions: Versions,
    pub database: DatabaseInfo,
    /// The profile the mirror follows (None: it never connected).
    pub profile: Option<Vec<ProfileTable>>,
    pub tables: Vec<TableReport>,
    pub outbox: OutboxReport,
    pub sync_errors: Vec<SyncErrorSummary>,
    /// The live status, when the report comes from an open app.
    pub status: Option<StatusSummary>,
    /// Status changes and sync runs since the app opened (newest last).
    pub transitions: Vec<Transition>,
    pub runs: Vec<RunRecord>,
    /// Recent log records kept in the mirror (oldest first).
    pub log: Vec<LogRecord>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Versions {
    pub mooring: String,
    /// Mooring's own schema in this file (`user_version`).
    pub schema: u32,
    pub sqlite: String,
    pub os: String,
    pub arch: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct DatabaseInfo {
    /// The file name only (the folder can name the user).
    pub file: String,
    pub size_bytes: u64,
    pub wal_bytes: u64,
    pub encrypted: bool,
    /// `PRAGMA integrity_check`'s answer: "ok", or its first problems.
    pub integrity: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ProfileTable {
    pub name: String,
    pub columns: Vec<String>,
    /// "all", or which rows: owned, related, the OData filter.
    pub rows: String,
    pub interval_minutes: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct TableReport {
    pub name: String,
    pub phase: String,
    pub rows: u64,
    /// The server's count when the baseline started.
    pub rows_total: Option<u64>,
    pub last_synced_ms: Option<i64>,
    /// A baseline or delta page is to be continued (the link itself is not
    /// shown).
    pub interrupted: bool,
    pub change_tracked: bool,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct OutboxReport {
    pub pending: u64,
    pub creates: u64,
    pub updates: u64,
    pub deletes: u64,
    /// Sent in a batch the server has not answered yet (a kill mid-upload).
    pub in_flight: u64,
    pub oldest_pending_age_secs: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SyncErrorSummary {
    pub id: i64,
    pub at_ms: i64,
    pub table: String,
    pub action: String,
    pub status: u16,
    /// The server's OData code (a constant), never its message.
    pub code: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct StatusSummary {
    pub icon: String,
    pub message_key: String,
    pub connectivity: String,
    pub pending_changes: u64,
    pub sync_errors: u64,
    pub warnings: Vec<String>,
}

impl Report {
    /// What the mirror at `store` remembers; no live status or history.
    pub fn from_store(store: &Store) -> Result<Report> {
        let now = crate::now_ms();
        let profile = store.resolved_profile()?;
        let mut tables = Vec::new();
        for name in store.tables()? {
            let state = store.table_state(&name)?;
            tables.push(TableReport {
                rows: store.count(&name).unwrap_or(0),
                phase: state
                    .as_ref()
                    .map(|s| phase_name(s.phase))
                    .unwrap_or("new")
                    .to_string(),
                rows_total: state.as_ref().and_then(|s| s.rows_total),
                last_synced_ms: state.as_ref().and_then(|s| s.last_synced_ms),
                interrupted: state.as_ref().is_some_and(|s| s.next_link.is_some()),
                change_tracked: state.as_ref().is_some_and(|s| s.delta_link.is_some()),
                name,
            });
        }
        let outbox = store.outbox_report(now)?;
        let sync_errors = store
            .sync_errors()?
            .into_iter()
            .map(|e| SyncErrorSummary {
                id: e.id,
                at_ms: e.at_ms,
                table: e.table,
                action: e.action.as_str().to_string(),
                status: e.status,
                code: e.code,
            })
            .collect();
        let (schema, sqlite, integrity) = store.with_reader(|c| {
            let schema: u32 = c.pragma_query_value(None, "user_version", |r| r.get(0))?;
            let sqlite: String = c.query_row("SELECT sqlite_version()", [], |r| r.get(0))?;
            let mut stmt = c.prepare("PRAGMA integrity_check(5)")?;
            let problems = stmt
                .query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((schema, sqlite, problems.join("; ")))
        })?;
        let size = |suffix: &str| {
            let mut p = store.path().as_os_str().to_owned();
            p.push(suffix);
            std::fs::metadata(p).map(|m| m.len()).unwrap_or(0)
        };
        Ok(Report {
            generated_at_ms: now,
            versions: Versions {
                mooring: env!("CARGO_PKG_VERSION").to_string(),
                schema,
                sqlite,
                os: std::env::consts::OS.to_string(),
                arch: std::env::consts::ARCH.to_string(),
            },
            database: DatabaseInfo {
                file: store
                    .path()
                    .file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                size_bytes: size(""),
                wal_bytes: size("-wal"),
                encrypted: store.is_encrypted(),
                integrity,
            },
            profile: profile.map(|p| {
                p.tables
                    .iter()
                    .map(|t| ProfileTable {
                        name: t.name.clone(),
                        columns: t
                            .columns
                            .iter()
                            .filter(|c| !c.hidden)
                            .map(|c| c.name.clone())
                            .collect(),
                        rows: rows_text(&t.rows),
                        interval_minutes: t.interval_minutes,
                    })
                    .collect()
            }),
            tables,
            outbox,
            sync_errors,
            status: None,
            transitions: Vec::new(),
            runs: Vec::new(),
            log: store.recent_log(LOG_RECORDS)?,
        })
    }

    /// Adds what an open app saw: its status now and its history.
    pub(crate) fn with_live(mut self, status: &crate::SyncStatus, history: &History) -> Report {
        self.status = Some(StatusSummary {
            icon: format!("{:?}", status.icon),
            message_key: status.message.key.to_string(),
            connectivity: format!("{:?}", status.connectivity),
            pending_changes: status.pending_changes,
            sync_errors: status.sync_errors,
            warnings: status.warnings.iter().map(|w| format!("{w:?}")).collect(),
        });
        self.transitions = history.transitions();
        self.runs = history.runs();
        self
    }

    /// The report as JSON (for tools).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }

    /// The report as plain text a user can paste into a support ticket.
    pub fn to_text(&self) -> String {
        text::render(self)
    }
}

fn phase_name(p: TablePhase) -> &'static str {
    match p {
        TablePhase::Initial => "initial sync",
        TablePhase::Ready => "ready",
    }
}

fn rows_text(rows: &Rows) -> String {
    match rows {
        Rows::All => "all".into(),
        Rows::Some {
            owned,
            filter,
            related,
        } => {
            let mut parts = Vec::new();
            if *owned {
                parts.push("owned by the user".to_string());
            }
            if *related {
                parts.push("related".to_string());
            }
            if let Some(f) = filter {
                parts.push(format!("filter {f}"));
            }
            parts.join(" or ")
        }
    }
}
