//! One status as text: the stable script line (`status icon=<icon>
//! pending=<n> errors=<n> ...`, parsed by tests) and the live line a person
//! reads (icon glyph and colour, pending count, last sync).

use mooring_core::status::{Activity, Connectivity};
use mooring_core::{Icon, SyncStatus};

/// `status icon=<icon> pending=<n> errors=<n> canvas=<..> connectivity=<..>
/// phase=<..> last_sync=<..>`: the first three fields keep this exact form.
pub fn script(s: &SyncStatus) -> String {
    format!(
        "status icon={} pending={} errors={} canvas={:?} connectivity={} phase={} last_sync={} key={}",
        s.icon,
        s.pending_changes,
        s.sync_errors,
        s.canvas,
        connectivity(s.connectivity),
        phase(s.phase),
        s.last_synced_at_ms
            .map(time_of)
            .unwrap_or_else(|| "never".into()),
        s.message.key
    )
}

pub fn pretty(s: &SyncStatus, colour: bool) -> String {
    let (glyph, code) = match s.icon {
        Icon::Connected => ("●", "32"),
        Icon::NotConnected => ("○", "90"),
        Icon::Syncing => ("⟳", "36"),
        Icon::PendingUpload => ("↑", "33"),
        Icon::Error => ("✖", "31"),
        Icon::Warning => ("▲", "33"),
    };
    let head = format!("{glyph} {}", s.icon);
    let head = if colour {
        format!("\x1b[{code}m{head}\x1b[0m")
    } else {
        head
    };
    let mut line = format!(
        "{head} · {} · {} pending",
        s.message.title, s.pending_changes
    );
    if s.sync_errors > 0 {
        line.push_str(&format!(" · {} sync errors", s.sync_errors));
    }
    line.push_str(&format!(
        " · last sync {}",
        s.last_synced_at_ms
            .map(time_of)
            .unwrap_or_else(|| "never".into())
    ));
    line
}

fn connectivity(c: Connectivity) -> String {
    match c {
        Connectivity::Checking => "checking".into(),
        Connectivity::Offline => "offline".into(),
        Connectivity::Unreachable(r) => format!("unreachable:{}", format!("{r:?}").to_lowercase()),
        Connectivity::Reachable => "reachable".into(),
        Connectivity::AuthRejected => "auth_rejected".into(),
        Connectivity::Throttled { retry_after_secs } => format!("throttled:{retry_after_secs}s"),
    }
}

fn phase(p: Activity) -> &'static str {
    match p {
        Activity::Idle => "idle",
        Activity::InitialSync => "initial_sync",
        Activity::DeltaSync => "delta_sync",
        Activity::Upload => "upload",
    }
}

/// Unix ms as UTC `HH:MM:SS` today, or the full date otherwise.
pub fn time_of(ms: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000) {
        Ok(t) => {
            let fmt =
                time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
            t.format(&fmt).unwrap_or_else(|_| ms.to_string())
        }
        Err(_) => ms.to_string(),
    }
}
