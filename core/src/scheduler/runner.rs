//! The runner: one tokio task per open app that feeds the policy
//! (`policy.rs`) its inputs (the app's commands, finished jobs, timers) and
//! performs the actions it returns: spawn or abort a probe or a sync job,
//! apply status events, answer the callers waiting for a run. It decides
//! nothing itself.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::warn;

use super::job::{self, JobCtx, Outcome};
use super::policy::{Action, Input, Policy, Request, WaitFor, Waiters};
use super::{Source, StatusHub};
use crate::connectivity::Prober;
use crate::diagnostics::RunRecord;
use crate::error::Result;
use crate::sync::SyncEngine;

/// What the app sends the runner (`Mooring` holds the sender).
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
    /// Why the outbox waits now (answered at once, changes nothing).
    UploadWait(oneshot::Sender<super::UploadWait>),
    Close(oneshot::Sender<()>),
}

enum Running {
    Probe,
    /// With the hub's job id: its events count until it is stopped.
    Sync(u64),
}

type Waiter = oneshot::Sender<Result<()>>;

pub(crate) struct Runner {
    hub: Arc<StatusHub>,
    policy: Policy,
    prober: Arc<Prober>,
    source: Arc<Source>,
    engine: Option<Arc<SyncEngine>>,
    rx: mpsc::UnboundedReceiver<Command>,
    job: Option<(Running, JoinHandle<Outcome>)>,
    /// Answered when the running (or next) run ends.
    waiters: Vec<Waiter>,
    /// Asked while a run was going: answered by the run after it.
    next_waiters: Vec<Waiter>,
    /// The sync run going, for its record in the diagnostics history.
    run: Option<RunStart>,
}

struct RunStart {
    started_ms: i64,
    at: Instant,
    kind: &'static str,
    requests: u64,
}

enum Wake {
    Command(Option<Command>),
    Job(std::result::Result<Outcome, tokio::task::JoinError>),
    Timer,
}

impl Runner {
    pub(crate) fn new(
        hub: Arc<StatusHub>,
        policy: Policy,
        prober: Prober,
        source: Source,
        rx: mpsc::UnboundedReceiver<Command>,
    ) -> Runner {
        Runner {
            hub,
            policy,
            prober: Arc::new(prober),
            source: Arc::new(source),
            engine: None,
            rx,
            job: None,
            waiters: Vec::new(),
            next_waiters: Vec::new(),
            run: None,
        }
    }

    pub(crate) async fn run(mut self) {
        loop {
            if !self.policy.busy() {
                let actions = self.policy.poll(now(), &self.hub.view());
                self.perform(actions, None, None);
            }
            let deadline = self
                .policy
                .deadline(&self.hub.view())
                .map(Instant::from_std);
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
                    self.feed(Input::Request(Request::Close), None, None);
                    let _ = done.send(());
                    break;
                }
                Wake::Command(Some(Command::UploadWait(reply))) => {
                    let _ = reply.send(self.policy.upload_wait(now(), &self.hub.view()));
                }
                Wake::Command(Some(cmd)) => {
                    let (request, reply) = split(cmd);
                    self.feed(Input::Request(request), reply, None);
                }
                Wake::Job(out) => {
                    let running = self.job.take().map(|(r, _)| r);
                    let input = match out {
                        Ok(Outcome::Probe { connectivity, user }) => {
                            Input::ProbeDone { connectivity, user }
                        }
                        Ok(Outcome::Sync { id, engine, result }) => {
                            self.end_run(match &result {
                                Ok(_) => "ok".into(),
                                Err(e) => e.code(),
                            });
                            let prepared = engine.is_some();
                            if engine.is_some() {
                                self.engine = engine;
                            }
                            Input::SyncDone {
                                current: self.hub.job_current(id),
                                prepared,
                                result: result.map(|next| next.map(Instant::into_std)),
                            }
                        }
                        Err(e) => {
                            // A panic in a job (a bug): report it, do not die.
                            warn!("sync job failed: {e}");
                            if matches!(running, Some(Running::Sync(_))) {
                                self.end_run("internal".into());
                            }
                            let current_sync = matches!(
                                running,
                                Some(Running::Sync(id)) if self.hub.job_current(id)
                            );
                            Input::JobPanicked { current_sync }
                        }
                    };
                    // The job's id, for EndJob/StopJobReporting below.
                    let finished = match running {
                        Some(Running::Sync(id)) => Some(id),
                        _ => None,
                    };
                    self.feed(input, None, finished);
                }
                Wake::Timer => {}
            }
        }
        self.abort_job();
    }

    /// Feeds one input and performs what the policy answers. `reply`: the
    /// caller of a request; `finished`: the id of the sync job that ended.
    fn feed(&mut self, input: Input, reply: Option<Waiter>, finished: Option<u64>) {
        let actions = self.policy.on(input, now(), &self.hub.view());
        self.perform(actions, reply, finished);
    }

    /// Performs the policy's actions in order. `reply`: the caller of the
    /// request just handled, placed by `Wait` or answered by `Reject`.
    fn perform(&mut self, actions: Vec<Action>, mut reply: Option<Waiter>, finished: Option<u64>) {
        for action in actions {
            match action {
                Action::StartProbe => {
                    let handle = job::probe(self.prober.clone(), self.source.store.clone());
                    self.job = Some((Running::Probe, handle));
                }
                Action::StartSync { plan, announce } => {
                    let id = self.hub.begin_job();
                    if let Some(phase) = announce {
                        self.hub
                            .apply_job(id, crate::status::Event::SyncStarted(phase));
                    }
                    let ctx = JobCtx {
                        id,
                        hub: self.hub.clone(),
                        source: self.source.clone(),
                        engine: self.engine.clone(),
                        delta_interval: self.policy.config().delta_interval,
                    };
                    let handle = tokio::spawn(async move { ctx.run(plan).await });
                    self.job = Some((Running::Sync(id), handle));
                    self.run = Some(RunStart {
                        started_ms: crate::now_ms(),
                        at: Instant::now(),
                        kind: if plan.full {
                            "full"
                        } else if plan.download {
                            "due"
                        } else {
                            "upload"
                        },
                        requests: self.source.remote.requests(),
                    });
                }
                Action::CancelJob => self.abort_job(),
                Action::EndJob => {
                    if let Some(id) = finished {
                        self.hub.end_job(id);
                    }
                }
                Action::StopJobReporting => {
                    if let Some(id) = finished
                        && self.hub.job_current(id)
                    {
                        self.hub.stop_job(None);
                    }
                }
                Action::Status(event) => {
                    self.hub.apply(event);
                }
                Action::Wait(WaitFor::ThisRun) => self.waiters.extend(reply.take()),
                Action::Wait(WaitFor::NextRun) => self.next_waiters.extend(reply.take()),
                Action::Reject(r) => {
                    if let Some(w) = reply.take() {
                        let _ = w.send(r.result());
                    }
                }
                Action::Answer { to, reply: r } => {
                    let mut answered = std::mem::take(&mut self.waiters);
                    match to {
                        Waiters::ThisRun => self.waiters.append(&mut self.next_waiters),
                        Waiters::All => answered.append(&mut self.next_waiters),
                    }
                    for w in answered {
                        let _ = w.send(r.result());
                    }
                }
            }
        }
    }

    /// Aborts the running job; a sync's reporting stops with it.
    fn abort_job(&mut self) {
        if let Some((running, handle)) = self.job.take() {
            handle.abort();
            if matches!(running, Running::Sync(_)) {
                self.hub.stop_job(None);
                self.end_run("cancelled".into());
            }
        }
    }

    /// Records the run that ended in the history, and moves the log
    /// records so far into the mirror (off the runtime's threads).
    fn end_run(&mut self, outcome: String) {
        if let Some(run) = self.run.take() {
            self.hub.history().run(RunRecord {
                started_ms: run.started_ms,
                duration_ms: run.at.elapsed().as_millis() as u64,
                kind: run.kind.to_string(),
                requests: self.source.remote.requests() - run.requests,
                outcome,
            });
        }
        let store = self.source.store.clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = store.flush_log() {
                tracing::debug!(error = %e.summary(), "could not keep the log records");
            }
        });
    }
}

fn split(cmd: Command) -> (Request, Option<Waiter>) {
    match cmd {
        Command::SyncNow(r) => (Request::SyncNow { waits: r.is_some() }, r),
        Command::UploadNow(r) => (Request::UploadNow { waits: r.is_some() }, r),
        Command::NetworkChanged => (Request::NetworkChanged, None),
        Command::LocalWrite => (Request::LocalWrite, None),
        Command::Pause => (Request::Pause, None),
        Command::Resume => (Request::Resume, None),
        // Handled by the loop (it also ends it).
        Command::Close(_) => (Request::Close, None),
        // Answered by the loop; were it to come here, re-deciding is harmless.
        Command::UploadWait(_) => (Request::NetworkChanged, None),
    }
}

/// The policy's clock: read here, at the edge.
fn now() -> std::time::Instant {
    Instant::now().into_std()
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
