//! Table-driven tests of the status state machine: each case is a list of
//! events from a fresh machine and the icon, canvas value and message key the
//! user must then see.

use super::*;

const ONLINE: Event = Event::HostNetwork {
    online: true,
    metered: false,
};
const OFFLINE: Event = Event::HostNetwork {
    online: false,
    metered: false,
};
const REACHABLE: Event = Event::Probed(Connectivity::Reachable);
const SYNCED: Event = Event::Opened {
    initial_sync_complete: true,
    pending_changes: 0,
    sync_errors: 0,
    last_synced_at_ms: Some(1_000),
};

fn run(events: &[Event]) -> SyncStatus {
    let mut machine = StatusMachine::new();
    for event in events {
        machine.apply(*event);
    }
    machine.status().clone()
}

struct Case {
    name: &'static str,
    events: Vec<Event>,
    icon: Icon,
    canvas: CanvasSync,
    key: &'static str,
}

fn cases() -> Vec<Case> {
    use CanvasSync as C;
    use Icon as I;
    let progress = Progress {
        tables_done: 1,
        tables_total: 4,
        rows_done: 12_000,
        rows_total: 40_000,
        bytes: 3_000_000,
        eta_secs: Some(4),
    };
    vec![
        Case {
            name: "fresh machine, probe pending",
            events: vec![SYNCED],
            icon: I::NotConnected,
            canvas: C::NotConnected,
            key: "status.not_connected.checking",
        },
        Case {
            name: "synced and reachable",
            events: vec![SYNCED, ONLINE, REACHABLE],
            icon: I::Connected,
            canvas: C::Connected,
            key: "status.connected",
        },
        Case {
            name: "OS offline",
            events: vec![SYNCED, REACHABLE, OFFLINE],
            icon: I::NotConnected,
            canvas: C::NotConnected,
            key: "status.not_connected.offline",
        },
        Case {
            name: "first launch, probe pending: checking, not yet a warning",
            events: vec![],
            icon: I::NotConnected,
            canvas: C::NotConnected,
            key: "status.not_connected.checking",
        },
        Case {
            name: "first launch, server unreachable: the first sync needs a connection",
            events: vec![Event::Probed(Connectivity::Unreachable(
                UnreachableReason::Timeout,
            ))],
            icon: I::Warning,
            canvas: C::NotConnectedWithWarning,
            key: "status.warning.first_sync_needs_connection",
        },
        Case {
            name: "first launch offline: the first sync needs a connection",
            events: vec![OFFLINE],
            icon: I::Warning,
            canvas: C::NotConnectedWithWarning,
            key: "status.warning.first_sync_needs_connection",
        },
        Case {
            name: "initial sync running",
            events: vec![
                REACHABLE,
                Event::SyncStarted(Activity::InitialSync),
                Event::InitialProgress(progress),
            ],
            icon: I::Syncing,
            canvas: C::ConnectedRefresh,
            key: "status.syncing.initial",
        },
        Case {
            name: "initial sync paused half-way while reachable: not 'up to date'",
            events: vec![
                REACHABLE,
                Event::SyncStarted(Activity::InitialSync),
                Event::InitialProgress(progress),
                Event::SyncStopped,
            ],
            icon: I::Warning,
            canvas: C::ConnectedWithWarning,
            key: "status.warning.first_sync_incomplete",
        },
        Case {
            name: "initial sync done",
            events: vec![
                REACHABLE,
                Event::SyncStarted(Activity::InitialSync),
                Event::SyncSucceeded {
                    phase: Activity::InitialSync,
                    at_ms: 5,
                },
            ],
            icon: I::Connected,
            canvas: C::Connected,
            key: "status.connected",
        },
        Case {
            name: "delta sync running",
            events: vec![SYNCED, REACHABLE, Event::SyncStarted(Activity::DeltaSync)],
            icon: I::Syncing,
            canvas: C::ConnectedRefresh,
            key: "status.syncing.delta",
        },
        Case {
            name: "upload running",
            events: vec![
                SYNCED,
                REACHABLE,
                Event::PendingChanged(3),
                Event::SyncStarted(Activity::Upload),
            ],
            icon: I::Syncing,
            canvas: C::ConnectedRefresh,
            key: "status.syncing.upload",
        },
        Case {
            name: "pending while offline",
            events: vec![SYNCED, OFFLINE, Event::PendingChanged(2)],
            icon: I::PendingUpload,
            canvas: C::NotConnectedPendingUpsync,
            key: "status.pending_upload.offline",
        },
        Case {
            name: "pending while online, before the debounced upload",
            events: vec![SYNCED, REACHABLE, Event::PendingChanged(1)],
            icon: I::PendingUpload,
            canvas: C::ConnectedPendingUpsync,
            key: "status.pending_upload.online",
        },
        Case {
            name: "pending uploaded",
            events: vec![
                SYNCED,
                REACHABLE,
                Event::PendingChanged(1),
                Event::SyncStarted(Activity::Upload),
                Event::PendingChanged(0),
                Event::SyncSucceeded {
                    phase: Activity::Upload,
                    at_ms: 9,
                },
            ],
            icon: I::Connected,
            canvas: C::Connected,
            key: "status.connected",
        },
        Case {
            name: "a rejected change",
            events: vec![SYNCED, REACHABLE, Event::SyncErrorsChanged(1)],
            icon: I::Error,
            canvas: C::ConnectedError,
            key: "status.error.sync_errors",
        },
        Case {
            name: "a rejected change, then offline",
            events: vec![SYNCED, REACHABLE, Event::SyncErrorsChanged(1), OFFLINE],
            icon: I::Error,
            canvas: C::NotConnectedSyncError,
            key: "status.error.sync_errors",
        },
        Case {
            name: "error beats syncing",
            events: vec![
                SYNCED,
                REACHABLE,
                Event::SyncErrorsChanged(2),
                Event::SyncStarted(Activity::DeltaSync),
            ],
            icon: I::Error,
            canvas: C::ConnectedError,
            key: "status.error.sync_errors",
        },
        Case {
            name: "sync error discarded",
            events: vec![
                SYNCED,
                REACHABLE,
                Event::SyncErrorsChanged(1),
                Event::SyncErrorsChanged(0),
            ],
            icon: I::Connected,
            canvas: C::Connected,
            key: "status.connected",
        },
        Case {
            name: "token rejected by the probe",
            events: vec![SYNCED, Event::Probed(Connectivity::AuthRejected)],
            icon: I::Error,
            canvas: C::ConnectedError,
            key: "status.error.auth",
        },
        Case {
            name: "token rejected during sync",
            events: vec![
                SYNCED,
                REACHABLE,
                Event::SyncStarted(Activity::DeltaSync),
                Event::SyncFailed {
                    phase: Activity::DeltaSync,
                    failure: Failure::Auth,
                },
            ],
            icon: I::Error,
            canvas: C::ConnectedError,
            key: "status.error.auth",
        },
        Case {
            name: "fresh token accepted again",
            events: vec![SYNCED, Event::Probed(Connectivity::AuthRejected), REACHABLE],
            icon: I::Connected,
            canvas: C::Connected,
            key: "status.connected",
        },
        Case {
            name: "storage failure",
            events: vec![
                SYNCED,
                REACHABLE,
                Event::SyncFailed {
                    phase: Activity::DeltaSync,
                    failure: Failure::Storage,
                },
            ],
            icon: I::Error,
            canvas: C::ConnectedError,
            key: "status.error.storage",
        },
        Case {
            name: "the server signs in another user than the mirror's",
            events: vec![
                SYNCED,
                REACHABLE,
                Event::SyncFailed {
                    phase: Activity::Idle,
                    failure: Failure::WrongUser,
                },
            ],
            icon: I::Error,
            canvas: C::ConnectedError,
            key: "status.error.wrong_user",
        },
        Case {
            name: "another user, then a probe that still answers: stays an error",
            events: vec![
                SYNCED,
                REACHABLE,
                Event::SyncFailed {
                    phase: Activity::Idle,
                    failure: Failure::WrongUser,
                },
                REACHABLE,
            ],
            icon: I::Error,
            canvas: C::ConnectedError,
            key: "status.error.wrong_user",
        },
        Case {
            name: "throttled",
            events: vec![
                SYNCED,
                REACHABLE,
                Event::SyncFailed {
                    phase: Activity::DeltaSync,
                    failure: Failure::Throttled {
                        retry_after_secs: 30,
                    },
                },
            ],
            icon: I::Warning,
            canvas: C::ConnectedWithWarning,
            key: "status.warning.throttled",
        },
        Case {
            name: "transient failure, retrying",
            events: vec![
                SYNCED,
                REACHABLE,
                Event::SyncFailed {
                    phase: Activity::DeltaSync,
                    failure: Failure::Transient {
                        attempt: 2,
                        next_in_secs: 8,
                    },
                },
            ],
            icon: I::Warning,
            canvas: C::ConnectedWithWarning,
            key: "status.warning.retrying",
        },
        Case {
            name: "retry succeeded",
            events: vec![
                SYNCED,
                REACHABLE,
                Event::SyncFailed {
                    phase: Activity::DeltaSync,
                    failure: Failure::Transient {
                        attempt: 1,
                        next_in_secs: 2,
                    },
                },
                Event::SyncStarted(Activity::DeltaSync),
                Event::SyncSucceeded {
                    phase: Activity::DeltaSync,
                    at_ms: 7,
                },
            ],
            icon: I::Connected,
            canvas: C::Connected,
            key: "status.connected",
        },
        Case {
            name: "captive portal",
            events: vec![
                SYNCED,
                Event::Probed(Connectivity::Unreachable(UnreachableReason::CaptivePortal)),
            ],
            icon: I::Warning,
            canvas: C::NotConnectedWithWarning,
            key: "status.warning.server_unreachable",
        },
        Case {
            name: "network dropped mid-sync",
            events: vec![
                SYNCED,
                REACHABLE,
                Event::SyncStarted(Activity::DeltaSync),
                Event::SyncFailed {
                    phase: Activity::DeltaSync,
                    failure: Failure::Offline,
                },
            ],
            icon: I::Warning,
            canvas: C::NotConnectedWithWarning,
            key: "status.warning.server_unreachable",
        },
        Case {
            name: "Wi-Fi only on a metered network",
            events: vec![
                SYNCED,
                Event::WifiOnly(true),
                Event::HostNetwork {
                    online: true,
                    metered: true,
                },
                REACHABLE,
            ],
            icon: I::Warning,
            canvas: C::ConnectedWithWarning,
            key: "status.warning.waiting_for_wifi",
        },
        Case {
            name: "sync cancelled",
            events: vec![
                SYNCED,
                REACHABLE,
                Event::SyncStarted(Activity::DeltaSync),
                Event::SyncStopped,
            ],
            icon: I::Connected,
            canvas: C::Connected,
            key: "status.connected",
        },
        Case {
            name: "first sync interrupted half-way by going offline: paused, not connected",
            events: vec![
                REACHABLE,
                Event::SyncStarted(Activity::InitialSync),
                Event::InitialProgress(progress),
                OFFLINE,
                Event::SyncFailed {
                    phase: Activity::InitialSync,
                    failure: Failure::Offline,
                },
            ],
            icon: I::NotConnected,
            canvas: C::NotConnected,
            key: "status.not_connected.first_sync_paused",
        },
        Case {
            name: "first sync started but nothing arrived yet, then offline: needs a connection",
            events: vec![
                REACHABLE,
                Event::SyncStarted(Activity::InitialSync),
                OFFLINE,
                Event::SyncFailed {
                    phase: Activity::InitialSync,
                    failure: Failure::Offline,
                },
            ],
            icon: I::Warning,
            canvas: C::NotConnectedWithWarning,
            key: "status.warning.first_sync_needs_connection",
        },
    ]
}

#[test]
fn every_case_shows_the_expected_icon_canvas_value_and_message() {
    for case in cases() {
        let status = run(&case.events);
        assert_eq!(status.icon, case.icon, "{}: icon", case.name);
        assert_eq!(status.canvas, case.canvas, "{}: canvas", case.name);
        assert_eq!(status.message.key, case.key, "{}: message key", case.name);
        assert!(
            !status.message.title.is_empty(),
            "{}: empty title",
            case.name
        );
        assert!(
            !status.message.description.is_empty(),
            "{}: empty description",
            case.name
        );
    }
}

#[test]
fn the_cases_cover_every_icon_and_every_canvas_value() {
    let all = cases();
    for icon in [
        Icon::Connected,
        Icon::NotConnected,
        Icon::Syncing,
        Icon::PendingUpload,
        Icon::Error,
        Icon::Warning,
    ] {
        assert!(all.iter().any(|c| c.icon == icon), "no case for {icon}");
    }
    use CanvasSync as C;
    for canvas in [
        C::Connected,
        C::ConnectedWithWarning,
        C::ConnectedPendingUpsync,
        C::ConnectedError,
        C::ConnectedRefresh,
        C::NotConnected,
        C::NotConnectedWithWarning,
        C::NotConnectedPendingUpsync,
        C::NotConnectedSyncError,
    ] {
        assert!(
            all.iter().any(|c| c.canvas == canvas),
            "no case for {canvas:?}"
        );
    }
}

#[test]
fn descriptions_carry_the_numbers_the_user_needs() {
    let s = run(&[SYNCED, OFFLINE, Event::PendingChanged(3)]);
    assert_eq!(
        s.message.description,
        "3 changes saved on this device will be uploaded when you are back online."
    );
    let s = run(&[SYNCED, REACHABLE, Event::SyncErrorsChanged(1)]);
    assert!(
        s.message
            .description
            .starts_with("The server rejected 1 change."),
        "{}",
        s.message.description
    );
    let s = run(&[
        REACHABLE,
        Event::SyncStarted(Activity::InitialSync),
        Event::InitialProgress(Progress {
            tables_done: 2,
            tables_total: 4,
            rows_done: 20_000,
            rows_total: 40_000,
            bytes: 1,
            eta_secs: None,
        }),
    ]);
    assert_eq!(
        s.message.description,
        "20000 of 40000 rows and 2 of 4 tables downloaded."
    );
    let s = run(&[
        SYNCED,
        REACHABLE,
        Event::SyncFailed {
            phase: Activity::DeltaSync,
            failure: Failure::Throttled {
                retry_after_secs: 1,
            },
        },
    ]);
    assert!(
        s.message.description.ends_with("in about 1 second."),
        "{}",
        s.message.description
    );
}

#[test]
fn apply_reports_only_visible_changes() {
    let mut machine = StatusMachine::new();
    assert!(machine.apply(SYNCED).is_some());
    assert!(machine.apply(REACHABLE).is_some());
    assert!(
        machine.apply(REACHABLE).is_none(),
        "a repeated probe result changes nothing"
    );
    assert!(machine.apply(Event::PendingChanged(0)).is_none());
    assert!(machine.apply(Event::PendingChanged(1)).is_some());
}

#[test]
fn sync_is_allowed_only_when_reachable_and_the_network_is_allowed() {
    let mut machine = StatusMachine::new();
    assert!(!machine.may_sync(), "not before a probe answered");
    machine.apply(REACHABLE);
    assert!(machine.may_sync());
    machine.apply(Event::WifiOnly(true));
    machine.apply(Event::HostNetwork {
        online: true,
        metered: true,
    });
    assert!(!machine.may_sync(), "Wi-Fi only on a metered network");
    machine.apply(Event::HostNetwork {
        online: false,
        metered: false,
    });
    assert!(!machine.may_sync(), "offline");
    machine.apply(ONLINE);
    assert!(
        !machine.may_sync(),
        "back online: the old probe result no longer counts"
    );
    machine.apply(REACHABLE);
    assert!(machine.may_sync());
}

#[test]
fn initial_progress_is_hidden_once_the_first_sync_completed() {
    let s = run(&[
        REACHABLE,
        Event::SyncStarted(Activity::InitialSync),
        Event::InitialProgress(Progress {
            rows_done: 5,
            rows_total: 10,
            ..Progress::default()
        }),
    ]);
    assert_eq!(s.initial_progress.map(|p| p.rows_done), Some(5));
    let s = run(&[
        REACHABLE,
        Event::SyncStarted(Activity::InitialSync),
        Event::SyncSucceeded {
            phase: Activity::InitialSync,
            at_ms: 42,
        },
    ]);
    assert_eq!(s.initial_progress, None);
    assert!(s.initial_sync_complete);
    assert_eq!(s.last_synced_at_ms, Some(42));
}
