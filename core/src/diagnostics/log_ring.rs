//! The recent log records a diagnostics report carries: a `tracing` layer
//! that keeps Mooring's own records (targets `mooring*`, INFO and above) in
//! a bounded in-memory ring; each open app moves them into its mirror
//! (`mooring_log`, capped) after every sync run, at close and when a report
//! is made, so the records before a crash are still there at the next
//! launch. Mooring's log lines carry no token (`Secret` prints `***`) and
//! no row value (errors are logged by their value-free `Error::summary`).
//!
//! The host adds it to its subscriber: `init_logging` (FFI) and the CLI do;
//! a Rust embedder adds `mooring_core::diagnostics::log_layer()` to its
//! `tracing_subscriber::registry()`.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;

/// Records kept in memory between two moves into a mirror.
const CAPACITY: usize = 256;

/// One log record, as the report shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogRecord {
    /// Unix milliseconds.
    pub at_ms: i64,
    pub level: String,
    pub target: String,
    /// The message and its fields (`key=value`).
    pub message: String,
}

struct Ring {
    /// The sequence number of the next record.
    next: u64,
    records: VecDeque<(u64, LogRecord)>,
}

static RING: Mutex<Ring> = Mutex::new(Ring {
    next: 1,
    records: VecDeque::new(),
});

fn ring() -> std::sync::MutexGuard<'static, Ring> {
    // Plain data, updated in one step: a poisoned lock is still consistent.
    RING.lock().unwrap_or_else(|p| p.into_inner())
}

/// The layer that fills the ring.
pub fn log_layer() -> LogRing {
    LogRing
}

/// See the module docs.
pub struct LogRing;

impl<S: Subscriber> Layer<S> for LogRing {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if *meta.level() > Level::INFO || !meta.target().starts_with("mooring") {
            return;
        }
        let mut text = Text::default();
        event.record(&mut text);
        push(LogRecord {
            at_ms: crate::now_ms(),
            level: meta.level().as_str().to_string(),
            target: meta.target().to_string(),
            message: text.0,
        });
    }
}

pub(crate) fn push(record: LogRecord) {
    let mut ring = ring();
    let seq = ring.next;
    ring.next += 1;
    if ring.records.len() == CAPACITY {
        ring.records.pop_front();
    }
    ring.records.push_back((seq, record));
}

/// The records after sequence number `after`, and the last one's number
/// (the cursor for the next call).
pub(crate) fn since(after: u64) -> (Vec<LogRecord>, u64) {
    let ring = ring();
    let records = ring
        .records
        .iter()
        .filter(|(seq, _)| *seq > after)
        .map(|(_, r)| r.clone())
        .collect();
    (records, ring.next - 1)
}

/// The message first, then the other fields.
#[derive(Default)]
struct Text(String);

impl Visit for Text {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let rest = std::mem::take(&mut self.0);
            let _ = write!(self.0, "{value:?}");
            if !rest.is_empty() {
                self.0.push(' ');
                self.0.push_str(&rest);
            }
        } else {
            if !self.0.is_empty() {
                self.0.push(' ');
            }
            let _ = write!(self.0, "{}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.record_debug(field, &format_args!("{value}"));
    }
}
