//! Why the outbox's changes have not reached the server yet, in words the
//! app can show beside them ("3 changes waiting for 2 h: no connection").
//! Pure: the scheduler's policy decides the reason (`Policy::upload_wait`),
//! this module only names and describes it.

/// Why pending changes wait. Every change waits for the same reason but
/// those already sent (`PendingChange::in_flight`), which are `Uploading`.
/// A refused change never holds others back: it leaves the queue for the
/// sync errors list, so there is no "blocked behind" reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UploadWait {
    /// An upload (or a sync, which uploads first) is running now.
    Uploading,
    /// The next upload is due in this long: the pause after a local write
    /// that gathers several into one request, or the next run.
    Soon { in_secs: u64 },
    /// The device has no network.
    Offline,
    /// The connection to the server is being checked.
    Checking,
    /// The OS says online, but the server does not answer.
    ServerUnreachable,
    /// Sync is paused (the app is in the background, or paused it).
    Paused,
    /// Sync is set to Wi-Fi only and this network is metered.
    WaitingForWifi,
    /// The server throttles this user; retried after its delay.
    Throttled { retry_after_secs: u64 },
    /// The last upload failed for a passing reason; retried in this long.
    Retrying { in_secs: u64 },
    /// The server refuses the token: the user must sign in again.
    SignInNeeded,
    /// The server signs in another user than this mirror's.
    WrongUser,
}

impl UploadWait {
    /// The reason, as the end of a sentence ("waiting: no connection").
    pub fn reason(self) -> String {
        match self {
            UploadWait::Uploading => "uploading now".into(),
            UploadWait::Soon { in_secs: 0 } => "uploading in a moment".into(),
            UploadWait::Soon { in_secs } => format!("next upload in {}", duration(in_secs)),
            UploadWait::Offline => "no connection".into(),
            UploadWait::Checking => "checking the connection".into(),
            UploadWait::ServerUnreachable => "the server cannot be reached".into(),
            UploadWait::Paused => "sync is paused".into(),
            UploadWait::WaitingForWifi => "waiting for Wi-Fi (sync is set to Wi-Fi only)".into(),
            UploadWait::Throttled { retry_after_secs } => format!(
                "the server asked to slow down, retrying in {}",
                duration(retry_after_secs)
            ),
            UploadWait::Retrying { in_secs } => {
                format!("the last upload failed, retrying in {}", duration(in_secs))
            }
            UploadWait::SignInNeeded => "sign in again to upload".into(),
            UploadWait::WrongUser => "the server signs in another user than this device's".into(),
        }
    }
}

/// One line for `count` pending changes, the oldest `oldest_age_secs` old:
/// "3 changes waiting for 2 h: no connection". None when nothing waits.
pub fn describe_pending(count: u64, oldest_age_secs: u64, wait: UploadWait) -> Option<String> {
    if count == 0 {
        return None;
    }
    let what = if count == 1 {
        "1 change".to_string()
    } else {
        format!("{count} changes")
    };
    Some(format!(
        "{what} waiting for {}: {}",
        duration(oldest_age_secs),
        wait.reason()
    ))
}

/// Seconds as a person says them: "40 s", "5 min", "2 h", "3 days".
fn duration(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs} s"),
        60..3600 => format!("{} min", secs / 60),
        3600..86_400 => format!("{} h", secs / 3600),
        _ if secs < 2 * 86_400 => "1 day".into(),
        _ => format!("{} days", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_the_count_the_age_and_the_reason() {
        assert_eq!(describe_pending(0, 10, UploadWait::Offline), None);
        assert_eq!(
            describe_pending(3, 2 * 3600 + 59, UploadWait::Offline).as_deref(),
            Some("3 changes waiting for 2 h: no connection")
        );
        assert_eq!(
            describe_pending(1, 45, UploadWait::Soon { in_secs: 2 }).as_deref(),
            Some("1 change waiting for 45 s: next upload in 2 s")
        );
        assert_eq!(
            describe_pending(2, 3 * 86_400, UploadWait::WaitingForWifi).as_deref(),
            Some("2 changes waiting for 3 days: waiting for Wi-Fi (sync is set to Wi-Fi only)")
        );
        assert_eq!(
            describe_pending(1, 90_000, UploadWait::Retrying { in_secs: 300 }).as_deref(),
            Some("1 change waiting for 1 day: the last upload failed, retrying in 5 min")
        );
    }
}
