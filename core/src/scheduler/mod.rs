//! When sync runs. One tokio task (the runner) owns the decisions: probe the
//! server when the OS says online, after failures (with backoff) and now and
//! then; resume an unfinished initial sync; delta sync each table at its
//! interval, on reconnect, on foreground and on demand; upload soon after
//! local writes; one job at a time, cancelled when the network goes away or
//! the app goes to the background. Every step is reported to the status
//! hub, so the status is true at every moment. Rules: docs/status.md.

pub mod hub;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info, warn};

pub use hub::{StatusHandle, StatusHub, StatusListener};

use crate::connectivity::Prober;
use crate::error::{Error, Result};
use crate::outbox::{Outbox, OutboxConfig};
use crate::profile::{AppManifest, Profile};
use crate::remote::{Remote, RemoteConfig, TokenProvider};
use crate::status::{self, Connectivity, Event, Failure, Phase};
use crate::store::Store;
use crate::sync::{Progress, ProgressFn, SyncEngine, SyncPhase};

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
    /// Backoff for the n-th consecutive failure (n >= 1), capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .retry_base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        exp.min(self.retry_cap)
    }
}

/// The write side, shared with the facade: None until the profile has been
/// resolved against the server once (then remembered in the mirror).
pub(crate) type SharedOutbox = Arc<RwLock<Option<Outbox>>>;

/// Where the resolved profile is remembered, so an app reopened offline
/// can validate and queue writes without the server.
pub(crate) const RESOLVED_PROFILE_META: &str = "profile.resolved";

/// What the runner needs to prepare a sync engine when the server answers.
pub(crate) struct Source {
    pub remote: RemoteConfig,
    pub tokens: Arc<dyn TokenProvider>,
    pub store: Store,
    pub profile: ProfileSource,
    pub outbox_config: OutboxConfig,
}

/// The offline profile, or an app manifest it is generated from (which
/// needs the server's schema, so it is resolved at the first connection).
#[derive(Clone, Debug)]
pub enum ProfileSource {
    Profile(Profile),
    Manifest(AppManifest),
}

pub(crate) enum Command {
    /// Sync now; the reply says how that run went.
    SyncNow(Option<oneshot::Sender<Result<()>>>),
    /// Upload now (and nothing else); the reply says how it went.
    UploadNow(Option<oneshot::Sender<Result<()>>>),
    /// The hub already has the new host network state; re-decide.
    NetworkChanged,
    /// A local write happened: upload after the debounce.
    LocalWrite,
    Pause,
    Resume,
    Close(oneshot::Sender<()>),
}

enum JobKind {
    Probe,
    /// With the hub's job id: its events count until it is stopped.
    Sync(u64),
}

enum Outcome {
    /// The probe's verdict and, when the server answered WhoAmI, whether
    /// its user is the mirror's (`Err(WrongUser)`, or a store error).
    Probe(Connectivity, Option<Result<()>>),
    Sync {
        id: u64,
        engine: Option<Arc<SyncEngine>>,
        result: Result<Option<Instant>>,
    },
}

/// What a sync job does.
#[derive(Clone, Copy)]
struct Plan {
    /// Every table, not only those due.
    full: bool,
    download: bool,
    upload: bool,
}

pub(crate) struct Runner {
    hub: Arc<StatusHub>,
    cfg: ScheduleConfig,
    prober: Arc<Prober>,
    source: Arc<Source>,
    engine: Option<Arc<SyncEngine>>,
    outbox: SharedOutbox,
    rx: mpsc::UnboundedReceiver<Command>,
    job: Option<(JobKind, JoinHandle<Outcome>)>,
    paused: bool,
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
    /// Answered when the running (or next) sync job ends.
    waiters: Vec<oneshot::Sender<Result<()>>>,
    /// Asked while a job ran: answered by the job after it.
    next_waiters: Vec<oneshot::Sender<Result<()>>>,
}

pub(crate) struct RunnerParts {
    pub hub: Arc<StatusHub>,
    pub cfg: ScheduleConfig,
    pub source: Source,
    pub outbox: SharedOutbox,
}

/// Starts the runner on the current runtime; commands go through the sender.
pub(crate) fn spawn(
    parts: RunnerParts,
) -> Result<(mpsc::UnboundedSender<Command>, JoinHandle<()>)> {
    let base = Remote::new(parts.source.remote.clone(), parts.source.tokens.clone())?
        .base_url()
        .to_string();
    let prober = Prober::new(&base, parts.source.tokens.clone(), parts.cfg.probe_timeout)?;
    let (tx, rx) = mpsc::unbounded_channel();
    let runner = Runner {
        hub: parts.hub,
        cfg: parts.cfg,
        prober: Arc::new(prober),
        source: Arc::new(parts.source),
        engine: None,
        outbox: parts.outbox,
        rx,
        job: None,
        paused: false,
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
        waiters: Vec::new(),
        next_waiters: Vec::new(),
    };
    let task = tokio::spawn(runner.run());
    Ok((tx, task))
}

enum Wake {
    Command(Option<Command>),
    Job(std::result::Result<Outcome, tokio::task::JoinError>),
    Timer,
}

fn not_connected(status: &status::SyncStatus) -> Error {
    Error::Network(format!(
        "not connected: {}",
        status.message.title.to_lowercase()
    ))
}

impl Runner {
    async fn run(mut self) {
        loop {
            if self.job.is_none() {
                self.maybe_start();
            }
            let deadline = self.next_deadline();
            let wake = {
                let job = &mut self.job;
                let rx = &mut self.rx;
                tokio::select! {
                    cmd = rx.recv() => Wake::Command(cmd),
                    out = async {
                        match job {
                            Some((_, handle)) => handle.await,
                            None => std::future::pending().await,
                        }
                    } => Wake::Job(out),
                    _ = sleep_until_opt(deadline) => Wake::Timer,
                }
            };
            match wake {
                Wake::Command(None) => break,
                Wake::Command(Some(Command::Close(done))) => {
                    self.cancel_job();
                    self.answer_all(|| Err(Error::Internal("closed".into())));
                    let _ = done.send(());
                    break;
                }
                Wake::Command(Some(cmd)) => self.handle(cmd),
                Wake::Job(out) => {
                    let kind = self.job.take().map(|(k, _)| k);
                    match out {
                        Ok(outcome) => self.finish(outcome),
                        Err(e) => {
                            // A panic in a job (a bug): report it, do not die.
                            warn!("sync job failed: {e}");
                            if let Some(JobKind::Sync(id)) = kind {
                                if self.hub.job_current(id) {
                                    self.hub.stop_job(None);
                                }
                            }
                            self.answer_waiters(|| {
                                Err(Error::Internal("the sync task failed".into()))
                            });
                        }
                    }
                }
                Wake::Timer => {}
            }
        }
        self.cancel_job();
    }

    fn next_deadline(&self) -> Option<Instant> {
        if self.job.is_some() || self.paused {
            return None;
        }
        let status = self.hub.status();
        if status.connectivity == Connectivity::Offline {
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

    fn handle(&mut self, cmd: Command) {
        match cmd {
            Command::SyncNow(reply) => {
                if let Some(r) = reply {
                    if self.paused {
                        let _ = r.send(Err(Error::Network("sync is paused".into())));
                        return;
                    }
                    let status = self.hub.status();
                    if status.connectivity == Connectivity::Offline {
                        let _ = r.send(Err(not_connected(&status)));
                        return;
                    }
                    self.enqueue_waiter(r);
                }
                self.want_full = true;
                // The user asked: skip any backoff, probe again if needed.
                self.probe_retry_at = None;
                self.sync_retry_at = None;
                if self.wrong_user {
                    // Only a probe can tell the user changed back.
                    self.probe_at = Some(Instant::now());
                }
            }
            Command::UploadNow(reply) => {
                if let Some(r) = reply {
                    let status = self.hub.status();
                    if self.paused || status.connectivity == Connectivity::Offline {
                        let _ = r.send(Err(not_connected(&status)));
                        return;
                    }
                    self.enqueue_waiter(r);
                }
                self.want_upload_only = true;
                self.probe_retry_at = None;
            }
            Command::LocalWrite => {
                self.upload_at = Some(Instant::now() + self.cfg.upload_debounce);
            }
            Command::NetworkChanged => {
                let status = self.hub.status();
                if status.connectivity == Connectivity::Offline {
                    // Whatever ran cannot finish: stop it now rather than
                    // let it time out, and say so at once.
                    self.cancel_job();
                    self.answer_all(|| Err(not_connected(&status)));
                } else {
                    // A new network: what we knew about the server is stale.
                    if matches!(self.job, Some((JobKind::Probe, _))) {
                        self.cancel_job();
                    }
                    if status.connectivity == Connectivity::Checking {
                        self.probe_retry_at = None;
                        self.probe_attempt = 0;
                    }
                }
            }
            Command::Pause => {
                self.paused = true;
                self.cancel_job();
                self.answer_all(|| Err(Error::Network("sync is paused".into())));
            }
            Command::Resume => {
                if self.paused {
                    self.paused = false;
                    // Back in the foreground: check the server, then sync.
                    self.want_full = true;
                    self.probe_at = Some(Instant::now());
                    self.probe_retry_at = None;
                }
            }
            Command::Close(_) => {}
        }
    }

    fn cancel_job(&mut self) {
        if let Some((kind, handle)) = self.job.take() {
            handle.abort();
            if matches!(kind, JobKind::Sync(_)) {
                self.hub.stop_job(None);
                // What was cut short runs again when possible.
                self.want_full = true;
            }
        }
    }

    /// A caller waiting for a run: a sync already going may have started
    /// before its request, so it waits for the next one.
    fn enqueue_waiter(&mut self, r: oneshot::Sender<Result<()>>) {
        if matches!(self.job, Some((JobKind::Sync(_), _))) {
            self.next_waiters.push(r);
        } else {
            self.waiters.push(r);
        }
    }

    fn answer_waiters(&mut self, result: impl Fn() -> Result<()>) {
        for w in self.waiters.drain(..) {
            let _ = w.send(result());
        }
        self.waiters.append(&mut self.next_waiters);
    }

    fn answer_all(&mut self, result: impl Fn() -> Result<()>) {
        for w in self.waiters.drain(..).chain(self.next_waiters.drain(..)) {
            let _ = w.send(result());
        }
    }

    /// Starts a probe or a sync if one is due and allowed.
    fn maybe_start(&mut self) {
        if self.paused {
            return;
        }
        let status = self.hub.status();
        let now = Instant::now();
        let need_probe = match status.connectivity {
            Connectivity::Offline => return,
            Connectivity::Checking => true,
            Connectivity::Reachable => self.probe_at.is_some_and(|t| now >= t),
            _ => self.probe_retry_at.is_none_or(|t| now >= t),
        };
        if need_probe {
            self.start_probe();
            return;
        }
        if self.wrong_user {
            return;
        }
        if !self.hub.may_sync() {
            // Reachable, but Wi-Fi only on a metered network: wait.
            if status.connectivity == Connectivity::Reachable {
                self.answer_all(|| {
                    Err(Error::Network(
                        "waiting for Wi-Fi: sync is set to Wi-Fi only".into(),
                    ))
                });
            }
            return;
        }
        if self.sync_retry_at.is_some_and(|t| now < t) {
            return;
        }
        let needs_initial = !status.initial_sync_complete;
        let delta_due = self.next_delta_at.is_some_and(|t| now >= t);
        let upload_due = self.upload_at.is_some_and(|t| now >= t);
        let plan = if self.want_full || needs_initial || self.engine.is_none() {
            Plan {
                full: true,
                download: true,
                upload: true,
            }
        } else if delta_due {
            Plan {
                full: false,
                download: true,
                upload: true,
            }
        } else if upload_due || self.want_upload_only {
            Plan {
                full: false,
                download: false,
                upload: true,
            }
        } else {
            if !self.waiters.is_empty() {
                self.answer_waiters(|| Ok(()));
            }
            return;
        };
        self.start_sync(plan);
    }

    fn start_probe(&mut self) {
        let prober = self.prober.clone();
        let store = self.source.store.clone();
        debug!("probing the server");
        self.job = Some((
            JobKind::Probe,
            tokio::spawn(async move {
                let (c, user) = prober.probe_user().await;
                let check = match user {
                    Some(user) if c == Connectivity::Reachable => {
                        Some(check_user(store, user).await)
                    }
                    _ => None,
                };
                Outcome::Probe(c, check)
            }),
        ));
    }

    fn start_sync(&mut self, plan: Plan) {
        self.want_full = false;
        self.want_upload_only = false;
        if plan.upload {
            self.upload_at = None;
        }
        let id = self.hub.begin_job();
        if plan.download {
            // Said before the task runs, so no listener sees a gap between
            // "the server answers" and "syncing".
            let phase = if self.hub.status().initial_sync_complete {
                Phase::DeltaSync
            } else {
                Phase::InitialSync
            };
            self.hub.apply_job(id, Event::SyncStarted(phase));
        }
        let ctx = JobCtx {
            id,
            hub: self.hub.clone(),
            source: self.source.clone(),
            engine: self.engine.clone(),
            outbox: self.outbox.clone(),
            delta_interval: self.cfg.delta_interval,
        };
        self.job = Some((
            JobKind::Sync(id),
            tokio::spawn(async move { ctx.run(plan).await }),
        ));
    }

    fn finish(&mut self, outcome: Outcome) {
        let now = Instant::now();
        match outcome {
            Outcome::Probe(c, Some(Err(e))) => {
                // The server answers, but this mirror is not this user's
                // (or its record could not be read): sync nothing into it.
                self.probe_attempt = 0;
                self.probe_retry_at = None;
                self.probe_at = Some(now + self.cfg.probe_interval);
                self.hub.apply(Event::Probed(c));
                let failure = match &e {
                    Error::WrongUser { .. } => {
                        self.wrong_user = true;
                        warn!("{e}");
                        Failure::WrongUser
                    }
                    other => self.failure_of(other, now),
                };
                self.hub.apply(Event::SyncFailed {
                    phase: status::Phase::Idle,
                    failure,
                });
                let answer: Box<dyn Fn() -> Result<()>> = match e {
                    Error::WrongUser { expected, actual } => Box::new(move || {
                        Err(Error::WrongUser {
                            expected: expected.clone(),
                            actual: actual.clone(),
                        })
                    }),
                    other => {
                        let msg = other.to_string();
                        Box::new(move || Err(Error::Internal(msg.clone())))
                    }
                };
                self.answer_all(answer);
            }
            Outcome::Probe(c, _) => {
                if c == Connectivity::Reachable && self.wrong_user {
                    info!("the signed-in user is the mirror's again: syncing");
                    self.wrong_user = false;
                    self.want_full = true;
                }
                let before = self.hub.status();
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
                        let wifi_blocked =
                            before.warnings.contains(&status::Warning::WaitingForWifi);
                        let retry_wait = self.sync_retry_at.is_some_and(|t| now < t);
                        if !self.paused
                            && !wifi_blocked
                            && !retry_wait
                            && (self.want_full
                                || !before.initial_sync_complete
                                || self.engine.is_none())
                        {
                            // "Syncing" first, then "reachable": a listener
                            // never sees a moment of "up to date" before a
                            // sync that is about to run.
                            self.start_sync(Plan {
                                full: true,
                                download: true,
                                upload: true,
                            });
                        }
                        self.hub.apply(Event::Probed(c));
                    }
                    other => {
                        self.hub.apply(Event::Probed(c));
                        self.probe_attempt += 1;
                        let wait = match other {
                            Connectivity::Throttled { retry_after_secs } => {
                                Duration::from_secs(retry_after_secs.max(1))
                            }
                            _ => self.cfg.backoff(self.probe_attempt),
                        };
                        info!(?other, ?wait, "server not reachable; probing again later");
                        self.probe_retry_at = Some(now + wait);
                        let status = self.hub.status();
                        self.answer_all(|| Err(not_connected(&status)));
                    }
                }
            }
            Outcome::Sync { id, engine, result } => {
                if engine.is_some() {
                    self.engine = engine;
                }
                if !self.hub.job_current(id) {
                    // Stopped meanwhile (offline, paused): its end says nothing.
                    return;
                }
                self.hub.end_job(id);
                match result {
                    Ok(next_delta) => {
                        self.sync_attempt = 0;
                        self.sync_retry_at = None;
                        self.next_delta_at = next_delta.or(self.next_delta_at);
                        self.probe_at = Some(now + self.cfg.probe_interval);
                        self.answer_waiters(|| Ok(()));
                    }
                    Err(e) => {
                        let failure = self.failure_of(&e, now);
                        if matches!(failure, Failure::Offline | Failure::Throttled { .. }) {
                            info!("sync stopped: {e}");
                        } else {
                            warn!("sync failed: {e}");
                        }
                        self.hub.apply(Event::ResponseProblem(e.response_problem()));
                        self.hub.apply(Event::SyncFailed {
                            phase: self.hub.status().phase,
                            failure,
                        });
                        let msg = e.to_string();
                        self.answer_waiters(|| Err(Error::Network(msg.clone())));
                        // Whatever did not finish is retried as a whole.
                        self.want_full = true;
                    }
                }
            }
        }
    }

    /// The status machine's reading of an error, and when to try again.
    fn failure_of(&mut self, e: &Error, now: Instant) -> Failure {
        match e {
            Error::Network(_) => {
                self.probe_attempt = 1;
                self.probe_retry_at = Some(now + self.cfg.backoff(1));
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
                self.probe_retry_at = Some(now + self.cfg.backoff(self.probe_attempt));
                Failure::Auth
            }
            Error::Store(_) | Error::Io(_) => {
                self.sync_retry_at = Some(now + self.cfg.retry_cap);
                Failure::Storage
            }
            _ => {
                self.sync_attempt += 1;
                let wait = self.cfg.backoff(self.sync_attempt);
                self.sync_retry_at = Some(now + wait);
                Failure::Transient {
                    attempt: self.sync_attempt,
                    next_in_secs: wait.as_secs().max(1),
                }
            }
        }
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// Everything one sync job needs, moved into its task.
struct JobCtx {
    id: u64,
    hub: Arc<StatusHub>,
    source: Arc<Source>,
    engine: Option<Arc<SyncEngine>>,
    outbox: SharedOutbox,
    delta_interval: Option<Duration>,
}

impl JobCtx {
    async fn run(self, plan: Plan) -> Outcome {
        let mut engine = self.engine.clone();
        let result = self.steps(plan, &mut engine).await;
        Outcome::Sync {
            id: self.id,
            engine,
            result,
        }
    }

    /// One run: prepare if needed, initial sync (or resume), delta of the
    /// tables due, upload. Steps hand over with `SyncStarted(next)` and the
    /// run ends with one `SyncSucceeded`, so the icon stays "syncing" from
    /// the first step to the last (no flash of another state in between).
    async fn steps(
        &self,
        plan: Plan,
        engine_slot: &mut Option<Arc<SyncEngine>>,
    ) -> Result<Option<Instant>> {
        let initial_done = self.hub.status().initial_sync_complete;
        if !initial_done && plan.download {
            // Validating the profile is part of the first download.
            self.hub
                .apply_job(self.id, Event::SyncStarted(Phase::InitialSync));
        }
        let engine = match engine_slot.clone() {
            Some(e) => e,
            None => {
                let e = self.prepare().await?;
                *engine_slot = Some(e.clone());
                e
            }
        };
        let mut last: Option<Phase> = None;
        let mut completes_initial = false;
        if plan.download {
            let ran_initial = engine.needs_initial().await?;
            if ran_initial {
                self.hub
                    .apply_job(self.id, Event::SyncStarted(Phase::InitialSync));
                let hub = self.hub.clone();
                let id = self.id;
                let progress: ProgressFn = Arc::new(move |p: &Progress| {
                    if p.phase == SyncPhase::Initial {
                        hub.apply_job(id, Event::InitialProgress(to_status_progress(p)));
                    }
                });
                engine.initial(progress).await?;
                last = Some(Phase::InitialSync);
            }
            // Also when the mirror was complete already (a profile check).
            completes_initial = ran_initial || !initial_done;
            // Tables just baselined are current: only the others.
            let tables = self
                .tables_to_refresh(&engine, plan.full && !ran_initial)
                .await?;
            if !tables.is_empty() {
                self.hub
                    .apply_job(self.id, Event::SyncStarted(Phase::DeltaSync));
                let quiet: ProgressFn = Arc::new(|_: &Progress| {});
                let summary = engine.delta_tables(Some(&tables), quiet).await?;
                debug!(
                    tables = tables.len(),
                    downloaded = summary.downloaded_rows,
                    deleted = summary.deleted_rows,
                    "delta sync done"
                );
                last = Some(Phase::DeltaSync);
            }
        }
        if plan.upload && self.upload_step(&engine).await? {
            last = Some(Phase::Upload);
        }
        let end = if completes_initial {
            // The event that marks the first sync complete.
            Some(Phase::InitialSync)
        } else {
            last
        };
        match end {
            Some(phase) => {
                self.hub.apply_job(
                    self.id,
                    Event::SyncSucceeded {
                        phase,
                        at_ms: now_ms(),
                    },
                );
            }
            // Nothing was due after all: close the "syncing" said up front.
            None => {
                self.hub.apply_job(self.id, Event::SyncStopped);
            }
        }
        Ok(Some(self.next_due(&engine).await?))
    }

    /// Validates the profile against the server, migrates the mirror, and
    /// makes (and remembers) the write side.
    async fn prepare(&self) -> Result<Arc<SyncEngine>> {
        let remote = Remote::new(self.source.remote.clone(), self.source.tokens.clone())?;
        let profile = match &self.source.profile {
            ProfileSource::Profile(p) => p.clone(),
            ProfileSource::Manifest(m) => crate::sync::profile_from_manifest(&remote, m).await?,
        };
        let (engine, migration) =
            SyncEngine::prepare(remote, self.source.store.clone(), &profile).await?;
        if !migration.created.is_empty() || !migration.rebaselined.is_empty() {
            info!(?migration, "profile applied to the mirror");
        }
        let resolved = serde_json::to_string(engine.profile())
            .map_err(|e| Error::Internal(format!("cannot serialize the resolved profile: {e}")))?;
        let store = self.source.store.clone();
        tokio::task::spawn_blocking(move || store.set_meta(RESOLVED_PROFILE_META, &resolved))
            .await??;
        let outbox = engine.outbox(self.source.outbox_config.clone());
        if let Ok(mut slot) = self.outbox.write() {
            *slot = Some(outbox);
        }
        Ok(Arc::new(engine))
    }

    /// Uploads pending changes; whether there were any.
    async fn upload_step(&self, engine: &SyncEngine) -> Result<bool> {
        let outbox = self.outbox.read().ok().and_then(|o| o.clone());
        let Some(outbox) = outbox else {
            return Ok(false);
        };
        let (n, _) = counts(&outbox).await?;
        self.hub.apply(Event::PendingChanged(n));
        if n == 0 {
            return Ok(false);
        }
        self.hub
            .apply_job(self.id, Event::SyncStarted(Phase::Upload));
        let result = outbox.upload(engine.remote()).await;
        let (left, errors) = counts(&outbox).await?;
        self.hub.apply(Event::PendingChanged(left));
        self.hub.apply(Event::SyncErrorsChanged(errors));
        let summary = result?;
        debug!(
            uploaded = summary.uploaded,
            rejected = summary.rejected,
            requests = summary.requests,
            "upload done"
        );
        Ok(true)
    }

    fn interval(&self, table_minutes: u32) -> i64 {
        match self.delta_interval {
            Some(d) => d.as_millis() as i64,
            None => i64::from(table_minutes) * 60_000,
        }
    }

    /// Every table (full), or those whose interval has elapsed.
    async fn tables_to_refresh(&self, engine: &SyncEngine, full: bool) -> Result<Vec<String>> {
        let now = now_ms();
        let mut out = Vec::new();
        for t in &engine.profile().tables {
            if full {
                out.push(t.name.clone());
                continue;
            }
            let last = self.last_synced(&t.name).await?;
            if last.is_none_or(|l| now - l >= self.interval(t.interval_minutes)) {
                out.push(t.name.clone());
            }
        }
        Ok(out)
    }

    /// When the next table falls due.
    async fn next_due(&self, engine: &SyncEngine) -> Result<Instant> {
        let now = now_ms();
        let mut soonest = i64::MAX;
        for t in &engine.profile().tables {
            let last = self.last_synced(&t.name).await?.unwrap_or(now);
            soonest = soonest.min(last + self.interval(t.interval_minutes));
        }
        let wait = if soonest == i64::MAX {
            0
        } else {
            (soonest - now).max(0) as u64
        };
        // Never spin: at least a second between two timed runs.
        Ok(Instant::now() + Duration::from_millis(wait.max(1000)))
    }

    async fn last_synced(&self, table: &str) -> Result<Option<i64>> {
        let store = self.source.store.clone();
        let name = table.to_string();
        tokio::task::spawn_blocking(move || store.table_state(&name))
            .await?
            .map(|s| s.and_then(|s| s.last_synced_ms))
    }
}

/// Records the WhoAmI user in a mirror that has none yet (its first
/// connection); refuses a mirror recorded for another user.
async fn check_user(store: Store, user: String) -> Result<()> {
    tokio::task::spawn_blocking(move || match store.meta(crate::mooring::USER_ID_META)? {
        None => store.set_meta(crate::mooring::USER_ID_META, &user),
        Some(recorded) if recorded.eq_ignore_ascii_case(&user) => Ok(()),
        Some(recorded) => Err(Error::WrongUser {
            expected: recorded,
            actual: user,
        }),
    })
    .await?
}

/// (pending changes, sync errors) of the outbox, off the async threads.
pub(crate) async fn counts(outbox: &Outbox) -> Result<(u64, u64)> {
    let ob = outbox.clone();
    tokio::task::spawn_blocking(move || Ok((ob.pending_count()?, ob.sync_error_count()?))).await?
}

fn to_status_progress(p: &Progress) -> status::Progress {
    status::Progress {
        tables_done: p.tables_done,
        tables_total: p.tables_total,
        rows_done: p.rows_done,
        rows_total: p.rows_total,
        bytes: p.bytes,
        eta_secs: p.eta.map(|d| d.as_secs()),
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
