//! What an open app saw: its last status changes and sync runs, in memory
//! (bounded), for the diagnostics report.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;

const TRANSITIONS: usize = 50;
const RUNS: usize = 20;

/// One visible status change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Transition {
    pub at_ms: i64,
    pub icon: String,
    pub message_key: String,
}

/// One sync run: what it did, how long it took, how many HTTP requests it
/// made (retries included) and how it ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunRecord {
    pub started_ms: i64,
    pub duration_ms: u64,
    /// "full", "due" (the tables whose interval came) or "upload".
    pub kind: String,
    pub requests: u64,
    /// "ok", or the error's code (`Error::code`).
    pub outcome: String,
}

#[derive(Default)]
pub struct History {
    transitions: Mutex<VecDeque<Transition>>,
    runs: Mutex<VecDeque<RunRecord>>,
}

fn push<T>(q: &Mutex<VecDeque<T>>, cap: usize, item: T) {
    let mut q = q.lock().unwrap_or_else(|p| p.into_inner());
    if q.len() == cap {
        q.pop_front();
    }
    q.push_back(item);
}

impl History {
    pub(crate) fn transition(&self, t: Transition) {
        push(&self.transitions, TRANSITIONS, t);
    }

    pub(crate) fn run(&self, r: RunRecord) {
        push(&self.runs, RUNS, r);
    }

    pub fn transitions(&self) -> Vec<Transition> {
        let q = self.transitions.lock().unwrap_or_else(|p| p.into_inner());
        q.iter().cloned().collect()
    }

    pub fn runs(&self) -> Vec<RunRecord> {
        let q = self.runs.lock().unwrap_or_else(|p| p.into_inner());
        q.iter().cloned().collect()
    }
}
