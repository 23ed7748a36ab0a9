//! Shared by the integration tests: an in-process emulator on a free port,
//! a fresh SQLite file per test, and a row-by-row comparison of the mirror
//! with the server's own rows (read through the emulator's admin API).
#![allow(dead_code)]

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mooring_core::profile::Profile;
use mooring_core::remote::{Remote, RemoteConfig, StaticToken, TokenProvider};
use mooring_core::store::{Query, Store};
use mooring_core::sync::{Progress, ProgressFn, SyncEngine};
use mooring_devserver::{Admin, Config, RunningServer};

pub const TOKEN: &str = "test-token";

pub struct Env {
    pub server: RunningServer,
    pub admin: Admin,
    pub dir: PathBuf,
}

pub async fn env(seed_rows: usize) -> Env {
    env_with(Config {
        seed_rows,
        token: TOKEN.into(),
        ..Config::default()
    })
    .await
}

pub async fn env_with(config: Config) -> Env {
    let server = mooring_devserver::start(config)
        .await
        .expect("emulator starts");
    let admin = server.admin();
    Env {
        server,
        admin,
        dir: temp_dir(),
    }
}

pub fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mooring-core-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

impl Env {
    pub fn db(&self) -> PathBuf {
        self.dir.join("mirror.db")
    }

    pub fn remote(&self, page_size: u32) -> Remote {
        self.remote_with(page_size, Arc::new(StaticToken(TOKEN.into())))
    }

    pub fn remote_with(&self, page_size: u32, tokens: Arc<dyn TokenProvider>) -> Remote {
        let mut cfg = RemoteConfig::new(self.server.root_url());
        cfg.page_size = page_size;
        cfg.backoff_base = Duration::from_millis(5);
        cfg.backoff_cap = Duration::from_millis(50);
        cfg.request_timeout = Duration::from_secs(20);
        Remote::new(cfg, tokens).expect("remote")
    }

    pub async fn engine(&self, profile: &str, page_size: u32) -> SyncEngine {
        let store = Store::open(self.db()).expect("store opens");
        let profile = Profile::from_json(profile).expect("profile parses");
        SyncEngine::prepare(self.remote(page_size), store, &profile)
            .await
            .expect("prepare")
            .0
    }

    pub fn user_id(&self, i: usize) -> String {
        self.admin.users()[i].id.to_string()
    }
}

/// Collects every progress event.
pub fn recorder() -> (ProgressFn, Arc<Mutex<Vec<Progress>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = seen.clone();
    (
        Arc::new(move |p: &Progress| s2.lock().unwrap().push(p.clone())),
        seen,
    )
}

pub fn quiet() -> ProgressFn {
    Arc::new(|_: &Progress| {})
}

/// A value as text, so JSON from the server (bools, 5.0) and from the
/// mirror (integers, reals) compare by meaning.
fn norm(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "null".into(),
        serde_json::Value::Bool(b) => (*b as i64).to_string(),
        serde_json::Value::Number(n) => format!("{}", n.as_f64().unwrap_or(f64::NAN)),
        serde_json::Value::String(s) => s.to_lowercase(),
        other => other.to_string(),
    }
}

/// Server rows of `table` that `keep` accepts, by key, as normalized
/// (column → value) maps of the given columns.
pub fn server_rows(
    admin: &Admin,
    table: &str,
    key: &str,
    columns: &[&str],
    keep: impl Fn(&serde_json::Map<String, serde_json::Value>) -> bool,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for r in admin.rows(table).expect("admin rows") {
        if !keep(&r) {
            continue;
        }
        let id = r
            .get(key)
            .and_then(|v| v.as_str())
            .expect("row key")
            .to_lowercase();
        let mut cols = BTreeMap::new();
        for c in columns {
            let wire = format!("_{c}_value");
            let v = r
                .get(*c)
                .or_else(|| r.get(&wire))
                .cloned()
                .unwrap_or(serde_json::Value::Null);
            cols.insert(c.to_string(), norm(&v));
        }
        out.insert(id, cols);
    }
    out
}

pub fn mirror_rows(
    store: &Store,
    table: &str,
    key: &str,
    columns: &[&str],
) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for r in store.query(&Query::table(table)).expect("mirror query") {
        let id = r
            .get(key)
            .and_then(|v| v.as_str())
            .expect("mirror key")
            .to_string();
        let mut cols = BTreeMap::new();
        for c in columns {
            cols.insert(
                c.to_string(),
                norm(r.get(*c).unwrap_or(&serde_json::Value::Null)),
            );
        }
        out.insert(id, cols);
    }
    out
}

/// Asserts the mirror table holds exactly the server rows `keep` accepts.
pub fn assert_mirror(
    store: &Store,
    admin: &Admin,
    table: &str,
    key: &str,
    columns: &[&str],
    keep: impl Fn(&serde_json::Map<String, serde_json::Value>) -> bool,
) -> usize {
    let want = server_rows(admin, table, key, columns, keep);
    let have = mirror_rows(store, table, key, columns);
    if want != have {
        let wk: HashSet<_> = want.keys().collect();
        let hk: HashSet<_> = have.keys().collect();
        let missing: Vec<_> = wk.difference(&hk).take(5).collect();
        let extra: Vec<_> = hk.difference(&wk).take(5).collect();
        let differing: Vec<_> = want
            .iter()
            .filter(|(k, v)| have.get(*k).is_some_and(|h| h != *v))
            .take(3)
            .collect();
        panic!(
            "{table}: mirror differs from server: {} wanted, {} held; missing {missing:?}; extra {extra:?}; differing {differing:?}",
            want.len(),
            have.len()
        );
    }
    want.len()
}

pub fn owner_is(id: String) -> impl Fn(&serde_json::Map<String, serde_json::Value>) -> bool {
    move |r| {
        r.get("_ownerid_value")
            .and_then(|v| v.as_str())
            .is_some_and(|v| v.eq_ignore_ascii_case(&id))
    }
}

pub fn all(_: &serde_json::Map<String, serde_json::Value>) -> bool {
    true
}
