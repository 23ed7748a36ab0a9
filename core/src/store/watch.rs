//! Watches: the app registers a query and a callback; it gets the current
//! rows at once, then the new rows whenever a write touching that table
//! changes the result. Re-running happens on a background thread so sync
//! writes never wait for the app's callbacks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, Weak};

use super::query::{Query, Row, run_query};
use super::{Inner, Store};
use crate::error::{Error, Result};

pub type WatchCallback = Box<dyn Fn(&[Row]) + Send + Sync>;

struct Watcher {
    query: Query,
    callback: Arc<WatchCallback>,
    last: Vec<Row>,
}

#[derive(Default)]
pub(crate) struct Registry {
    next_id: AtomicU64,
    watchers: Arc<Mutex<HashMap<u64, Watcher>>>,
    /// Table names whose rows changed; the thread is started on first watch.
    sender: Mutex<Option<Sender<String>>>,
}

/// Stops the watch when cancelled or dropped.
pub struct WatchHandle {
    id: u64,
    watchers: Weak<Mutex<HashMap<u64, Watcher>>>,
}

impl WatchHandle {
    pub fn cancel(&self) {
        if let Some(w) = self.watchers.upgrade() {
            if let Ok(mut map) = w.lock() {
                map.remove(&self.id);
            }
        }
    }
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        self.cancel();
    }
}

impl Registry {
    pub(crate) fn notify(&self, _store: &Store, table: &str) {
        let has_watchers = self.watchers.lock().map(|m| !m.is_empty()).unwrap_or(false);
        if !has_watchers {
            return;
        }
        if let Ok(guard) = self.sender.lock() {
            if let Some(tx) = guard.as_ref() {
                let _ = tx.send(table.to_string());
            }
        }
    }
}

fn run_thread(inner: Weak<Inner>, rx: Receiver<String>) {
    while let Ok(first) = rx.recv() {
        // Coalesce a burst of page commits into one re-run per table.
        let mut tables = vec![first];
        while let Ok(t) = rx.try_recv() {
            if !tables.contains(&t) {
                tables.push(t);
            }
        }
        let Some(inner) = inner.upgrade() else { return };
        let store = Store { inner };
        let ids: Vec<(u64, Query)> = match store.inner.watches.watchers.lock() {
            Ok(map) => map
                .iter()
                .filter(|(_, w)| tables.contains(&w.query.table))
                .map(|(id, w)| (*id, w.query.clone()))
                .collect(),
            Err(_) => return,
        };
        for (id, query) in ids {
            let Ok(rows) = store.query(&query) else {
                continue;
            };
            let callback = match store.inner.watches.watchers.lock() {
                Ok(mut map) => match map.get_mut(&id) {
                    Some(w) if w.last != rows => {
                        w.last = rows.clone();
                        Some(w.callback.clone())
                    }
                    _ => None,
                },
                Err(_) => return,
            };
            if let Some(cb) = callback {
                cb(&rows);
            }
        }
    }
}

impl Store {
    /// Calls `callback` with the query's rows now, then each time they
    /// change, until the handle is cancelled or dropped.
    pub fn watch(
        &self,
        query: Query,
        callback: impl Fn(&[Row]) + Send + Sync + 'static,
    ) -> Result<WatchHandle> {
        let cols = self.table_columns(&query.table)?;
        let rows = self.with_reader(|c| run_query(c, &cols, &query))?;
        callback(&rows);
        let reg = &self.inner.watches;
        {
            let mut sender = reg
                .sender
                .lock()
                .map_err(|_| Error::Internal("watch registry poisoned".into()))?;
            if sender.is_none() {
                let (tx, rx) = channel();
                let weak = Arc::downgrade(&self.inner);
                std::thread::Builder::new()
                    .name("mooring-watch".into())
                    .spawn(move || run_thread(weak, rx))
                    .map_err(Error::from)?;
                *sender = Some(tx);
            }
        }
        let id = reg.next_id.fetch_add(1, Ordering::Relaxed);
        reg.watchers
            .lock()
            .map_err(|_| Error::Internal("watch registry poisoned".into()))?
            .insert(
                id,
                Watcher {
                    query,
                    callback: Arc::new(Box::new(callback)),
                    last: rows,
                },
            );
        Ok(WatchHandle {
            id,
            watchers: Arc::downgrade(&reg.watchers),
        })
    }
}
