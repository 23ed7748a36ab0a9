//! The one live status: the pure `StatusMachine` behind a lock, plus the
//! app's listeners. Every event goes through `apply`; a visible change is
//! queued to every listener in the order it happened (one channel and one
//! delivering task per listener), so a slow listener never blocks sync and
//! never sees states out of order or skipped.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use super::StatusView;
use crate::diagnostics::{History, Transition};
use crate::status::{Event, Icon, StatusMachine, SyncStatus, Warning};

/// Called with the current status at once, then with every change.
pub type StatusListener = Arc<dyn Fn(&SyncStatus) + Send + Sync>;

pub struct StatusHub {
    inner: Mutex<Inner>,
    /// The last visible changes and sync runs, for the diagnostics report.
    history: History,
    next_id: AtomicU64,
    runtime: tokio::runtime::Handle,
}

struct Inner {
    machine: StatusMachine,
    listeners: HashMap<u64, UnboundedSender<SyncStatus>>,
    /// The sync job whose events count (0: none). A job that was stopped
    /// (offline, paused) may still run until its next await: its late
    /// events must not make the status say "syncing" again.
    job: u64,
    /// The icon and message of the last recorded transition.
    last_shown: Option<(Icon, &'static str)>,
}

impl StatusHub {
    pub fn new(runtime: tokio::runtime::Handle) -> StatusHub {
        StatusHub {
            inner: Mutex::new(Inner {
                machine: StatusMachine::new(),
                listeners: HashMap::new(),
                job: 0,
                last_shown: None,
            }),
            history: History::default(),
            next_id: AtomicU64::new(1),
            runtime,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The machine is plain data updated in one call; a panic elsewhere
        // while holding the lock cannot leave it half-updated.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Feeds one event; tells the listeners when the status changed.
    pub fn apply(&self, event: Event) -> bool {
        let mut inner = self.lock();
        self.apply_locked(&mut inner, event)
    }

    fn apply_locked(&self, inner: &mut Inner, event: Event) -> bool {
        let Some(status) = inner.machine.apply(event).cloned() else {
            return false;
        };
        // Progress changes the status many times a second: the history
        // keeps the changes of icon or message.
        let shown = (status.icon, status.message.key);
        if inner.last_shown.as_ref() != Some(&shown) {
            self.history.transition(Transition {
                at_ms: crate::now_ms(),
                icon: format!("{:?}", status.icon),
                message_key: status.message.key.to_string(),
            });
            inner.last_shown = Some(shown);
        }
        // Sent under the lock: listeners see changes in the order applied.
        inner
            .listeners
            .retain(|_, tx| tx.send(status.clone()).is_ok());
        true
    }

    /// A new sync job starts: from now on only its events count.
    pub(crate) fn begin_job(&self) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().job = id;
        id
    }

    /// An event from sync job `id`; dropped if that job was stopped.
    pub(crate) fn apply_job(&self, id: u64, event: Event) -> bool {
        let mut inner = self.lock();
        if inner.job != id {
            return false;
        }
        self.apply_locked(&mut inner, event)
    }

    /// Job `id` ended by itself: later events are the runner's.
    pub(crate) fn end_job(&self, id: u64) {
        let mut inner = self.lock();
        if inner.job == id {
            inner.job = 0;
        }
    }

    /// Whether job `id` still counts.
    pub(crate) fn job_current(&self, id: u64) -> bool {
        self.lock().job == id
    }

    /// Applies `event` (e.g. the OS going offline) and, in the same step,
    /// stops the running job's reporting: the status never shows a sync
    /// that can no longer happen, not even for a moment.
    pub(crate) fn stop_job(&self, event: Option<Event>) {
        let mut inner = self.lock();
        if let Some(e) = event {
            self.apply_locked(&mut inner, e);
        }
        if inner.job != 0 {
            inner.job = 0;
            self.apply_locked(&mut inner, Event::SyncStopped);
        }
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    pub fn status(&self) -> SyncStatus {
        self.lock().machine.status().clone()
    }

    pub fn may_sync(&self) -> bool {
        self.lock().machine.may_sync()
    }

    /// What the scheduler's policy reads of the status, in one lock.
    pub(crate) fn view(&self) -> StatusView {
        let inner = self.lock();
        let status = inner.machine.status();
        StatusView {
            connectivity: status.connectivity,
            initial_sync_complete: status.initial_sync_complete,
            may_sync: inner.machine.may_sync(),
            waiting_for_wifi: status.warnings.contains(&Warning::WaitingForWifi),
            phase: status.phase,
        }
    }

    /// Registers a listener: it gets the current value first, then every
    /// change, until the handle is cancelled or dropped.
    pub fn observe(self: &Arc<Self>, listener: StatusListener) -> StatusHandle {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let cancelled = Arc::new(AtomicBool::new(false));
        let (tx, mut rx) = unbounded_channel::<SyncStatus>();
        {
            let mut inner = self.lock();
            // The current value enters the queue under the same lock as later
            // changes: nothing is missed, nothing comes twice.
            let _ = tx.send(inner.machine.status().clone());
            inner.listeners.insert(id, tx);
        }
        let stop = cancelled.clone();
        self.runtime.spawn(async move {
            while let Some(status) = rx.recv().await {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                listener(&status);
            }
        });
        StatusHandle {
            id,
            hub: Arc::downgrade(self),
            cancelled,
        }
    }

    fn remove(&self, id: u64) {
        self.lock().listeners.remove(&id);
    }

    /// Drops every listener (the app closed): their tasks end.
    pub(crate) fn clear(&self) {
        self.lock().listeners.clear();
    }
}

/// Stops a status listener when cancelled or dropped.
pub struct StatusHandle {
    id: u64,
    hub: Weak<StatusHub>,
    cancelled: Arc<AtomicBool>,
}

impl StatusHandle {
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        if let Some(hub) = self.hub.upgrade() {
            hub.remove(self.id);
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
}

impl Drop for StatusHandle {
    fn drop(&mut self) {
        self.cancel();
    }
}
