//! The sync status the app shows: one of six icons, what tapping it says,
//! and the numbers behind it. A pure state machine: events in, status out.
//! No clock, no I/O, no storage: the engine and the shells feed it events
//! (times travel inside them), so every transition is testable as data.

mod messages;

pub use messages::Message;

/// The six states of the sync status icon, as Power Apps mobile shows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Icon {
    Connected,
    NotConnected,
    Syncing,
    PendingUpload,
    Error,
    Warning,
}

impl Icon {
    /// The stable snake_case name shells and scripts use.
    pub fn as_str(self) -> &'static str {
        match self {
            Icon::Connected => "connected",
            Icon::NotConnected => "not_connected",
            Icon::Syncing => "syncing",
            Icon::PendingUpload => "pending_upload",
            Icon::Error => "error",
            Icon::Warning => "warning",
        }
    }
}

impl std::fmt::Display for Icon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The canvas app's `Connection.Sync` value this status corresponds to: the
/// nine documented values combine "is the server reachable" with the state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CanvasSync {
    Connected,
    ConnectedWithWarning,
    ConnectedPendingUpsync,
    ConnectedError,
    ConnectedRefresh,
    NotConnected,
    NotConnectedWithWarning,
    NotConnectedPendingUpsync,
    NotConnectedSyncError,
}

/// Why the server cannot be reached although the OS says we are online.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnreachableReason {
    /// The probe timed out.
    Timeout,
    /// The name did not resolve or the connection was refused or reset.
    NoRoute,
    /// Something answered, but not Dataverse (a captive portal's login page,
    /// a proxy's HTML): the network needs the user's attention.
    CaptivePortal,
    /// The server's certificate is not trusted (or the TLS handshake
    /// failed): a network that intercepts TLS, or a company root not
    /// installed on the device.
    Untrusted,
}

/// What was wrong with a response the server sent with a success status:
/// the reason a retried sync gives (`Failure::Transient`), so the message
/// can say more than "it failed".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResponseProblem {
    /// An HTML page instead of data: a captive portal or a proxy's page.
    Html,
    /// A content type other than JSON.
    WrongContentType,
    /// JSON that stops before its end.
    Truncated,
    /// Bytes that are not JSON, or JSON of another shape.
    Malformed,
    /// The same row twice in one page.
    DuplicateRows,
    /// A page whose `@odata.context` names another table than the one asked.
    WrongTable,
    /// Anything else outside the documented protocol.
    Unexpected,
}

impl ResponseProblem {
    /// The stable snake_case name (message keys end with it).
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseProblem::Html => "html",
            ResponseProblem::WrongContentType => "wrong_content_type",
            ResponseProblem::Truncated => "truncated",
            ResponseProblem::Malformed => "malformed",
            ResponseProblem::DuplicateRows => "duplicate_rows",
            ResponseProblem::WrongTable => "wrong_table",
            ResponseProblem::Unexpected => "unexpected",
        }
    }
}

/// What we know about reaching the server. Only `Reachable` lets sync run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Connectivity {
    /// The OS says online and no probe has answered yet.
    Checking,
    /// The OS says there is no network.
    Offline,
    /// The OS says online, but the server cannot be reached.
    Unreachable(UnreachableReason),
    /// The server answered the probe with our token accepted.
    Reachable,
    /// The server answered, but rejected our token (even after a refresh).
    AuthRejected,
    /// The server answered 429: service protection limits.
    Throttled { retry_after_secs: u64 },
}

impl Connectivity {
    /// Whether the server answers at all (the "Connected" half of the canvas
    /// values): a rejected token or throttling still means connected.
    pub fn server_answers(self) -> bool {
        matches!(
            self,
            Connectivity::Reachable | Connectivity::AuthRejected | Connectivity::Throttled { .. }
        )
    }
}

/// What sync is doing right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Activity {
    Idle,
    InitialSync,
    DeltaSync,
    Upload,
}

/// Initial-sync progress: what the loading screen shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    pub tables_done: u32,
    pub tables_total: u32,
    pub rows_done: u64,
    pub rows_total: u64,
    pub bytes: u64,
    pub eta_secs: Option<u64>,
}

/// Conditions that deserve the user's attention but need no action now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Warning {
    /// The first sync has never completed and there is no connection.
    FirstSyncNeedsConnection,
    /// The server throttles us; sync waits and goes on by itself.
    Throttled { retry_after_secs: u64 },
    /// The last sync failed for a passing reason (timeout, 5xx, a dropped
    /// connection, a response that made no sense); it is retried.
    Retrying { attempt: u32, next_in_secs: u64 },
    /// Sync is set to Wi-Fi only and the network is metered.
    WaitingForWifi,
    /// The server answers but the first sync stopped before the end (paused,
    /// cancelled): the data on this device is incomplete until it resumes.
    FirstSyncIncomplete,
    /// The server could not be reached although the OS says online.
    ServerUnreachable(UnreachableReason),
}

/// Why a sync could not go on. Passing failures become warnings and are
/// retried; the others become errors until something changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Failure {
    /// Timeout, 5xx, dropped connection, nonsense from the server: retried.
    Transient { attempt: u32, next_in_secs: u64 },
    /// 429: retried after the server's delay.
    Throttled { retry_after_secs: u64 },
    /// The token was rejected even after asking the host for a fresh one.
    Auth,
    /// The network went away mid-sync: resumes on reconnect.
    Offline,
    /// Local storage failed (disk full, database corrupt): needs attention.
    Storage,
    /// The server signs in another user than the one this local database
    /// belongs to: nothing is synced into it until that changes.
    WrongUser,
}

/// Everything that can change the status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The database was opened: what it remembers.
    Opened {
        initial_sync_complete: bool,
        pending_changes: u64,
        sync_errors: u64,
        last_synced_at_ms: Option<i64>,
    },
    /// What the host OS says about the network.
    HostNetwork {
        online: bool,
        metered: bool,
    },
    /// The user's "sync on Wi-Fi only" setting.
    WifiOnly(bool),
    /// The active probe's answer. Ignored while the OS says offline.
    Probed(Connectivity),
    SyncStarted(Activity),
    InitialProgress(Progress),
    SyncSucceeded {
        phase: Activity,
        at_ms: i64,
    },
    SyncFailed {
        phase: Activity,
        failure: Failure,
    },
    /// Sync stopped on request (cancel, app to background): no failure.
    SyncStopped,
    PendingChanged(u64),
    SyncErrorsChanged(u64),
    /// Sent just before a `SyncFailed`: what was wrong with the server's
    /// answer, if the failure was a response outside the protocol.
    ResponseProblem(Option<ResponseProblem>),
}

/// The one status value the app observes.
#[derive(Clone, Debug, PartialEq)]
pub struct SyncStatus {
    pub icon: Icon,
    pub canvas: CanvasSync,
    pub connectivity: Connectivity,
    pub phase: Activity,
    pub initial_sync_complete: bool,
    /// Present while an initial sync runs or was interrupted.
    pub initial_progress: Option<Progress>,
    pub pending_changes: u64,
    pub sync_errors: u64,
    pub warnings: Vec<Warning>,
    /// The failure that makes the icon an error, besides sync errors.
    pub blocking_failure: Option<Failure>,
    pub last_synced_at_ms: Option<i64>,
    /// Why the last sync failed when the server answered nonsense (shown
    /// with the `Retrying` warning); None once a sync succeeds.
    pub bad_response: Option<ResponseProblem>,
    /// What tapping the icon shows: a stable key for translation, and English.
    pub message: Message,
}

/// The state machine. `apply` returns the new status when it changed, so an
/// observer is told of changes only.
#[derive(Clone, Debug)]
pub struct StatusMachine {
    host_online: bool,
    metered: bool,
    wifi_only: bool,
    probe: Connectivity,
    phase: Activity,
    initial_sync_complete: bool,
    progress: Option<Progress>,
    pending: u64,
    sync_errors: u64,
    last_failure: Option<Failure>,
    last_synced_at_ms: Option<i64>,
    bad_response: Option<ResponseProblem>,
    current: SyncStatus,
}

impl Default for StatusMachine {
    fn default() -> Self {
        Self::new()
    }
}

impl StatusMachine {
    /// A machine that knows nothing yet: OS online, probe pending.
    pub fn new() -> Self {
        let mut machine = StatusMachine {
            host_online: true,
            metered: false,
            wifi_only: false,
            probe: Connectivity::Checking,
            phase: Activity::Idle,
            initial_sync_complete: false,
            progress: None,
            pending: 0,
            sync_errors: 0,
            last_failure: None,
            last_synced_at_ms: None,
            bad_response: None,
            // Placeholder, replaced by `derive` just below.
            current: SyncStatus {
                icon: Icon::NotConnected,
                canvas: CanvasSync::NotConnected,
                connectivity: Connectivity::Checking,
                phase: Activity::Idle,
                initial_sync_complete: false,
                initial_progress: None,
                pending_changes: 0,
                sync_errors: 0,
                warnings: Vec::new(),
                blocking_failure: None,
                last_synced_at_ms: None,
                bad_response: None,
                message: Message::placeholder(),
            },
        };
        machine.current = machine.derive();
        machine
    }

    pub fn status(&self) -> &SyncStatus {
        &self.current
    }

    /// Whether sync may run now: the server reachable and the network allowed.
    pub fn may_sync(&self) -> bool {
        self.connectivity() == Connectivity::Reachable && !(self.wifi_only && self.metered)
    }

    /// Feeds one event; returns the new status if anything visible changed.
    pub fn apply(&mut self, event: Event) -> Option<&SyncStatus> {
        match event {
            Event::Opened {
                initial_sync_complete,
                pending_changes,
                sync_errors,
                last_synced_at_ms,
            } => {
                self.initial_sync_complete = initial_sync_complete;
                self.pending = pending_changes;
                self.sync_errors = sync_errors;
                self.last_synced_at_ms = last_synced_at_ms;
            }
            Event::HostNetwork { online, metered } => {
                if online && !self.host_online {
                    // Whatever we knew about the server predates this network.
                    self.probe = Connectivity::Checking;
                }
                self.host_online = online;
                self.metered = metered;
            }
            Event::WifiOnly(on) => self.wifi_only = on,
            Event::Probed(connectivity) => {
                self.probe = connectivity;
                match connectivity {
                    // A good answer clears the failures it disproves.
                    Connectivity::Reachable => {
                        if matches!(
                            self.last_failure,
                            Some(Failure::Auth | Failure::Offline | Failure::Throttled { .. })
                        ) {
                            self.last_failure = None;
                        }
                    }
                    Connectivity::AuthRejected => self.last_failure = Some(Failure::Auth),
                    _ => {}
                }
            }
            Event::SyncStarted(phase) => {
                self.phase = phase;
                if phase == Activity::InitialSync && self.progress.is_none() {
                    self.progress = Some(Progress::default());
                }
            }
            Event::InitialProgress(progress) => self.progress = Some(progress),
            Event::SyncSucceeded { phase, at_ms } => {
                self.phase = Activity::Idle;
                self.last_failure = None;
                self.bad_response = None;
                // A sync that worked proves the server answers with our token.
                self.probe = Connectivity::Reachable;
                self.last_synced_at_ms = Some(at_ms);
                if phase == Activity::InitialSync {
                    self.initial_sync_complete = true;
                    self.progress = None;
                }
            }
            Event::SyncFailed { failure, .. } => {
                self.phase = Activity::Idle;
                self.last_failure = Some(failure);
                match failure {
                    Failure::Throttled { retry_after_secs } => {
                        self.probe = Connectivity::Throttled { retry_after_secs }
                    }
                    Failure::Auth => self.probe = Connectivity::AuthRejected,
                    Failure::Offline => {
                        self.probe = Connectivity::Unreachable(UnreachableReason::NoRoute)
                    }
                    Failure::Transient { .. } | Failure::Storage | Failure::WrongUser => {}
                }
            }
            Event::SyncStopped => self.phase = Activity::Idle,
            Event::PendingChanged(n) => self.pending = n,
            Event::SyncErrorsChanged(n) => self.sync_errors = n,
            Event::ResponseProblem(p) => self.bad_response = p,
        }
        let next = self.derive();
        if next == self.current {
            None
        } else {
            self.current = next;
            Some(&self.current)
        }
    }

    fn connectivity(&self) -> Connectivity {
        if self.host_online {
            self.probe
        } else {
            Connectivity::Offline
        }
    }

    fn warnings(&self, connectivity: Connectivity) -> Vec<Warning> {
        let mut warnings = Vec::new();
        let connected = connectivity == Connectivity::Reachable;
        // Not while checking: a first launch on a good network would flash
        // a warning for the few milliseconds the first probe takes.
        // Only before any row arrived: a first sync interrupted half-way by
        // a lost network shows as not connected (its download is paused,
        // the rows so far are readable), as issue 5's sequence has it.
        let nothing_downloaded = self.progress.is_none_or(|p| p.rows_done == 0);
        if !self.initial_sync_complete
            && nothing_downloaded
            && !connectivity.server_answers()
            && connectivity != Connectivity::Checking
        {
            warnings.push(Warning::FirstSyncNeedsConnection);
        }
        if let Connectivity::Unreachable(reason) = connectivity {
            warnings.push(Warning::ServerUnreachable(reason));
        }
        if let Connectivity::Throttled { retry_after_secs } = connectivity {
            warnings.push(Warning::Throttled { retry_after_secs });
        }
        if let Some(Failure::Transient {
            attempt,
            next_in_secs,
        }) = self.last_failure
        {
            if connected {
                warnings.push(Warning::Retrying {
                    attempt,
                    next_in_secs,
                });
            }
        }
        if self.wifi_only && self.metered && self.host_online {
            warnings.push(Warning::WaitingForWifi);
        }
        // Idle, reachable, yet the first sync is not done: "connected" would
        // claim everything is synced.
        if !self.initial_sync_complete && connectivity.server_answers() && warnings.is_empty() {
            warnings.push(Warning::FirstSyncIncomplete);
        }
        warnings
    }

    /// The priority rules, highest first (documented in docs/status.md):
    /// error > syncing > pending_upload > warning > not_connected > connected.
    fn derive(&self) -> SyncStatus {
        let connectivity = self.connectivity();
        let warnings = self.warnings(connectivity);
        let blocking_failure = match self.last_failure {
            Some(f @ (Failure::Auth | Failure::Storage | Failure::WrongUser)) => Some(f),
            _ if connectivity == Connectivity::AuthRejected => Some(Failure::Auth),
            _ => None,
        };
        let syncing = self.phase != Activity::Idle;
        let icon = if self.sync_errors > 0 || blocking_failure.is_some() {
            Icon::Error
        } else if syncing {
            Icon::Syncing
        } else if self.pending > 0 {
            Icon::PendingUpload
        } else if !warnings.is_empty() {
            Icon::Warning
        } else if connectivity != Connectivity::Reachable {
            Icon::NotConnected
        } else {
            Icon::Connected
        };
        let answers = connectivity.server_answers();
        let canvas = match (icon, answers) {
            (Icon::Error, true) => CanvasSync::ConnectedError,
            (Icon::Error, false) => CanvasSync::NotConnectedSyncError,
            (Icon::Syncing, _) => CanvasSync::ConnectedRefresh,
            (Icon::PendingUpload, true) => CanvasSync::ConnectedPendingUpsync,
            (Icon::PendingUpload, false) => CanvasSync::NotConnectedPendingUpsync,
            (Icon::Warning, true) => CanvasSync::ConnectedWithWarning,
            (Icon::Warning, false) => CanvasSync::NotConnectedWithWarning,
            (Icon::NotConnected, _) => CanvasSync::NotConnected,
            (Icon::Connected, _) => CanvasSync::Connected,
        };
        let mut status = SyncStatus {
            icon,
            canvas,
            connectivity,
            phase: self.phase,
            initial_sync_complete: self.initial_sync_complete,
            initial_progress: if self.initial_sync_complete {
                None
            } else {
                self.progress
            },
            pending_changes: self.pending,
            sync_errors: self.sync_errors,
            warnings,
            blocking_failure,
            last_synced_at_ms: self.last_synced_at_ms,
            bad_response: match self.last_failure {
                Some(Failure::Transient { .. }) => self.bad_response,
                _ => None,
            },
            message: Message::placeholder(),
        };
        status.message = messages::explain(&status);
        status
    }
}

#[cfg(test)]
mod tests;
