//! The FFI's conversions: every status icon to its record, every core
//! error to the flat `MooringError`, and no secret in any message.

use std::time::Duration;

use mooring_core::status::{Activity, Connectivity as CC, Event, Progress, StatusMachine};
use mooring_core::{Error as E, KeyProblem, WriteError as W};
use mooring_ffi::{
    Connectivity, InitialSyncProgress, MooringError, StatusWarning, SyncFailure, SyncIcon,
    SyncPhase, SyncStatus,
};

fn machine(events: &[Event]) -> SyncStatus {
    let mut m = StatusMachine::new();
    for e in events {
        m.apply(*e);
    }
    SyncStatus::from(m.status())
}

const SYNCED: Event = Event::Opened {
    initial_sync_complete: true,
    pending_changes: 0,
    sync_errors: 0,
    last_synced_at_ms: Some(1_700_000_000_000),
};

#[test]
fn every_icon_converts_with_its_message() {
    let cases: Vec<(SyncIcon, SyncStatus)> = vec![
        (SyncIcon::NotConnected, machine(&[])),
        (
            SyncIcon::Connected,
            machine(&[SYNCED, Event::Probed(CC::Reachable)]),
        ),
        (
            SyncIcon::Syncing,
            machine(&[
                Event::Probed(CC::Reachable),
                Event::SyncStarted(Activity::InitialSync),
                Event::InitialProgress(Progress {
                    tables_done: 1,
                    tables_total: 3,
                    rows_done: 500,
                    rows_total: 2000,
                    bytes: 1 << 20,
                    eta_secs: Some(12),
                }),
            ]),
        ),
        (
            SyncIcon::PendingUpload,
            machine(&[
                SYNCED,
                Event::Probed(CC::Reachable),
                Event::PendingChanged(2),
            ]),
        ),
        (
            SyncIcon::Warning,
            machine(&[Event::HostNetwork {
                online: false,
                metered: false,
            }]),
        ),
        (
            SyncIcon::Error,
            machine(&[SYNCED, Event::SyncErrorsChanged(1)]),
        ),
    ];
    for (icon, s) in &cases {
        assert_eq!(s.icon, *icon);
        let name = format!("{icon:?}");
        assert!(
            s.message_key.starts_with("status."),
            "{name}: {}",
            s.message_key
        );
        assert!(!s.title.is_empty() && !s.description.is_empty(), "{name}");
    }
    let syncing = &cases[2].1;
    assert_eq!(syncing.phase, SyncPhase::InitialSync);
    assert_eq!(
        syncing.progress,
        Some(InitialSyncProgress {
            tables_done: 1,
            tables_total: 3,
            rows_done: 500,
            rows_total: 2000,
            bytes: 1 << 20,
            eta_secs: Some(12),
        })
    );
    let pending = &cases[3].1;
    assert_eq!(pending.pending_changes, 2);
    assert_eq!(pending.connectivity, Connectivity::Reachable);
    assert_eq!(pending.last_synced_at_ms, Some(1_700_000_000_000));
    let warning = &cases[4].1;
    assert_eq!(warning.connectivity, Connectivity::Offline);
    assert!(
        warning
            .warnings
            .contains(&StatusWarning::FirstSyncNeedsConnection)
    );
    assert_eq!(cases[5].1.sync_errors, 1);

    let auth = machine(&[
        SYNCED,
        Event::SyncFailed {
            phase: Activity::DeltaSync,
            failure: mooring_core::status::Failure::Auth,
        },
    ]);
    assert_eq!(auth.icon, SyncIcon::Error);
    assert_eq!(auth.blocking_failure, Some(SyncFailure::Auth));
    assert_eq!(auth.message_key, "status.error.auth");
}

const TOKEN: &str = "eyJ0eXAiOiJKV1Qi.secret-token-value";

fn map(e: E) -> MooringError {
    MooringError::from(e)
}

#[test]
fn every_core_error_maps_to_one_flat_variant() {
    use MooringError as M;
    let http = |status: u16| E::Http {
        status,
        what: "PATCH accounts".into(),
        odata: Some(mooring_core::error::ODataError {
            code: "0x80040217".into(),
            message: "the value 'Alice Smith' is invalid".into(),
        }),
    };
    type Want = fn(&M) -> bool;
    let cases: Vec<(E, Want)> = vec![
        (E::Profile("no table foo".into()), |m| {
            matches!(m, M::Profile { .. })
        }),
        (http(401), |m| matches!(m, M::Auth { .. })),
        (http(403), |m| matches!(m, M::Auth { .. })),
        (http(404), |m| matches!(m, M::NotFound { .. })),
        (http(409), |m| matches!(m, M::Conflict { .. })),
        (http(412), |m| matches!(m, M::Conflict { .. })),
        (http(400), |m| {
            matches!(m, M::Validation { field: None, .. })
        }),
        (http(429), |m| matches!(m, M::Throttled { .. })),
        (http(500), |m| matches!(m, M::Server { status: 500, .. })),
        (E::Auth(format!("GET WhoAmI: bad token {TOKEN}")), |m| {
            matches!(m, M::Auth { .. })
        }),
        (
            E::TokenProvider("MSAL needs an interactive sign-in".into()),
            |m| matches!(m, M::Auth { .. }),
        ),
        (
            E::Throttled {
                attempts: 10,
                retry_after: Some(Duration::from_secs(30)),
            },
            |m| {
                matches!(
                    m,
                    M::Throttled {
                        retry_after_secs: Some(30)
                    }
                )
            },
        ),
        (E::Network("connection refused".into()), |m| {
            matches!(m, M::Offline { .. })
        }),
        (
            E::Protocol {
                what: "GET accounts".into(),
                detail: "body said 'Alice Smith'".into(),
                problem: mooring_core::status::ResponseProblem::Malformed,
            },
            |m| {
                matches!(
                    m,
                    M::Protocol {
                        problem: mooring_ffi::ResponseProblem::Malformed,
                        ..
                    }
                )
            },
        ),
        (rusqlite::Error::InvalidQuery.into(), |m| {
            matches!(m, M::Storage { .. })
        }),
        (E::Query("table accounts has no column x".into()), |m| {
            matches!(m, M::Validation { .. })
        }),
        (std::io::Error::other("disk full").into(), |m| {
            matches!(m, M::Storage { .. })
        }),
        (E::WrongKey(KeyProblem::Wrong), |m| {
            matches!(m, M::WrongKey { .. })
        }),
        (E::WrongKey(KeyProblem::Missing), |m| {
            matches!(m, M::WrongKey { .. })
        }),
        (E::WrongKey(KeyProblem::NotEncrypted), |m| {
            matches!(m, M::WrongKey { .. })
        }),
        (
            E::WrongUser {
                expected: "a".into(),
                actual: "b".into(),
            },
            |m| matches!(m, M::WrongUser),
        ),
        (E::PendingChangesWouldBeLost { count: 3 }, |m| {
            matches!(m, M::PendingChanges { count: 3 })
        }),
        (
            E::InsecureUrl("http://example.com".into()),
            |m| matches!(m, M::Validation { field: Some(f), .. } if f == "server_url"),
        ),
        (E::Closed, |m| matches!(m, M::Closed)),
        (E::Offline, |m| matches!(m, M::Offline { .. })),
        (E::Paused, |m| matches!(m, M::Paused)),
        (E::WaitingForWifi, |m| matches!(m, M::WaitingForWifi)),
        (
            E::InUse {
                holder: Some("mooring sync (pid 42)".into()),
            },
            |m| matches!(m, M::InUse { holder: Some(h) } if h.contains("pid 42")),
        ),
        (E::Internal("runner died".into()), |m| {
            matches!(m, M::Internal { .. })
        }),
    ];
    for (core, want) in cases {
        let shown = core.to_string();
        let m = map(core);
        assert!(want(&m), "{shown} became {m:?}");
        let text = format!("{m} {m:?}");
        assert!(!text.contains("secret-token"), "token leaked: {text}");
        assert!(!text.contains("Alice"), "server text leaked: {text}");
    }
}

#[test]
fn write_errors_name_the_field() {
    use MooringError as M;
    let wrong = map(E::Write(W::WrongType {
        table: "accounts".into(),
        column: "revenue".into(),
        expected: "a number".into(),
        got: "text".into(),
    }));
    assert!(
        matches!(&wrong, M::Validation { field: Some(f), .. } if f == "revenue"),
        "{wrong:?}"
    );
    for (w, field) in [
        (
            W::UnknownColumn {
                table: "t".into(),
                column: "c".into(),
            },
            Some("c"),
        ),
        (
            W::ReadOnly {
                table: "t".into(),
                column: "createdon".into(),
            },
            Some("createdon"),
        ),
        (
            W::MissingLookupTarget {
                table: "t".into(),
                column: "parentcustomerid".into(),
                id: "x".into(),
            },
            Some("parentcustomerid"),
        ),
        (W::UnknownTable("t".into()), None),
        (W::NotAnObject, None),
    ] {
        match map(E::Write(w)) {
            M::Validation { field: f, .. } => assert_eq!(f.as_deref(), field),
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(
        map(E::Write(W::RowNotFound {
            table: "t".into(),
            id: "1".into()
        })),
        M::NotFound { .. }
    ));
    assert!(matches!(
        map(E::Write(W::NoSuchSyncError(4))),
        M::NotFound { .. }
    ));
    assert!(matches!(
        map(E::Write(W::RowExists {
            table: "t".into(),
            id: "1".into()
        })),
        M::Conflict { .. }
    ));
}
