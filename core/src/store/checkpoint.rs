//! WAL checkpoints on a background thread with its own connection. A
//! PASSIVE checkpoint never blocks the writer or readers, so a bulk
//! download keeps appending pages while their earlier frames are copied
//! into the database file on the other core.

use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing::debug;

use crate::secret::Secret;

/// Least time between two checkpoints while commits keep coming.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

pub(super) struct Checkpointer {
    tx: Mutex<Option<Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    pub(super) fn start(path: &Path, key: Option<Secret>) -> Checkpointer {
        let (tx, rx) = channel::<()>();
        let path = path.to_path_buf();
        let spawned = std::thread::Builder::new()
            .name("mooring-checkpoint".into())
            .spawn(move || {
                let conn = match super::connect(&path, None, key.as_ref()) {
                    Ok(c) => c,
                    Err(e) => {
                        debug!("no background checkpointer: {e}");
                        return;
                    }
                };
                let _ = conn.busy_timeout(Duration::from_secs(1));
                let mut dirty = false;
                let mut last = Instant::now();
                loop {
                    match rx.recv_timeout(MIN_INTERVAL) {
                        Ok(()) => dirty = true,
                        Err(RecvTimeoutError::Timeout) => {}
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                    if dirty && last.elapsed() >= MIN_INTERVAL {
                        while rx.try_recv().is_ok() {}
                        if let Err(e) =
                            conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                        {
                            debug!("background checkpoint: {e}");
                        }
                        dirty = false;
                        last = Instant::now();
                    }
                }
                // The store closed: leave the database file complete.
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            });
        let (tx, thread) = match spawned {
            Ok(handle) => (Some(tx), Some(handle)),
            Err(_) => (None, None),
        };
        Checkpointer {
            tx: Mutex::new(tx),
            thread: Mutex::new(thread),
        }
    }

    /// Ends the thread (after its last checkpoint) and waits for it, so its
    /// connection is closed when this returns.
    pub(super) fn stop(&self) {
        if let Ok(mut tx) = self.tx.lock() {
            tx.take();
        }
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            let _ = thread.join();
        }
    }

    pub(super) fn poke(&self) {
        if let Ok(guard) = self.tx.lock() {
            if let Some(tx) = guard.as_ref() {
                let _ = tx.send(());
            }
        }
    }
}
