//! The sync status as an FFI record: the icon, what tapping it says (a
//! stable key plus English title/description from core), and the numbers
//! behind it (initial-sync progress, pending changes, sync errors).

use mooring_core::status as st;

/// The six states of the status icon.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum SyncIcon {
    Connected,
    NotConnected,
    Syncing,
    PendingUpload,
    Error,
    Warning,
}

/// The canvas app's `Connection.Sync` value this status corresponds to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum UnreachableReason {
    Timeout,
    NoRoute,
    /// Something not Dataverse answered (hotel Wi-Fi login page).
    CaptivePortal,
    /// The server's certificate is not trusted: a network intercepting TLS,
    /// or a company root not installed.
    Untrusted,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum Connectivity {
    Checking,
    Offline,
    Unreachable { reason: UnreachableReason },
    Reachable,
    AuthRejected,
    Throttled { retry_after_secs: u64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum SyncPhase {
    Idle,
    InitialSync,
    DeltaSync,
    Upload,
}

/// What the initial-sync loading screen shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Record)]
pub struct InitialSyncProgress {
    pub tables_done: u32,
    pub tables_total: u32,
    pub rows_done: u64,
    pub rows_total: u64,
    pub bytes: u64,
    /// None until there is enough to estimate.
    pub eta_secs: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum StatusWarning {
    FirstSyncNeedsConnection,
    Throttled { retry_after_secs: u64 },
    Retrying { attempt: u32, next_in_secs: u64 },
    WaitingForWifi,
    FirstSyncIncomplete,
    ServerUnreachable { reason: UnreachableReason },
}

/// Why sync cannot go on (the error icon's cause besides sync errors).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, uniffi::Enum)]
pub enum SyncFailure {
    Transient {
        attempt: u32,
        next_in_secs: u64,
    },
    Throttled {
        retry_after_secs: u64,
    },
    Auth,
    Offline,
    Storage,
    /// The mirror belongs to another Dataverse user than the token's.
    WrongUser,
}

/// The one status value the app observes.
#[derive(Clone, Debug, PartialEq, uniffi::Record)]
pub struct SyncStatus {
    pub icon: SyncIcon,
    /// Stable across releases (`status.<icon>.<case>`): translate by it.
    pub message_key: String,
    /// English, for tapping the icon.
    pub title: String,
    pub description: String,
    pub canvas: CanvasSync,
    pub connectivity: Connectivity,
    pub phase: SyncPhase,
    pub initial_sync_complete: bool,
    /// Present while an initial sync runs or was interrupted.
    pub progress: Option<InitialSyncProgress>,
    pub pending_changes: u64,
    pub sync_errors: u64,
    pub warnings: Vec<StatusWarning>,
    pub blocking_failure: Option<SyncFailure>,
    /// Unix milliseconds of the last successful sync.
    pub last_synced_at_ms: Option<i64>,
}

impl From<st::Icon> for SyncIcon {
    fn from(i: st::Icon) -> Self {
        match i {
            st::Icon::Connected => SyncIcon::Connected,
            st::Icon::NotConnected => SyncIcon::NotConnected,
            st::Icon::Syncing => SyncIcon::Syncing,
            st::Icon::PendingUpload => SyncIcon::PendingUpload,
            st::Icon::Error => SyncIcon::Error,
            st::Icon::Warning => SyncIcon::Warning,
        }
    }
}

impl From<st::CanvasSync> for CanvasSync {
    fn from(c: st::CanvasSync) -> Self {
        use st::CanvasSync as C;
        match c {
            C::Connected => CanvasSync::Connected,
            C::ConnectedWithWarning => CanvasSync::ConnectedWithWarning,
            C::ConnectedPendingUpsync => CanvasSync::ConnectedPendingUpsync,
            C::ConnectedError => CanvasSync::ConnectedError,
            C::ConnectedRefresh => CanvasSync::ConnectedRefresh,
            C::NotConnected => CanvasSync::NotConnected,
            C::NotConnectedWithWarning => CanvasSync::NotConnectedWithWarning,
            C::NotConnectedPendingUpsync => CanvasSync::NotConnectedPendingUpsync,
            C::NotConnectedSyncError => CanvasSync::NotConnectedSyncError,
        }
    }
}

impl From<st::UnreachableReason> for UnreachableReason {
    fn from(r: st::UnreachableReason) -> Self {
        match r {
            st::UnreachableReason::Timeout => UnreachableReason::Timeout,
            st::UnreachableReason::NoRoute => UnreachableReason::NoRoute,
            st::UnreachableReason::CaptivePortal => UnreachableReason::CaptivePortal,
            st::UnreachableReason::Untrusted => UnreachableReason::Untrusted,
        }
    }
}

impl From<st::Connectivity> for Connectivity {
    fn from(c: st::Connectivity) -> Self {
        use st::Connectivity as C;
        match c {
            C::Checking => Connectivity::Checking,
            C::Offline => Connectivity::Offline,
            C::Unreachable(r) => Connectivity::Unreachable { reason: r.into() },
            C::Reachable => Connectivity::Reachable,
            C::AuthRejected => Connectivity::AuthRejected,
            C::Throttled { retry_after_secs } => Connectivity::Throttled { retry_after_secs },
        }
    }
}

impl From<st::Activity> for SyncPhase {
    fn from(p: st::Activity) -> Self {
        match p {
            st::Activity::Idle => SyncPhase::Idle,
            st::Activity::InitialSync => SyncPhase::InitialSync,
            st::Activity::DeltaSync => SyncPhase::DeltaSync,
            st::Activity::Upload => SyncPhase::Upload,
        }
    }
}

impl From<st::Progress> for InitialSyncProgress {
    fn from(p: st::Progress) -> Self {
        InitialSyncProgress {
            tables_done: p.tables_done,
            tables_total: p.tables_total,
            rows_done: p.rows_done,
            rows_total: p.rows_total,
            bytes: p.bytes,
            eta_secs: p.eta_secs,
        }
    }
}

impl From<st::Warning> for StatusWarning {
    fn from(w: st::Warning) -> Self {
        use st::Warning as W;
        match w {
            W::FirstSyncNeedsConnection => StatusWarning::FirstSyncNeedsConnection,
            W::Throttled { retry_after_secs } => StatusWarning::Throttled { retry_after_secs },
            W::Retrying {
                attempt,
                next_in_secs,
            } => StatusWarning::Retrying {
                attempt,
                next_in_secs,
            },
            W::WaitingForWifi => StatusWarning::WaitingForWifi,
            W::FirstSyncIncomplete => StatusWarning::FirstSyncIncomplete,
            W::ServerUnreachable(r) => StatusWarning::ServerUnreachable { reason: r.into() },
        }
    }
}

impl From<st::Failure> for SyncFailure {
    fn from(f: st::Failure) -> Self {
        use st::Failure as F;
        match f {
            F::Transient {
                attempt,
                next_in_secs,
            } => SyncFailure::Transient {
                attempt,
                next_in_secs,
            },
            F::Throttled { retry_after_secs } => SyncFailure::Throttled { retry_after_secs },
            F::Auth => SyncFailure::Auth,
            F::Offline => SyncFailure::Offline,
            F::Storage => SyncFailure::Storage,
            F::WrongUser => SyncFailure::WrongUser,
        }
    }
}

impl From<&st::SyncStatus> for SyncStatus {
    fn from(s: &st::SyncStatus) -> Self {
        SyncStatus {
            icon: s.icon.into(),
            message_key: s.message.key.to_string(),
            title: s.message.title.clone(),
            description: s.message.description.clone(),
            canvas: s.canvas.into(),
            connectivity: s.connectivity.into(),
            phase: s.phase.into(),
            initial_sync_complete: s.initial_sync_complete,
            progress: s.initial_progress.map(Into::into),
            pending_changes: s.pending_changes,
            sync_errors: s.sync_errors,
            warnings: s.warnings.iter().map(|w| (*w).into()).collect(),
            blocking_failure: s.blocking_failure.map(Into::into),
            last_synced_at_ms: s.last_synced_at_ms,
        }
    }
}
