//! The fault driver: a run's faults (and the other user's edits during it)
//! as a timeline of actions on the emulator's admin API.

use std::time::Duration;

use mooring_devserver::Admin;

use super::schedule::{Fault, Op, Run};

#[derive(Clone, Debug)]
pub enum Action {
    Fault(Fault),
    /// The end of a `RefuseConnections`.
    AcceptAgain,
    /// The end of a `RevokeToken`.
    Restore,
    /// An edit by the other user while the process runs.
    Server(Op),
}

/// (ms after the start, action), in time order.
pub fn timeline(run: &Run) -> Vec<(u64, Action)> {
    let mut out: Vec<(u64, Action)> = Vec::new();
    for (at, f) in &run.faults {
        out.push((*at, Action::Fault(*f)));
        match f {
            Fault::RefuseConnections { for_ms } => out.push((at + for_ms, Action::AcceptAgain)),
            Fault::RevokeToken { for_ms } => out.push((at + for_ms, Action::Restore)),
            _ => {}
        }
    }
    for (at, op) in &run.server {
        out.push((*at, Action::Server(op.clone())));
    }
    // Stable: at one moment, faults before the edits, as scheduled.
    out.sort_by_key(|(at, _)| *at);
    out
}

/// Switches one fault on (`token`: the client's bearer token).
pub fn inject(admin: &Admin, token: &str, f: Fault) {
    match f {
        Fault::RefuseConnections { .. } => admin.set_refusing_connections(true),
        Fault::Fail500 { count } => admin.fail_next(count, 500),
        Fault::Throttle429 { count } => admin.fail_next(count, 429),
        Fault::CutBody { rows } => admin.truncate_next_page_after(rows),
        Fault::Latency { ms } => admin.set_latency(Duration::from_millis(ms)),
        Fault::ExpireDeltaTokens => admin.expire_delta_tokens(),
        Fault::RevokeToken { .. } => admin.set_token_revoked(token, true),
    }
}
