//! The scheduler's decisions as plain data: what to probe, sync or upload
//! next, backoff, pause, Wi-Fi only, the upload debounce, and who among the
//! callers of `sync_now`/`upload_now` gets which answer. Inputs (a request,
//! a finished job) and `now` come in with a view of the status; actions come
//! out for the runner (`runner.rs`) to perform. No tokio, no clock, no I/O:
//! every rule is testable as a table (`policy_tests.rs`), as in
//! powersync-sqlite-core's sync client that takes events and returns
//! instructions.

use std::time::{Duration, Instant};

use tracing::{debug, info, warn};

use super::upload_wait::UploadWait;
use crate::error::Error;
use crate::status::{Activity, Connectivity, Event, Failure, UnreachableReason};

/// Timings of the scheduler. The defaults suit a phone; tests and the demo
/// shorten them (nothing in the scheduler sleeps longer than these say).
#[derive(Clone, Debug)]
pub struct ScheduleConfig {
    /// One probe (`WhoAmI`) gives up after this.
    pub probe_timeout: Duration,
    /// While reachable and idle, re-probe this often (a network that dies
    /// quietly shows within this time even if no sync is due).
    pub probe_interval: Duration,
    /// Upload this long after the last local write (edits in a burst go
    /// up together).
    pub upload_debounce: Duration,
    /// Backoff after a failed probe or sync: doubles from `retry_base` up to
    /// `retry_cap`.
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// Overrides every table's `interval_minutes` (tests, the demo). None:
    /// the profile's per-table interval (default 5 minutes).
    pub delta_interval: Option<Duration>,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            probe_timeout: Duration::from_secs(10),
            probe_interval: Duration::from_secs(60),
            upload_debounce: Duration::from_secs(2),
            retry_base: Duration::from_secs(5),
            retry_cap: Duration::from_secs(300),
            delta_interval: None,
        }
    }
}

impl ScheduleConfig {
    /// Backoff for the n-th consecutive failure (n >= 1), capped: the
    /// longest a retry waits. The policy waits a random part of it (see
    /// `Policy::retry_wait`).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .retry_base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        exp.min(self.retry_cap)
    }
}

/// What the policy reads of the live status (the hub builds it; tests write
/// it by hand).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StatusView {
    pub connectivity: Connectivity,
    pub initial_sync_complete: bool,
    /// Reachable, and not held back by Wi-Fi only on a metered network.
    pub may_sync: bool,
    pub waiting_for_wifi: bool,
    pub phase: Activity,
}

/// What a sync job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Every table, not only those due.
    pub full: bool,
    pub download: bool,
    pub upload: bool,
}

impl Plan {
    pub const FULL: Plan = Plan {
        full: true,
        download: true,
        upload: true,
    };
    pub const DUE: Plan = Plan {
        full: false,
        download: true,
        upload: true,
    };
    pub const UPLOAD: Plan = Plan {
        full: false,
        download: false,
        upload: true,
    };
}

/// What the app asked of the scheduler. `waits`: the caller awaits the
/// answer (`sync_now`), or not (`request_sync`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Request {
    SyncNow {
        waits: bool,
    },
    UploadNow {
        waits: bool,
    },
    /// The hub already has the new host network state; re-decide.
    NetworkChanged,
    /// A local write happened: upload after the debounce.
    LocalWrite,
    Pause,
    Resume,
    Close,
}

/// Something the policy must react to.
#[derive(Debug)]
pub(crate) enum Input {
    Request(Request),
    /// The probe's verdict and, when the server answered WhoAmI, whether
    /// its user is the mirror's (`Err(WrongUser)`, or a store error).
    ProbeDone {
        connectivity: Connectivity,
        user: Option<Result<(), Error>>,
    },
    /// A sync job ended. `current`: it was not stopped meanwhile (its end
    /// counts); `prepared`: the engine exists (the profile was resolved);
    /// `result`: when the next table falls due, or why it failed.
    SyncDone {
        current: bool,
        prepared: bool,
        result: Result<Option<Instant>, Error>,
    },
    /// The job task died (a bug); `current_sync`: it was a sync whose
    /// events still counted.
    JobPanicked {
        current_sync: bool,
    },
}

/// Which waiting callers an answer goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Waiters {
    /// Those waiting for the run that just ended (or for "now", when nothing
    /// had to run); those who asked during it move up to wait for the next.
    ThisRun,
    /// Everyone waiting, for this run or the next.
    All,
}

/// What a caller of `sync_now`/`upload_now` is told.
#[derive(Clone, Debug)]
pub(crate) enum Reply {
    Ok,
    Paused,
    /// Not connected, and how the status saw the server at that moment.
    NotConnected(Connectivity),
    WaitingForWifi,
    Closed,
    /// The sync task died (a bug).
    JobPanicked,
    /// The run (or the probe's user check) failed with this error.
    Failed(Error),
}

impl PartialEq for Reply {
    /// Errors compare by kind and text (they hold SQLite and I/O errors,
    /// which have no equality): enough for the policy's tables.
    fn eq(&self, other: &Reply) -> bool {
        match (self, other) {
            (Reply::Failed(a), Reply::Failed(b)) => a.to_string() == b.to_string(),
            (Reply::NotConnected(a), Reply::NotConnected(b)) => a == b,
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }
}

impl Reply {
    /// The caller's result: the real reason, typed (offline, paused,
    /// Wi-Fi only, a refused token, throttling, or the run's own error).
    pub fn result(&self) -> Result<(), Error> {
        Err(match self {
            Reply::Ok => return Ok(()),
            Reply::Paused => Error::Paused,
            Reply::WaitingForWifi => Error::WaitingForWifi,
            Reply::Closed => Error::Closed,
            Reply::JobPanicked => Error::Internal("the sync task failed".into()),
            Reply::Failed(e) => e.clone(),
            Reply::NotConnected(c) => match *c {
                Connectivity::Offline => Error::Offline,
                Connectivity::AuthRejected => {
                    Error::Auth("WhoAmI: the token was refused after a refresh".into())
                }
                Connectivity::Throttled { retry_after_secs } => Error::Throttled {
                    attempts: 1,
                    retry_after: Some(Duration::from_secs(retry_after_secs)),
                },
                Connectivity::Unreachable(UnreachableReason::Untrusted) => Error::Tls(
                    "the server's certificate is not trusted (or the TLS handshake failed)".into(),
                ),
                Connectivity::Unreachable(why) => Error::Network(
                    match why {
                        UnreachableReason::Timeout => "the server did not answer in time",
                        UnreachableReason::NoRoute => "the server cannot be reached",
                        UnreachableReason::CaptivePortal => {
                            "the network answers with a web page (a sign-in portal?)"
                        }
                        UnreachableReason::Untrusted => "the server's certificate is not trusted",
                    }
                    .into(),
                ),
                Connectivity::Checking | Connectivity::Reachable => {
                    Error::Network("the server has not answered yet".into())
                }
            },
        })
    }
}

/// What the runner does, in order.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Action {
    StartProbe,
    /// Start a sync job; `announce`: the phase the status shows before the
    /// task runs (no gap between "the server answers" and "syncing").
    StartSync {
        plan: Plan,
        announce: Option<Activity>,
    },
    /// Abort the running job (a sync's events stop counting at once).
    CancelJob,
    /// The finished sync job's events stop counting (it ended by itself).
    EndJob,
    /// The died sync job's reporting stops and "syncing" ends.
    StopJobReporting,
    Status(Event),
    /// The caller of the request being handled waits for this run (none is
    /// going) or the next (one is going and may have started before).
    Wait(WaitFor),
    /// The caller of the request being handled is answered at once.
    Reject(Reply),
    Answer {
        to: Waiters,
        reply: Reply,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitFor {
    ThisRun,
    NextRun,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Job {
    Probe,
    Sync,
}

/// The scheduler's state: plain data.
#[derive(Debug)]
pub(crate) struct Policy {
    cfg: ScheduleConfig,
    job: Option<Job>,
    paused: bool,
    /// The sync engine exists (the profile was resolved at a connection).
    prepared: bool,
    /// A run of every table is wanted (open, reconnect, foreground, demand).
    want_full: bool,
    want_upload_only: bool,
    upload_at: Option<Instant>,
    next_delta_at: Option<Instant>,
    /// Next periodic probe while reachable.
    probe_at: Option<Instant>,
    /// Backoff while the server is not reachable (or rejects the token).
    probe_retry_at: Option<Instant>,
    probe_attempt: u32,
    /// The server signs in another user than the mirror's: no sync until a
    /// probe answers with the mirror's user.
    wrong_user: bool,
    /// Backoff after a sync failed for a passing reason while reachable.
    sync_retry_at: Option<Instant>,
    sync_attempt: u32,
    /// Callers waiting for the running (or next) run, and those who asked
    /// while a run was going (answered by the run after it).
    waiting: usize,
    waiting_next: usize,
    /// Spreads retries ("equal jitter"): phones that lost the same server
    /// at the same moment do not all come back at the same moment. Seeded
    /// by the caller, so the policy stays deterministic under test.
    rng: fastrand::Rng,
}

impl Policy {
    /// `seed`: of the retry jitter (random per app in the runner, fixed in
    /// tests).
    pub fn new(cfg: ScheduleConfig, seed: u64) -> Policy {
        Policy {
            cfg,
            job: None,
            paused: false,
            prepared: false,
            want_full: true,
            want_upload_only: false,
            upload_at: None,
            next_delta_at: None,
            probe_at: None,
            probe_retry_at: None,
            probe_attempt: 0,
            wrong_user: false,
            sync_retry_at: None,
            sync_attempt: 0,
            waiting: 0,
            waiting_next: 0,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// The wait before the n-th retry: between half of the backoff and all
    /// of it, at random ("equal jitter": never less than half, so a retry
    /// storm cannot form, and never in step across a fleet).
    fn retry_wait(&mut self, attempt: u32) -> Duration {
        let cap = self.cfg.backoff(attempt);
        let half = cap / 2;
        let spread = (cap - half).as_millis() as u64;
        half + Duration::from_millis(self.rng.u64(0..=spread))
    }

    /// Why the outbox's changes wait now (`UploadWait`), from what the
    /// policy knows: a running sync, pause, the server's state, Wi-Fi only,
    /// backoff, the upload debounce.
    pub fn upload_wait(&self, now: Instant, status: &StatusView) -> UploadWait {
        let secs_until = |t: Instant| {
            let d = t.saturating_duration_since(now);
            d.as_secs() + u64::from(d.subsec_nanos() > 0)
        };
        if matches!(self.job, Some(Job::Sync)) {
            return UploadWait::Uploading;
        }
        if self.paused {
            return UploadWait::Paused;
        }
        match status.connectivity {
            Connectivity::Offline => return UploadWait::Offline,
            Connectivity::Checking => return UploadWait::Checking,
            Connectivity::Unreachable(_) => return UploadWait::ServerUnreachable,
            Connectivity::AuthRejected => return UploadWait::SignInNeeded,
            Connectivity::Throttled { retry_after_secs } => {
                return UploadWait::Throttled { retry_after_secs };
            }
            Connectivity::Reachable => {}
        }
        if self.wrong_user {
            return UploadWait::WrongUser;
        }
        if status.waiting_for_wifi {
            return UploadWait::WaitingForWifi;
        }
        if let Some(t) = self.sync_retry_at.filter(|t| now < *t) {
            return UploadWait::Retrying {
                in_secs: secs_until(t),
            };
        }
        UploadWait::Soon {
            in_secs: self.upload_at.map(secs_until).unwrap_or(0),
        }
    }

    pub fn config(&self) -> &ScheduleConfig {
        &self.cfg
    }

    /// Whether a job (probe or sync) is running.
    pub fn busy(&self) -> bool {
        self.job.is_some()
    }

    /// When the runner must wake up to `poll` again (None: only an input
    /// can change anything).
    pub fn deadline(&self, status: &StatusView) -> Option<Instant> {
        if self.job.is_some() || self.paused || status.connectivity == Connectivity::Offline {
            return None;
        }
        [
            self.probe_at,
            self.probe_retry_at,
            self.sync_retry_at,
            self.upload_at,
            self.next_delta_at,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Reacts to one input.
    pub fn on(&mut self, input: Input, now: Instant, status: &StatusView) -> Vec<Action> {
        let mut out = Vec::new();
        match input {
            Input::Request(r) => self.request(r, now, status, &mut out),
            Input::ProbeDone { connectivity, user } => {
                self.job = None;
                self.probe_done(connectivity, user, now, status, &mut out);
            }
            Input::SyncDone {
                current,
                prepared,
                result,
            } => {
                self.job = None;
                self.prepared |= prepared;
                if current {
                    self.sync_done(result, now, status, &mut out);
                }
            }
            Input::JobPanicked { current_sync } => {
                self.job = None;
                if current_sync {
                    out.push(Action::StopJobReporting);
                }
                self.answer(Waiters::ThisRun, Reply::JobPanicked, &mut out);
            }
        }
        out
    }

    /// Starts a probe or a sync if one is due and allowed (call when idle).
    pub fn poll(&mut self, now: Instant, status: &StatusView) -> Vec<Action> {
        let mut out = Vec::new();
        if self.job.is_some() || self.paused {
            return out;
        }
        let need_probe = match status.connectivity {
            Connectivity::Offline => return out,
            Connectivity::Checking => true,
            Connectivity::Reachable => self.probe_at.is_some_and(|t| now >= t),
            _ => self.probe_retry_at.is_none_or(|t| now >= t),
        };
        if need_probe {
            debug!("probing the server");
            self.job = Some(Job::Probe);
            out.push(Action::StartProbe);
            return out;
        }
        if self.wrong_user {
            return out;
        }
        if !status.may_sync {
            // Reachable, but Wi-Fi only on a metered network: wait.
            if status.connectivity == Connectivity::Reachable {
                self.answer(Waiters::All, Reply::WaitingForWifi, &mut out);
            }
            return out;
        }
        if self.sync_retry_at.is_some_and(|t| now < t) {
            return out;
        }
        let delta_due = self.next_delta_at.is_some_and(|t| now >= t);
        let upload_due = self.upload_at.is_some_and(|t| now >= t);
        let plan = if self.want_full || !status.initial_sync_complete || !self.prepared {
            Plan::FULL
        } else if delta_due {
            Plan::DUE
        } else if upload_due || self.want_upload_only {
            Plan::UPLOAD
        } else {
            // Nothing to do: whoever asked is up to date.
            if self.waiting > 0 {
                self.answer(Waiters::ThisRun, Reply::Ok, &mut out);
            }
            return out;
        };
        self.start_sync(plan, status, &mut out);
        out
    }

    fn request(&mut self, r: Request, now: Instant, status: &StatusView, out: &mut Vec<Action>) {
        let offline = status.connectivity == Connectivity::Offline;
        match r {
            Request::SyncNow { waits } => {
                if waits {
                    if self.paused {
                        out.push(Action::Reject(Reply::Paused));
                        return;
                    }
                    if offline {
                        out.push(Action::Reject(Reply::NotConnected(status.connectivity)));
                        return;
                    }
                    self.wait(out);
                }
                self.want_full = true;
                // The user asked: skip any backoff, probe again if needed.
                self.probe_retry_at = None;
                self.sync_retry_at = None;
                if self.wrong_user {
                    // Only a probe can tell the user changed back.
                    self.probe_at = Some(now);
                }
            }
            Request::UploadNow { waits } => {
                if waits {
                    if self.paused {
                        out.push(Action::Reject(Reply::Paused));
                        return;
                    }
                    if offline {
                        out.push(Action::Reject(Reply::NotConnected(status.connectivity)));
                        return;
                    }
                    self.wait(out);
                }
                self.want_upload_only = true;
                self.probe_retry_at = None;
            }
            Request::LocalWrite => {
                self.upload_at = Some(now + self.cfg.upload_debounce);
            }
            Request::NetworkChanged => {
                if offline {
                    // Whatever ran cannot finish: stop it now rather than
                    // let it time out, and say so at once.
                    self.cancel_job(out);
                    self.answer(
                        Waiters::All,
                        Reply::NotConnected(Connectivity::Offline),
                        out,
                    );
                } else {
                    // A new network: what we knew about the server is stale.
                    if self.job == Some(Job::Probe) {
                        self.cancel_job(out);
                    }
                    if status.connectivity == Connectivity::Checking {
                        self.probe_retry_at = None;
                        self.probe_attempt = 0;
                    }
                }
            }
            Request::Pause => {
                self.paused = true;
                self.cancel_job(out);
                self.answer(Waiters::All, Reply::Paused, out);
            }
            Request::Resume => {
                if self.paused {
                    self.paused = false;
                    // Back in the foreground: check the server, then sync.
                    self.want_full = true;
                    self.probe_at = Some(now);
                    self.probe_retry_at = None;
                }
            }
            Request::Close => {
                self.cancel_job(out);
                self.answer(Waiters::All, Reply::Closed, out);
            }
        }
    }

    /// A caller waiting for a run: a sync already going may have started
    /// before its request, so it waits for the next one.
    fn wait(&mut self, out: &mut Vec<Action>) {
        if self.job == Some(Job::Sync) {
            self.waiting_next += 1;
            out.push(Action::Wait(WaitFor::NextRun));
        } else {
            self.waiting += 1;
            out.push(Action::Wait(WaitFor::ThisRun));
        }
    }

    fn answer(&mut self, to: Waiters, reply: Reply, out: &mut Vec<Action>) {
        match to {
            Waiters::ThisRun => {
                self.waiting = std::mem::take(&mut self.waiting_next);
            }
            Waiters::All => {
                self.waiting = 0;
                self.waiting_next = 0;
            }
        }
        out.push(Action::Answer { to, reply });
    }

    fn cancel_job(&mut self, out: &mut Vec<Action>) {
        if let Some(job) = self.job.take() {
            out.push(Action::CancelJob);
            if job == Job::Sync {
                // What was cut short runs again when possible.
                self.want_full = true;
            }
        }
    }

    fn start_sync(&mut self, plan: Plan, status: &StatusView, out: &mut Vec<Action>) {
        self.want_full = false;
        self.want_upload_only = false;
        if plan.upload {
            self.upload_at = None;
        }
        let announce = plan.download.then_some(if status.initial_sync_complete {
            Activity::DeltaSync
        } else {
            Activity::InitialSync
        });
        self.job = Some(Job::Sync);
        out.push(Action::StartSync { plan, announce });
    }

    fn probe_done(
        &mut self,
        c: Connectivity,
        user: Option<Result<(), Error>>,
        now: Instant,
        before: &StatusView,
        out: &mut Vec<Action>,
    ) {
        if let Some(Err(e)) = user {
            // The server answers, but this mirror is not this user's (or its
            // record could not be read): sync nothing into it.
            self.probe_attempt = 0;
            self.probe_retry_at = None;
            self.probe_at = Some(now + self.cfg.probe_interval);
            out.push(Action::Status(Event::Probed(c)));
            let (failure, reply) = match e {
                e @ Error::WrongUser { .. } => {
                    self.wrong_user = true;
                    warn!("the server signs in another user than the mirror's");
                    (Failure::WrongUser, Reply::Failed(e))
                }
                other => (self.failure_of(&other, now), Reply::Failed(other)),
            };
            out.push(Action::Status(Event::SyncFailed {
                phase: Activity::Idle,
                failure,
            }));
            self.answer(Waiters::All, reply, out);
            return;
        }
        if c == Connectivity::Reachable && self.wrong_user {
            info!("the signed-in user is the mirror's again: syncing");
            self.wrong_user = false;
            self.want_full = true;
        }
        match c {
            Connectivity::Reachable => {
                self.probe_attempt = 0;
                self.probe_retry_at = None;
                self.probe_at = Some(now + self.cfg.probe_interval);
                if before.connectivity != Connectivity::Reachable {
                    info!("server reachable: syncing");
                    // Reconnect: resume whatever was interrupted.
                    self.want_full = true;
                }
                let retry_wait = self.sync_retry_at.is_some_and(|t| now < t);
                if !self.paused
                    && !before.waiting_for_wifi
                    && !retry_wait
                    && (self.want_full || !before.initial_sync_complete || !self.prepared)
                {
                    // "Syncing" first, then "reachable": a listener never
                    // sees a moment of "up to date" before a sync that is
                    // about to run.
                    self.start_sync(Plan::FULL, before, out);
                }
                out.push(Action::Status(Event::Probed(c)));
            }
            other => {
                out.push(Action::Status(Event::Probed(c)));
                self.probe_attempt += 1;
                let wait = match other {
                    Connectivity::Throttled { retry_after_secs } => {
                        Duration::from_secs(retry_after_secs.max(1))
                    }
                    _ => self.retry_wait(self.probe_attempt),
                };
                info!(?other, ?wait, "server not reachable; probing again later");
                self.probe_retry_at = Some(now + wait);
                self.answer(Waiters::All, Reply::NotConnected(other), out);
            }
        }
    }

    fn sync_done(
        &mut self,
        result: Result<Option<Instant>, Error>,
        now: Instant,
        status: &StatusView,
        out: &mut Vec<Action>,
    ) {
        out.push(Action::EndJob);
        match result {
            Ok(next_delta) => {
                self.sync_attempt = 0;
                self.sync_retry_at = None;
                self.next_delta_at = next_delta.or(self.next_delta_at);
                self.probe_at = Some(now + self.cfg.probe_interval);
                self.answer(Waiters::ThisRun, Reply::Ok, out);
            }
            Err(e) => {
                let failure = self.failure_of(&e, now);
                if matches!(failure, Failure::Offline | Failure::Throttled { .. }) {
                    info!(error = %e.summary(), "sync stopped");
                } else {
                    warn!(error = %e.summary(), "sync failed");
                }
                out.push(Action::Status(Event::ResponseProblem(e.response_problem())));
                out.push(Action::Status(Event::SyncFailed {
                    phase: status.phase,
                    failure,
                }));
                self.answer(Waiters::ThisRun, Reply::Failed(e), out);
                // Whatever did not finish is retried as a whole.
                self.want_full = true;
            }
        }
    }

    /// The status machine's reading of an error, and when to try again.
    fn failure_of(&mut self, e: &Error, now: Instant) -> Failure {
        match e {
            Error::Network(_) => {
                self.probe_attempt = 1;
                self.probe_retry_at = Some(now + self.retry_wait(1));
                Failure::Offline
            }
            Error::Throttled { retry_after, .. } => {
                let secs = retry_after.map(|d| d.as_secs().max(1)).unwrap_or(30);
                self.probe_retry_at = Some(now + Duration::from_secs(secs));
                Failure::Throttled {
                    retry_after_secs: secs,
                }
            }
            Error::Auth(_) | Error::TokenProvider(_) => {
                self.probe_attempt += 1;
                let wait = self.retry_wait(self.probe_attempt);
                self.probe_retry_at = Some(now + wait);
                Failure::Auth
            }
            Error::Store(_) | Error::Io(_) => {
                self.sync_retry_at = Some(now + self.cfg.retry_cap);
                Failure::Storage
            }
            _ => {
                self.sync_attempt += 1;
                let wait = self.retry_wait(self.sync_attempt);
                self.sync_retry_at = Some(now + wait);
                Failure::Transient {
                    attempt: self.sync_attempt,
                    next_in_secs: wait.as_secs().max(1),
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
