//! Table-driven tests of the scheduler's policy: each case is a list of
//! steps (an input or a poll at a time, with the status the runner would
//! read) and the actions the policy must answer. No runtime, no sleeping:
//! time is a number of milliseconds after a fixed start.

use super::*;

const BASE: u64 = 5_000;
const CAP: u64 = 300_000;
const DEBOUNCE: u64 = 2_000;
const INTERVAL: u64 = 60_000;

fn cfg() -> ScheduleConfig {
    ScheduleConfig {
        probe_timeout: Duration::from_secs(10),
        probe_interval: Duration::from_millis(INTERVAL),
        upload_debounce: Duration::from_millis(DEBOUNCE),
        retry_base: Duration::from_millis(BASE),
        retry_cap: Duration::from_millis(CAP),
        delta_interval: None,
    }
}

fn view(connectivity: Connectivity, initial_sync_complete: bool) -> StatusView {
    StatusView {
        connectivity,
        initial_sync_complete,
        may_sync: connectivity == Connectivity::Reachable,
        waiting_for_wifi: false,
        phase: Activity::Idle,
    }
}

const CHECKING: Connectivity = Connectivity::Checking;
const REACHABLE: Connectivity = Connectivity::Reachable;
const OFFLINE: Connectivity = Connectivity::Offline;
const UNREACHABLE: Connectivity =
    Connectivity::Unreachable(crate::status::UnreachableReason::NoRoute);

enum Do {
    On(Input),
    Poll,
}

/// One step: at `at` ms, with status `view`, do this; expect these actions.
struct Step {
    at: u64,
    view: StatusView,
    what: Do,
    expect: Vec<Action>,
}

fn on(at: u64, view: StatusView, input: Input, expect: Vec<Action>) -> Step {
    Step {
        at,
        view,
        what: Do::On(input),
        expect,
    }
}

fn poll(at: u64, view: StatusView, expect: Vec<Action>) -> Step {
    Step {
        at,
        view,
        what: Do::Poll,
        expect,
    }
}

fn req(r: Request) -> Input {
    Input::Request(r)
}

fn probed(c: Connectivity) -> Input {
    Input::ProbeDone {
        connectivity: c,
        user: None,
    }
}

fn synced(next_delta: Option<Instant>) -> Input {
    Input::SyncDone {
        current: true,
        prepared: true,
        result: Ok(next_delta),
    }
}

fn failed(e: Error) -> Input {
    Input::SyncDone {
        current: true,
        prepared: true,
        result: Err(e),
    }
}

/// A probe answers "reachable": a full run starts, then the status hears.
fn reachable_starts_a_full_run(at: u64, view: StatusView, announce: Activity) -> Step {
    on(
        at,
        view,
        probed(REACHABLE),
        vec![
            start(Plan::FULL, Some(announce)),
            status(Event::Probed(REACHABLE)),
        ],
    )
}

/// A run ends well: its reporting stops, whoever waited for it is told Ok.
fn ends_ok(at: u64, view: StatusView, input: Input) -> Step {
    on(
        at,
        view,
        input,
        vec![Action::EndJob, answer(Waiters::ThisRun, Reply::Ok)],
    )
}

fn start(plan: Plan, announce: Option<Activity>) -> Action {
    Action::StartSync { plan, announce }
}

fn status(e: Event) -> Action {
    Action::Status(e)
}

fn answer(to: Waiters, reply: Reply) -> Action {
    Action::Answer { to, reply }
}

struct Case {
    name: &'static str,
    steps: Vec<Step>,
    /// Checked after the last step: when the runner must wake next.
    deadline: Deadline,
}

enum Deadline {
    Unchecked,
    /// Only an input can wake the runner.
    Never,
    /// At this many ms after the start.
    At(u64),
    /// A jittered retry: somewhere in this range (ms, inclusive).
    Between(u64, u64),
}

/// The first launch reaching a server and syncing everything, as steps a
/// case can start from.
fn first_sync(t0: Instant) -> Vec<Step> {
    let _ = t0;
    vec![
        poll(0, view(CHECKING, false), vec![Action::StartProbe]),
        reachable_starts_a_full_run(10, view(CHECKING, false), Activity::InitialSync),
    ]
}

fn cases(t0: Instant) -> Vec<Case> {
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let net = || Error::Network("connection refused".into());
    vec![
        Case {
            name: "first launch: probe, then a full initial sync before 'reachable'",
            steps: first_sync(t0),
            deadline: Deadline::Never,
        },
        Case {
            name: "offline: nothing runs and nothing wakes the runner",
            steps: vec![poll(0, view(OFFLINE, true), vec![])],
            deadline: Deadline::Never,
        },
        Case {
            name: "a synced mirror reopened: probe, then a full run (want_full at open)",
            steps: vec![
                poll(0, view(CHECKING, true), vec![Action::StartProbe]),
                reachable_starts_a_full_run(5, view(CHECKING, true), Activity::DeltaSync),
            ],
            deadline: Deadline::Never,
        },
        Case {
            name: "the run ends: the next delta and the periodic probe are timed",
            steps: {
                let mut s = first_sync(t0);
                s.push(ends_ok(
                    100,
                    view(REACHABLE, true),
                    synced(Some(at(30_000))),
                ));
                s.push(poll(200, view(REACHABLE, true), vec![]));
                s
            },
            // The delta at 30 s comes before the probe at 100 ms + 60 s.
            deadline: Deadline::At(30_000),
        },
        Case {
            name: "a table falls due: a delta of the due tables",
            steps: {
                let mut s = first_sync(t0);
                s.push(ends_ok(
                    100,
                    view(REACHABLE, true),
                    synced(Some(at(30_000))),
                ));
                s.push(poll(29_999, view(REACHABLE, true), vec![]));
                s.push(poll(
                    30_000,
                    view(REACHABLE, true),
                    vec![start(Plan::DUE, Some(Activity::DeltaSync))],
                ));
                s
            },
            deadline: Deadline::Never,
        },
        Case {
            name: "a local write uploads after the debounce, alone",
            steps: {
                let mut s = first_sync(t0);
                s.push(ends_ok(100, view(REACHABLE, true), synced(None)));
                s.push(on(
                    1_000,
                    view(REACHABLE, true),
                    req(Request::LocalWrite),
                    vec![],
                ));
                s.push(poll(1_000 + DEBOUNCE - 1, view(REACHABLE, true), vec![]));
                s.push(poll(
                    1_000 + DEBOUNCE,
                    view(REACHABLE, true),
                    vec![start(Plan::UPLOAD, None)],
                ));
                s
            },
            deadline: Deadline::Never,
        },
        Case {
            name: "sync_now during a run waits for the next run, which then starts",
            steps: {
                let mut s = first_sync(t0);
                s.push(on(
                    50,
                    view(REACHABLE, false),
                    req(Request::SyncNow { waits: true }),
                    vec![Action::Wait(WaitFor::NextRun)],
                ));
                s.push(ends_ok(100, view(REACHABLE, true), synced(None)));
                s.push(poll(
                    101,
                    view(REACHABLE, true),
                    vec![start(Plan::FULL, Some(Activity::DeltaSync))],
                ));
                s.push(ends_ok(200, view(REACHABLE, true), synced(None)));
                s
            },
            deadline: Deadline::Unchecked,
        },
        Case {
            name: "sync_now paused or offline is refused at once",
            steps: vec![
                on(
                    0,
                    view(OFFLINE, true),
                    req(Request::SyncNow { waits: true }),
                    vec![Action::Reject(Reply::NotConnected(OFFLINE))],
                ),
                on(
                    1,
                    view(REACHABLE, true),
                    req(Request::Pause),
                    vec![answer(Waiters::All, Reply::Paused)],
                ),
                on(
                    2,
                    view(REACHABLE, true),
                    req(Request::SyncNow { waits: true }),
                    vec![Action::Reject(Reply::Paused)],
                ),
                on(
                    3,
                    view(REACHABLE, true),
                    req(Request::UploadNow { waits: true }),
                    vec![Action::Reject(Reply::Paused)],
                ),
                poll(4, view(REACHABLE, true), vec![]),
            ],
            deadline: Deadline::Never,
        },
        Case {
            name: "pause cancels the run; resume probes, then syncs everything",
            steps: {
                let mut s = first_sync(t0);
                s.push(on(
                    50,
                    view(REACHABLE, false),
                    req(Request::Pause),
                    vec![Action::CancelJob, answer(Waiters::All, Reply::Paused)],
                ));
                s.push(on(60, view(REACHABLE, false), req(Request::Resume), vec![]));
                s.push(poll(60, view(REACHABLE, false), vec![Action::StartProbe]));
                s.push(reachable_starts_a_full_run(
                    70,
                    view(REACHABLE, false),
                    Activity::InitialSync,
                ));
                s
            },
            deadline: Deadline::Never,
        },
        Case {
            name: "the OS goes offline mid-run: cancelled, waiters told at once",
            steps: {
                let mut s = first_sync(t0);
                s.push(on(
                    20,
                    view(REACHABLE, false),
                    req(Request::SyncNow { waits: true }),
                    vec![Action::Wait(WaitFor::NextRun)],
                ));
                s.push(on(
                    30,
                    view(OFFLINE, false),
                    req(Request::NetworkChanged),
                    vec![
                        Action::CancelJob,
                        answer(Waiters::All, Reply::NotConnected(OFFLINE)),
                    ],
                ));
                s.push(poll(40, view(OFFLINE, false), vec![]));
                s
            },
            deadline: Deadline::Never,
        },
        Case {
            name: "an unreachable server is probed again with doubling backoff",
            steps: vec![
                poll(0, view(CHECKING, true), vec![Action::StartProbe]),
                on(
                    10,
                    view(CHECKING, true),
                    probed(UNREACHABLE),
                    vec![
                        status(Event::Probed(UNREACHABLE)),
                        answer(Waiters::All, Reply::NotConnected(UNREACHABLE)),
                    ],
                ),
                // The first retry: between half the base and all of it.
                poll(10 + BASE / 2 - 1, view(UNREACHABLE, true), vec![]),
                poll(10 + BASE, view(UNREACHABLE, true), vec![Action::StartProbe]),
                on(
                    6_000,
                    view(UNREACHABLE, true),
                    probed(UNREACHABLE),
                    vec![
                        status(Event::Probed(UNREACHABLE)),
                        answer(Waiters::All, Reply::NotConnected(UNREACHABLE)),
                    ],
                ),
            ],
            deadline: Deadline::Between(6_000 + BASE, 6_000 + 2 * BASE),
        },
        Case {
            name: "a throttled probe waits exactly the server's Retry-After",
            steps: vec![
                poll(0, view(CHECKING, true), vec![Action::StartProbe]),
                on(
                    10,
                    view(CHECKING, true),
                    probed(Connectivity::Throttled {
                        retry_after_secs: 42,
                    }),
                    vec![
                        status(Event::Probed(Connectivity::Throttled {
                            retry_after_secs: 42,
                        })),
                        answer(
                            Waiters::All,
                            Reply::NotConnected(Connectivity::Throttled {
                                retry_after_secs: 42,
                            }),
                        ),
                    ],
                ),
            ],
            deadline: Deadline::At(10 + 42_000),
        },
        Case {
            name: "a network error mid-sync: offline failure, probe after the first backoff",
            steps: {
                let mut s = first_sync(t0);
                s.push(on(
                    100,
                    view(REACHABLE, false),
                    failed(net()),
                    vec![
                        Action::EndJob,
                        status(Event::ResponseProblem(None)),
                        status(Event::SyncFailed {
                            phase: Activity::Idle,
                            failure: Failure::Offline,
                        }),
                        answer(Waiters::ThisRun, Reply::Failed(net())),
                    ],
                ));
                s
            },
            // probe_at (10 + interval) is later than the retry.
            deadline: Deadline::Between(100 + BASE / 2, 100 + BASE),
        },
        Case {
            name: "a storage failure waits the longest backoff before syncing again",
            steps: {
                let mut s = first_sync(t0);
                s.push(on(
                    100,
                    view(REACHABLE, false),
                    failed(rusqlite::Error::InvalidQuery.into()),
                    vec![
                        Action::EndJob,
                        status(Event::ResponseProblem(None)),
                        status(Event::SyncFailed {
                            phase: Activity::Idle,
                            failure: Failure::Storage,
                        }),
                        answer(
                            Waiters::ThisRun,
                            Reply::Failed(rusqlite::Error::InvalidQuery.into()),
                        ),
                    ],
                ));
                // Reachable, but the retry has not come: no sync.
                s.push(poll(50_000, view(REACHABLE, false), vec![]));
                // The periodic probe answers: still no sync before the retry.
                s.push(poll(
                    10 + INTERVAL,
                    view(REACHABLE, false),
                    vec![Action::StartProbe],
                ));
                s.push(on(
                    20 + INTERVAL,
                    view(REACHABLE, false),
                    probed(REACHABLE),
                    vec![status(Event::Probed(REACHABLE))],
                ));
                s
            },
            // The next periodic probe comes before the retry (100 + CAP).
            deadline: Deadline::At(20 + 2 * INTERVAL),
        },
        Case {
            name: "another user: an error, no sync until a probe shows the mirror's user",
            steps: vec![
                poll(0, view(CHECKING, true), vec![Action::StartProbe]),
                on(
                    10,
                    view(CHECKING, true),
                    Input::ProbeDone {
                        connectivity: REACHABLE,
                        user: Some(Err(Error::WrongUser {
                            expected: "a".into(),
                            actual: "b".into(),
                        })),
                    },
                    vec![
                        status(Event::Probed(REACHABLE)),
                        status(Event::SyncFailed {
                            phase: Activity::Idle,
                            failure: Failure::WrongUser,
                        }),
                        answer(
                            Waiters::All,
                            Reply::Failed(Error::WrongUser {
                                expected: "a".into(),
                                actual: "b".into(),
                            }),
                        ),
                    ],
                ),
                poll(20, view(REACHABLE, true), vec![]),
                // The user asks: a probe right away.
                on(
                    30,
                    view(REACHABLE, true),
                    req(Request::SyncNow { waits: false }),
                    vec![],
                ),
                poll(30, view(REACHABLE, true), vec![Action::StartProbe]),
                reachable_starts_a_full_run(40, view(REACHABLE, true), Activity::DeltaSync),
            ],
            deadline: Deadline::Never,
        },
        Case {
            name: "Wi-Fi only on a metered network: callers told, nothing runs",
            steps: vec![
                on(
                    0,
                    view(REACHABLE, true),
                    req(Request::SyncNow { waits: true }),
                    vec![Action::Wait(WaitFor::ThisRun)],
                ),
                poll(
                    1,
                    StatusView {
                        may_sync: false,
                        waiting_for_wifi: true,
                        ..view(REACHABLE, true)
                    },
                    vec![answer(Waiters::All, Reply::WaitingForWifi)],
                ),
            ],
            deadline: Deadline::Unchecked,
        },
        Case {
            name: "a stopped job's late end says nothing",
            steps: {
                let mut s = first_sync(t0);
                s.push(on(
                    100,
                    view(REACHABLE, false),
                    Input::SyncDone {
                        current: false,
                        prepared: true,
                        result: Err(net()),
                    },
                    vec![],
                ));
                s
            },
            deadline: Deadline::Unchecked,
        },
        Case {
            name: "a job that panicked: its reporting stops, its waiters get an error",
            steps: {
                let mut s = first_sync(t0);
                s.push(on(
                    20,
                    view(REACHABLE, false),
                    req(Request::SyncNow { waits: true }),
                    vec![Action::Wait(WaitFor::NextRun)],
                ));
                s.push(on(
                    30,
                    view(REACHABLE, false),
                    Input::JobPanicked { current_sync: true },
                    vec![
                        Action::StopJobReporting,
                        answer(Waiters::ThisRun, Reply::JobPanicked),
                    ],
                ));
                s
            },
            deadline: Deadline::Unchecked,
        },
        Case {
            name: "close cancels the run and answers everyone",
            steps: {
                let mut s = first_sync(t0);
                s.push(on(
                    50,
                    view(REACHABLE, false),
                    req(Request::Close),
                    vec![Action::CancelJob, answer(Waiters::All, Reply::Closed)],
                ));
                s
            },
            deadline: Deadline::Unchecked,
        },
    ]
}

#[test]
fn every_case_gives_the_expected_actions() {
    let t0 = Instant::now();
    for case in cases(t0) {
        let mut policy = Policy::new(cfg(), 7);
        let mut last_view = view(OFFLINE, false);
        for (i, step) in case.steps.into_iter().enumerate() {
            let now = t0 + Duration::from_millis(step.at);
            let got = match step.what {
                Do::On(input) => policy.on(input, now, &step.view),
                Do::Poll => policy.poll(now, &step.view),
            };
            assert_eq!(got, step.expect, "{}: step {i}", case.name);
            last_view = step.view;
        }
        let got = policy
            .deadline(&last_view)
            .map(|d| d.duration_since(t0).as_millis() as u64);
        match case.deadline {
            Deadline::Unchecked => {}
            Deadline::Never => assert_eq!(got, None, "{}: deadline", case.name),
            Deadline::At(ms) => assert_eq!(got, Some(ms), "{}: deadline", case.name),
            Deadline::Between(lo, hi) => assert!(
                got.is_some_and(|ms| (lo..=hi).contains(&ms)),
                "{}: deadline {got:?} not in {lo}..={hi}",
                case.name
            ),
        }
    }
}

#[test]
fn backoff_doubles_up_to_the_cap() {
    let cfg = cfg();
    let got: Vec<u64> = (1..=8).map(|n| cfg.backoff(n).as_millis() as u64).collect();
    assert_eq!(
        got,
        vec![
            5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000
        ]
    );
}

#[test]
fn upload_now_waits_for_an_upload_only_run_and_sync_now_for_a_full_one() {
    let t0 = Instant::now();
    let mut policy = Policy::new(cfg(), 7);
    for step in first_sync(t0) {
        let now = t0 + Duration::from_millis(step.at);
        match step.what {
            Do::On(input) => policy.on(input, now, &step.view),
            Do::Poll => policy.poll(now, &step.view),
        };
    }
    let done = view(REACHABLE, true);
    policy.on(synced(None), t0 + Duration::from_millis(100), &done);
    // Upload only: no download.
    let now = t0 + Duration::from_millis(200);
    assert_eq!(
        policy.on(req(Request::UploadNow { waits: true }), now, &done),
        vec![Action::Wait(WaitFor::ThisRun)]
    );
    assert_eq!(policy.poll(now, &done), vec![start(Plan::UPLOAD, None)]);
    assert_eq!(
        policy.on(synced(None), now, &done),
        vec![Action::EndJob, answer(Waiters::ThisRun, Reply::Ok)]
    );
    // sync_now while idle: every table, not only those due.
    assert_eq!(
        policy.on(req(Request::SyncNow { waits: true }), now, &done),
        vec![Action::Wait(WaitFor::ThisRun)]
    );
    assert_eq!(
        policy.poll(now, &done),
        vec![start(Plan::FULL, Some(Activity::DeltaSync))]
    );
}

/// A fleet that lost the same server at the same moment: each phone's
/// retries fall somewhere between half the backoff and all of it, and the
/// phones do not retry in step.
#[test]
fn retries_are_spread_between_half_the_backoff_and_all_of_it() {
    let t0 = Instant::now();
    let mut firsts = Vec::new();
    for seed in 0..50 {
        let mut policy = Policy::new(cfg(), seed);
        policy.poll(t0, &view(CHECKING, true));
        policy.on(probed(UNREACHABLE), t0, &view(CHECKING, true));
        let first = policy
            .deadline(&view(UNREACHABLE, true))
            .map(|d| d.duration_since(t0).as_millis() as u64)
            .expect("a retry is timed");
        assert!(
            (BASE / 2..=BASE).contains(&first),
            "seed {seed}: {first} ms"
        );
        firsts.push(first);
        // Later failures double the range, up to the cap.
        let mut now = t0;
        for attempt in 2..=9 {
            now += Duration::from_millis(CAP);
            assert_eq!(
                policy.poll(now, &view(UNREACHABLE, true)),
                vec![Action::StartProbe]
            );
            policy.on(probed(UNREACHABLE), now, &view(UNREACHABLE, true));
            let wait = policy
                .deadline(&view(UNREACHABLE, true))
                .map(|d| d.duration_since(now).as_millis() as u64)
                .unwrap();
            let cap = cfg().backoff(attempt).as_millis() as u64;
            assert!(
                (cap / 2..=cap).contains(&wait),
                "seed {seed}, attempt {attempt}: {wait} ms"
            );
        }
    }
    firsts.sort_unstable();
    firsts.dedup();
    assert!(
        firsts.len() > 40,
        "50 phones, only {} distinct first retries",
        firsts.len()
    );
}

/// What `sync_now`/`upload_now` callers get: the real reason, typed, never
/// a network error standing for everything.
#[test]
fn every_reply_is_a_typed_result() {
    type IsRight = fn(&Error) -> bool;
    let cases: Vec<(Reply, IsRight)> = vec![
        (Reply::Paused, |e| matches!(e, Error::Paused)),
        (Reply::WaitingForWifi, |e| {
            matches!(e, Error::WaitingForWifi)
        }),
        (Reply::Closed, |e| matches!(e, Error::Closed)),
        (Reply::JobPanicked, |e| matches!(e, Error::Internal(_))),
        (Reply::NotConnected(OFFLINE), |e| {
            matches!(e, Error::Offline)
        }),
        (
            Reply::NotConnected(UNREACHABLE),
            |e| matches!(e, Error::Network(m) if m.contains("cannot be reached")),
        ),
        (Reply::NotConnected(Connectivity::AuthRejected), |e| {
            e.is_auth()
        }),
        (
            Reply::NotConnected(Connectivity::Throttled {
                retry_after_secs: 42,
            }),
            |e| matches!(e, Error::Throttled { retry_after: Some(d), .. } if d.as_secs() == 42),
        ),
        (
            Reply::Failed(Error::Protocol {
                what: "accounts".into(),
                detail: "cut".into(),
                problem: crate::status::ResponseProblem::Truncated,
            }),
            |e| e.response_problem() == Some(crate::status::ResponseProblem::Truncated),
        ),
        (Reply::Failed(rusqlite::Error::InvalidQuery.into()), |e| {
            matches!(e, Error::Store(_))
        }),
        (Reply::Failed(Error::Profile("no table x".into())), |e| {
            matches!(e, Error::Profile(_))
        }),
    ];
    assert_eq!(Reply::Ok.result().ok(), Some(()));
    for (reply, is_right) in cases {
        let e = reply.result().expect_err("a refusal");
        assert!(is_right(&e), "{reply:?} became {e:?}");
    }
}

#[test]
fn the_upload_wait_names_what_holds_the_outbox_back() {
    let t0 = Instant::now();
    let reachable = view(Connectivity::Reachable, true);
    let mut p = Policy::new(cfg(), 7);
    assert_eq!(
        p.upload_wait(t0, &view(Connectivity::Offline, true)),
        UploadWait::Offline
    );
    assert_eq!(
        p.upload_wait(t0, &view(Connectivity::Checking, true)),
        UploadWait::Checking
    );
    assert_eq!(
        p.upload_wait(t0, &view(Connectivity::AuthRejected, true)),
        UploadWait::SignInNeeded
    );
    assert_eq!(
        p.upload_wait(
            t0,
            &view(
                Connectivity::Throttled {
                    retry_after_secs: 9
                },
                true
            )
        ),
        UploadWait::Throttled {
            retry_after_secs: 9
        }
    );
    let mut wifi = view(Connectivity::Reachable, true);
    wifi.waiting_for_wifi = true;
    wifi.may_sync = false;
    assert_eq!(p.upload_wait(t0, &wifi), UploadWait::WaitingForWifi);
    // A local write: uploaded after the debounce.
    p.on(Input::Request(Request::LocalWrite), t0, &reachable);
    let debounce = cfg().upload_debounce.as_secs().max(1);
    match p.upload_wait(t0, &reachable) {
        UploadWait::Soon { in_secs } => assert!(in_secs <= debounce, "{in_secs} s"),
        other => panic!("expected Soon, got {other:?}"),
    }
    p.on(Input::Request(Request::Pause), t0, &reachable);
    assert_eq!(p.upload_wait(t0, &reachable), UploadWait::Paused);
    assert_eq!(
        p.upload_wait(t0, &view(Connectivity::Offline, true)),
        UploadWait::Paused,
        "paused says paused, whatever the network"
    );
}
