//! What tapping the status icon says: a stable key per case (shells translate
//! by key) and plain English. Never a raw error dump: the words come from the
//! status's own fields, which carry no server text and no secrets.

use super::{Connectivity, Failure, Icon, Phase, SyncStatus, UnreachableReason, Warning};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// Stable across releases: `status.<icon>.<case>`.
    pub key: &'static str,
    pub title: String,
    pub description: String,
}

impl Message {
    pub(super) fn placeholder() -> Self {
        Message {
            key: "",
            title: String::new(),
            description: String::new(),
        }
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn changes(n: u64) -> String {
    plural(n, "change", "changes")
}

fn unreachable_text(reason: UnreachableReason) -> &'static str {
    match reason {
        UnreachableReason::Timeout => "The server did not answer in time.",
        UnreachableReason::NoRoute => "The server cannot be reached from this network.",
        UnreachableReason::CaptivePortal => {
            "This network answered with a page of its own: it may need you to sign in to it (a hotel or guest Wi-Fi)."
        }
    }
}

pub(super) fn explain(s: &SyncStatus) -> Message {
    let (key, title, description): (&'static str, &str, String) = match s.icon {
        Icon::Error => {
            if s.sync_errors > 0 {
                (
                    "status.error.sync_errors",
                    "Some changes were not saved",
                    format!(
                        "The server rejected {}. Open the sync errors to retry or discard {}; your other changes keep syncing.",
                        changes(s.sync_errors),
                        if s.sync_errors == 1 { "it" } else { "them" }
                    ),
                )
            } else if s.blocking_failure == Some(Failure::Storage) {
                (
                    "status.error.storage",
                    "Storage problem",
                    "The data on this device could not be read or written (the device may be out of space). Sync is paused until it is fixed.".to_string(),
                )
            } else {
                (
                    "status.error.auth",
                    "Sign in again",
                    format!(
                        "The server no longer accepts your sign-in. Sign in again to resume sync.{}",
                        pending_suffix(s.pending_changes)
                    ),
                )
            }
        }
        Icon::Syncing => match s.phase {
            Phase::InitialSync => {
                let p = s.initial_progress.unwrap_or_default();
                (
                    "status.syncing.initial",
                    "Downloading your data",
                    format!(
                        "{} of {} rows and {} of {} tables downloaded.",
                        p.rows_done, p.rows_total, p.tables_done, p.tables_total
                    ),
                )
            }
            Phase::Upload => (
                "status.syncing.upload",
                "Uploading your changes",
                format!("Sending {} to the server.", changes(s.pending_changes)),
            ),
            Phase::DeltaSync | Phase::Idle => (
                "status.syncing.delta",
                "Syncing",
                "Getting the latest changes from the server.".to_string(),
            ),
        },
        Icon::PendingUpload => {
            if s.connectivity == Connectivity::Reachable {
                (
                    "status.pending_upload.online",
                    "Changes waiting to upload",
                    format!("{} will be uploaded in a moment.", changes(s.pending_changes)),
                )
            } else {
                (
                    "status.pending_upload.offline",
                    "Changes saved on this device",
                    format!(
                        "{} saved on this device will be uploaded when you are back online.",
                        changes(s.pending_changes)
                    ),
                )
            }
        }
        Icon::Warning => warning_text(s),
        Icon::NotConnected => match s.connectivity {
            _ if !s.initial_sync_complete && s.initial_progress.is_some_and(|p| p.rows_done > 0) => {
                let p = s.initial_progress.unwrap_or_default();
                (
                    "status.not_connected.first_sync_paused",
                    "Not connected",
                    format!(
                        "The first download paused at {} of {} rows. It resumes where it stopped when you reconnect; the rows downloaded so far are available.",
                        p.rows_done, p.rows_total
                    ),
                )
            }
            Connectivity::Checking => (
                "status.not_connected.checking",
                "Checking the connection",
                "Looking for the server. Your data on this device stays available.".to_string(),
            ),
            _ => (
                "status.not_connected.offline",
                "Not connected",
                "You are offline. You can keep working: changes are saved on this device and uploaded when you reconnect.".to_string(),
            ),
        },
        Icon::Connected => (
            "status.connected",
            "Up to date",
            "Connected, and everything is synced.".to_string(),
        ),
    };
    Message {
        key,
        title: title.to_string(),
        description,
    }
}

fn warning_text(s: &SyncStatus) -> (&'static str, &'static str, String) {
    // The first warning is the most important one; the list order is set by
    // `StatusMachine::warnings`.
    match s.warnings.first().copied() {
        Some(Warning::FirstSyncNeedsConnection) => (
            "status.warning.first_sync_needs_connection",
            "The first sync needs a connection",
            "Connect to the internet to download your data for the first time. After that the app works offline.".to_string(),
        ),
        Some(Warning::ServerUnreachable(reason)) => (
            "status.warning.server_unreachable",
            "Server unreachable",
            format!("{} Sync resumes by itself when the server answers.", unreachable_text(reason)),
        ),
        Some(Warning::Throttled { retry_after_secs }) => (
            "status.warning.throttled",
            "The server asked us to slow down",
            format!(
                "Too many requests were sent in a short time. Sync resumes by itself in about {}.",
                plural(retry_after_secs, "second", "seconds")
            ),
        ),
        Some(Warning::Retrying { attempt, next_in_secs }) => (
            "status.warning.retrying",
            "Sync is retrying",
            format!(
                "The last sync did not finish (attempt {attempt}). Trying again in {}.",
                plural(next_in_secs, "second", "seconds")
            ),
        ),
        Some(Warning::FirstSyncIncomplete) => (
            "status.warning.first_sync_incomplete",
            "Your data is not fully downloaded yet",
            "The first download stopped before the end. It resumes by itself; until then some rows are missing on this device.".to_string(),
        ),
        Some(Warning::WaitingForWifi) => (
            "status.warning.waiting_for_wifi",
            "Waiting for Wi-Fi",
            "Sync is set to use Wi-Fi only and this network is metered.".to_string(),
        ),
        None => ("status.warning.unknown", "Warning", String::new()),
    }
}

fn pending_suffix(pending: u64) -> String {
    if pending == 0 {
        String::new()
    } else {
        format!(" {} stay saved on this device meanwhile.", changes(pending))
    }
}
