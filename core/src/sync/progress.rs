//! Honest progress: totals fixed before downloading, a fraction that never
//! goes backwards, 100% only once everything is committed. Rows are counted
//! when their page commits, not when it arrives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Which sync a progress event is of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncKind {
    Initial,
    Delta,
}

/// One progress event.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress {
    pub phase: SyncKind,
    /// The table being downloaded, if any.
    pub table: Option<String>,
    pub tables_done: u32,
    pub tables_total: u32,
    /// Committed rows, plus the unused part of the estimate of finished
    /// tables (a filtered table has fewer rows than the table's total).
    pub rows_done: u64,
    /// Sum of the per-table totals known before download. Never decreases;
    /// grows only together with `rows_done` when a table has more rows than
    /// its total said (rows created meanwhile).
    pub rows_total: u64,
    /// Rows actually downloaded and committed by this run.
    pub rows_downloaded: u64,
    /// JSON bytes received by this run (decoded).
    pub bytes: u64,
    /// Bytes of those responses as they crossed the network (compressed).
    pub wire_bytes: u64,
    pub rows_per_sec: f64,
    pub eta: Option<Duration>,
    pub elapsed: Duration,
    /// Everything committed: the only state in which `fraction()` is 1.
    pub finished: bool,
}

impl Progress {
    /// 0.0..=1.0, monotonic over a run, 1.0 only when finished.
    pub fn fraction(&self) -> f64 {
        if self.finished {
            return 1.0;
        }
        if self.rows_total == 0 {
            return if self.tables_total == 0 {
                0.0
            } else {
                (self.tables_done as f64 / self.tables_total as f64).min(0.999)
            };
        }
        (self.rows_done as f64 / self.rows_total as f64).min(0.999)
    }
}

pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

struct State {
    cb: ProgressFn,
    started: Instant,
    phase: SyncKind,
    /// table → (estimate, counted)
    tables: HashMap<String, (u64, u64)>,
    tables_total: u32,
    tables_done: u32,
    rows_downloaded: u64,
    bytes: u64,
    wire_bytes: u64,
    current: Option<String>,
    finished: bool,
}

impl State {
    fn new(cb: ProgressFn, phase: SyncKind) -> Self {
        State {
            cb,
            started: Instant::now(),
            phase,
            tables: HashMap::new(),
            tables_total: 0,
            tables_done: 0,
            rows_downloaded: 0,
            bytes: 0,
            wire_bytes: 0,
            current: None,
            finished: false,
        }
    }

    /// Registers a table with its total and the rows already committed by
    /// an earlier, interrupted run (resume).
    pub(crate) fn add_table(&mut self, table: &str, estimate: u64, already: u64) {
        self.tables
            .insert(table.to_string(), (estimate.max(already), already));
        self.tables_total += 1;
    }

    pub(crate) fn start_table(&mut self, table: &str) {
        self.current = Some(table.to_string());
        self.emit();
    }

    /// A page arrived: `json` bytes decoded from `wire` bytes received.
    pub(crate) fn bytes(&mut self, json: u64, wire: u64) {
        self.bytes += json;
        self.wire_bytes += wire;
    }

    /// A page committed `rows` rows of `table`.
    pub(crate) fn committed(&mut self, table: &str, rows: u64) {
        self.rows_downloaded += rows;
        let e = self.tables.entry(table.to_string()).or_insert((0, 0));
        e.1 += rows;
        // More rows than the total said: the total grows with them, so the
        // fraction still moves forward.
        e.0 = e.0.max(e.1);
        self.emit();
    }

    /// The table's data is committed: its whole estimate counts as done.
    pub(crate) fn table_done(&mut self, table: &str) {
        if let Some(e) = self.tables.get_mut(table) {
            e.1 = e.0;
        }
        self.tables_done = (self.tables_done + 1).min(self.tables_total);
        if self.current.as_deref() == Some(table) {
            self.current = None;
        }
        self.emit();
    }

    pub(crate) fn finish(&mut self) {
        self.finished = true;
        self.current = None;
        self.emit();
    }

    pub(crate) fn rows_downloaded(&self) -> u64 {
        self.rows_downloaded
    }

    pub(crate) fn snapshot(&self) -> Progress {
        let rows_total: u64 = self.tables.values().map(|e| e.0).sum();
        let rows_done: u64 = self.tables.values().map(|e| e.1).sum();
        let elapsed = self.started.elapsed();
        let secs = elapsed.as_secs_f64();
        let rate = if secs > 0.0 {
            self.rows_downloaded as f64 / secs
        } else {
            0.0
        };
        let remaining = rows_total.saturating_sub(rows_done);
        let eta = if self.finished {
            Some(Duration::ZERO)
        } else if rate > 0.0 && self.rows_downloaded > 0 {
            Some(Duration::from_secs_f64(remaining as f64 / rate))
        } else {
            None
        };
        Progress {
            phase: self.phase,
            table: self.current.clone(),
            tables_done: self.tables_done,
            tables_total: self.tables_total,
            rows_done,
            rows_total,
            rows_downloaded: self.rows_downloaded,
            bytes: self.bytes,
            wire_bytes: self.wire_bytes,
            rows_per_sec: rate,
            eta,
            elapsed,
            finished: self.finished,
        }
    }

    fn emit(&self) {
        (self.cb)(&self.snapshot());
    }
}

/// Cheap to clone: tables downloading at once report into one progress,
/// its events serialised by the lock (so they stay monotonic).
#[derive(Clone)]
pub(crate) struct Tracker(Arc<Mutex<State>>);

impl Tracker {
    pub(crate) fn new(cb: ProgressFn, phase: SyncKind) -> Self {
        Tracker(Arc::new(Mutex::new(State::new(cb, phase))))
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Registers a table with its total and the rows already committed by
    /// an earlier, interrupted run (resume).
    pub(crate) fn add_table(&mut self, table: &str, estimate: u64, already: u64) {
        self.with(|s| s.add_table(table, estimate, already))
    }

    pub(crate) fn start_table(&mut self, table: &str) {
        self.with(|s| s.start_table(table))
    }

    /// A page arrived: `json` bytes decoded from `wire` bytes received.
    pub(crate) fn bytes(&mut self, json: u64, wire: u64) {
        self.with(|s| s.bytes(json, wire))
    }

    /// A page committed `rows` rows of `table`.
    pub(crate) fn committed(&mut self, table: &str, rows: u64) {
        self.with(|s| s.committed(table, rows))
    }

    /// The table's data is committed: its whole estimate counts as done.
    pub(crate) fn table_done(&mut self, table: &str) {
        self.with(|s| s.table_done(table))
    }

    pub(crate) fn finish(&mut self) {
        self.with(|s| s.finish())
    }

    pub(crate) fn rows_downloaded(&self) -> u64 {
        self.with(|s| s.rows_downloaded())
    }

    pub(crate) fn snapshot(&self) -> Progress {
        self.with(|s| s.snapshot())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fraction_is_monotonic_and_full_only_when_finished() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        let mut t = Tracker::new(
            Arc::new(move |p: &Progress| s2.lock().unwrap().push(p.clone())),
            SyncKind::Initial,
        );
        t.add_table("a", 100, 0);
        t.add_table("b", 50, 10);
        t.start_table("a");
        t.committed("a", 60);
        t.committed("a", 60); // more rows than the estimate
        t.table_done("a");
        t.start_table("b");
        t.committed("b", 5); // a filtered table: fewer than the estimate
        t.table_done("b");
        t.finish();
        let seen = seen.lock().unwrap();
        let mut last_f = 0.0;
        let mut last_total = 0;
        for p in seen.iter() {
            assert!(p.fraction() >= last_f, "{p:?}");
            assert!(p.rows_total >= last_total);
            assert!(p.finished || p.fraction() < 1.0);
            last_f = p.fraction();
            last_total = p.rows_total;
        }
        assert_eq!(seen.last().unwrap().fraction(), 1.0);
        assert_eq!(seen.last().unwrap().rows_downloaded, 125);
    }
}
