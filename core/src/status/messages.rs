//! What tapping the status icon says: a stable key per case (shells translate
//! by key) and plain English. Never a raw error dump: the words come from the
//! status's own fields, which carry no server text and no secrets.

use super::{
    Activity, Connectivity, Failure, Icon, ResponseProblem, SyncStatus, UnreachableReason, Warning,
};

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
        UnreachableReason::Untrusted => {
            "This device does not trust the server's certificate: this network may be intercepting the connection, or your organisation's root certificate is not installed."
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
            } else if s.blocking_failure == Some(Failure::WrongUser) {
                (
                    "status.error.wrong_user",
                    "Signed in as another user",
                    format!(
                        "The data on this device belongs to another user than the one signed in, so it is not synced. Sign in as that user, or sign them out first.{}",
                        pending_suffix(s.pending_changes)
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
            Activity::InitialSync => {
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
            Activity::Upload => (
                "status.syncing.upload",
                "Uploading your changes",
                format!("Sending {} to the server.", changes(s.pending_changes)),
            ),
            Activity::DeltaSync | Activity::Idle => (
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
        // Connected, but to a server this device does not trust: "connect
        // to the internet" would send the user looking in the wrong place.
        Some(Warning::FirstSyncNeedsConnection)
            if s.connectivity == Connectivity::Unreachable(UnreachableReason::Untrusted) =>
        {
            (
                "status.warning.first_sync_needs_connection",
                "The first sync needs a connection",
                format!(
                    "{} Your data downloads for the first time once the server can be trusted.",
                    unreachable_text(UnreachableReason::Untrusted)
                ),
            )
        }
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
        Some(Warning::Retrying { attempt, next_in_secs }) if s.bad_response.is_some() => {
            let p = s.bad_response.unwrap_or(ResponseProblem::Unexpected);
            bad_response_text(p, attempt, next_in_secs)
        }
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

/// The server answered with a success status but not with what the
/// protocol promises: say what it sent, in words, and when we try again.
fn bad_response_text(
    p: ResponseProblem,
    attempt: u32,
    next_in_secs: u64,
) -> (&'static str, &'static str, String) {
    let (key, what) = match p {
        ResponseProblem::Html => (
            "status.warning.bad_response.html",
            "The server answered with a web page instead of data: this network may need you to sign in to it (a hotel or guest Wi-Fi).",
        ),
        ResponseProblem::WrongContentType => (
            "status.warning.bad_response.wrong_content_type",
            "The server answered with something other than data (a wrong content type): a proxy or gateway may be in the way.",
        ),
        ResponseProblem::Truncated => (
            "status.warning.bad_response.truncated",
            "The server's answer was cut short.",
        ),
        ResponseProblem::Malformed => (
            "status.warning.bad_response.malformed",
            "The server's answer could not be read.",
        ),
        ResponseProblem::DuplicateRows => (
            "status.warning.bad_response.duplicate_rows",
            "The server sent the same row twice in one answer.",
        ),
        ResponseProblem::WrongTable => (
            "status.warning.bad_response.wrong_table",
            "The server sent rows of another table than the one asked for.",
        ),
        ResponseProblem::Unexpected => (
            "status.warning.bad_response.unexpected",
            "The server answered something unexpected.",
        ),
    };
    (
        key,
        "The server sent an unexpected answer",
        format!(
            "{what} Nothing on this device was changed by it. Trying again in {} (attempt {attempt}).",
            plural(next_in_secs, "second", "seconds")
        ),
    )
}

fn pending_suffix(pending: u64) -> String {
    if pending == 0 {
        String::new()
    } else {
        format!(" {} stay saved on this device meanwhile.", changes(pending))
    }
}

#[cfg(test)]
mod bad_response_tests {
    use super::super::{Activity, Event, Failure, ResponseProblem, StatusMachine};

    /// Each kind of nonsense has its own stable key and says what came
    /// back; a later success clears it.
    #[test]
    fn each_problem_has_a_key_and_a_reason() {
        for (p, key, words) in [
            (
                ResponseProblem::Html,
                "status.warning.bad_response.html",
                "web page",
            ),
            (
                ResponseProblem::WrongContentType,
                "status.warning.bad_response.wrong_content_type",
                "content type",
            ),
            (
                ResponseProblem::Truncated,
                "status.warning.bad_response.truncated",
                "cut short",
            ),
            (
                ResponseProblem::Malformed,
                "status.warning.bad_response.malformed",
                "could not be read",
            ),
            (
                ResponseProblem::DuplicateRows,
                "status.warning.bad_response.duplicate_rows",
                "same row twice",
            ),
            (
                ResponseProblem::WrongTable,
                "status.warning.bad_response.wrong_table",
                "another table",
            ),
            (
                ResponseProblem::Unexpected,
                "status.warning.bad_response.unexpected",
                "unexpected",
            ),
        ] {
            let mut m = StatusMachine::new();
            m.apply(Event::Opened {
                initial_sync_complete: true,
                pending_changes: 0,
                sync_errors: 0,
                last_synced_at_ms: Some(1),
            });
            m.apply(Event::Probed(super::Connectivity::Reachable));
            m.apply(Event::SyncStarted(Activity::DeltaSync));
            m.apply(Event::ResponseProblem(Some(p)));
            m.apply(Event::SyncFailed {
                phase: Activity::DeltaSync,
                failure: Failure::Transient {
                    attempt: 2,
                    next_in_secs: 30,
                },
            });
            let s = m.status();
            assert_eq!(s.icon, super::Icon::Warning, "{p:?}");
            assert_eq!(s.bad_response, Some(p));
            assert_eq!(s.message.key, key);
            assert!(key.ends_with(p.as_str()));
            assert!(
                s.message.description.contains(words),
                "{}",
                s.message.description
            );
            assert!(s.message.description.contains("30 seconds"));
            m.apply(Event::ResponseProblem(None));
            m.apply(Event::SyncSucceeded {
                phase: Activity::DeltaSync,
                at_ms: 2,
            });
            assert_eq!(m.status().bad_response, None);
            assert_eq!(m.status().message.key, "status.connected");
        }
        // A plain transient failure keeps the generic retrying message.
        let mut m = StatusMachine::new();
        m.apply(Event::Opened {
            initial_sync_complete: true,
            pending_changes: 0,
            sync_errors: 0,
            last_synced_at_ms: Some(1),
        });
        m.apply(Event::Probed(super::Connectivity::Reachable));
        m.apply(Event::ResponseProblem(None));
        m.apply(Event::SyncFailed {
            phase: Activity::DeltaSync,
            failure: Failure::Transient {
                attempt: 1,
                next_in_secs: 5,
            },
        });
        assert_eq!(m.status().message.key, "status.warning.retrying");
    }
}
