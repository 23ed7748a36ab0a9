//! Watches: the app registers a query (typed, or SQL) and a callback; it
//! gets the current result at once, then the new result whenever a write
//! touching a table it reads changes it. Re-running happens on a background
//! thread so sync writes never wait for the app's callbacks, and at most
//! once per `THROTTLE` (a burst of page commits is one re-run).

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use super::query::{Query, Row, run_query};
use super::sql::SqlRows;
use super::{Inner, Store};
use crate::error::{Error, Result};
use crate::value::Value;

/// The shortest time between two re-runs of the watches.
const THROTTLE: Duration = Duration::from_millis(50);

type RowsCallback = Arc<dyn Fn(&[Row]) + Send + Sync>;
type SqlCallback = Arc<dyn Fn(&SqlRows) + Send + Sync>;

enum Watcher {
    Query {
        query: Query,
        callback: RowsCallback,
        last: Vec<Row>,
    },
    Sql {
        sql: String,
        params: Vec<Value>,
        /// The mirror tables the statement reads (lowercase), as SQLite's
        /// authorizer named them when it was prepared.
        tables: BTreeSet<String>,
        callback: SqlCallback,
        last: SqlRows,
    },
}

impl Watcher {
    fn reads(&self, table: &str) -> bool {
        match self {
            Watcher::Query { query, .. } => query.table.eq_ignore_ascii_case(table),
            Watcher::Sql { tables, .. } => tables.contains(&table.to_ascii_lowercase()),
        }
    }
}

/// What a re-run found, to hand to the callback outside the lock.
enum Fresh {
    Rows(RowsCallback, Vec<Row>),
    Sql(SqlCallback, SqlRows),
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
    let mut last_run: Option<Instant> = None;
    while let Ok(first) = rx.recv() {
        if let Some(wait) = last_run.and_then(|t| THROTTLE.checked_sub(t.elapsed())) {
            std::thread::sleep(wait);
        }
        // Coalesce a burst of page commits into one re-run per watch.
        let mut tables = vec![first];
        while let Ok(t) = rx.try_recv() {
            if !tables.contains(&t) {
                tables.push(t);
            }
        }
        last_run = Some(Instant::now());
        let Some(inner) = inner.upgrade() else { return };
        let store = Store { inner };
        let ids: Vec<u64> = match store.inner.watches.watchers.lock() {
            Ok(map) => map
                .iter()
                .filter(|(_, w)| tables.iter().any(|t| w.reads(t)))
                .map(|(id, _)| *id)
                .collect(),
            Err(_) => return,
        };
        for id in ids {
            if let Some(fresh) = rerun(&store, id) {
                match fresh {
                    Fresh::Rows(cb, rows) => cb(&rows),
                    Fresh::Sql(cb, rows) => cb(&rows),
                }
            }
        }
    }
}

/// Re-runs watch `id`; its callback and result when the result changed.
fn rerun(store: &Store, id: u64) -> Option<Fresh> {
    enum Job {
        Query(Query),
        Sql(String, Vec<Value>),
    }
    let job = match store.inner.watches.watchers.lock().ok()?.get(&id)? {
        Watcher::Query { query, .. } => Job::Query(query.clone()),
        Watcher::Sql { sql, params, .. } => Job::Sql(sql.clone(), params.clone()),
    };
    // A failed re-run (the mirror closed, a profile dropped the table)
    // keeps the last result: the watch has nothing new to say.
    match job {
        Job::Query(query) => {
            let rows = store.query(&query).ok()?;
            match store.inner.watches.watchers.lock().ok()?.get_mut(&id)? {
                Watcher::Query { callback, last, .. } if *last != rows => {
                    *last = rows.clone();
                    Some(Fresh::Rows(callback.clone(), rows))
                }
                _ => None,
            }
        }
        Job::Sql(sql, params) => {
            let (rows, read) = store.sql_with_tables(&sql, &params).ok()?;
            match store.inner.watches.watchers.lock().ok()?.get_mut(&id)? {
                Watcher::Sql {
                    callback,
                    last,
                    tables,
                    ..
                } => {
                    *tables = read;
                    if *last != rows {
                        *last = rows.clone();
                        Some(Fresh::Sql(callback.clone(), rows))
                    } else {
                        None
                    }
                }
                _ => None,
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
        self.register(Watcher::Query {
            query,
            callback: Arc::new(callback),
            last: rows,
        })
    }

    /// Calls `callback` with the SQL read's result now (`sql` as
    /// `Store::sql`: a bad statement fails here), then each time a write to
    /// a table it reads changes the result, until the handle is cancelled or
    /// dropped.
    pub fn watch_sql(
        &self,
        sql: &str,
        params: Vec<Value>,
        callback: impl Fn(&SqlRows) + Send + Sync + 'static,
    ) -> Result<WatchHandle> {
        let (rows, tables) = self.sql_with_tables(sql, &params)?;
        callback(&rows);
        self.register(Watcher::Sql {
            sql: sql.to_string(),
            params,
            tables,
            callback: Arc::new(callback),
            last: rows,
        })
    }

    fn register(&self, watcher: Watcher) -> Result<WatchHandle> {
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
            .insert(id, watcher);
        Ok(WatchHandle {
            id,
            watchers: Arc::downgrade(&reg.watchers),
        })
    }
}
