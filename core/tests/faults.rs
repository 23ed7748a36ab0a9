//! Faults mid-sync: 500s, 429 with Retry-After, pages cut short, dropped
//! connections, refused tokens. The sync must retry what is transient, end
//! with a mirror equal to the server, and type what is not.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use common::*;
use mooring_core::remote::{TokenFuture, TokenProvider};
use mooring_core::{Error, Progress, ProgressFn, Secret};

const PROFILE: &str = r#"{"tables":[{"name":"accounts","columns":["name","telephone1","revenue"],"rows":"all"},
  {"name":"contacts","columns":["lastname","parentcustomerid"],"rows":"all"}]}"#;

/// Runs `fault` once, when the first page has committed.
fn after_first_page(fault: impl Fn() + Send + Sync + 'static) -> ProgressFn {
    let done = AtomicBool::new(false);
    Arc::new(move |p: &Progress| {
        if p.rows_done > 0 && !done.swap(true, Ordering::SeqCst) {
            fault();
        }
    })
}

async fn check(env: &Env, engine: &mooring_core::SyncEngine) {
    assert_mirror(
        engine.store(),
        &env.admin,
        "accounts",
        "accountid",
        &["name", "telephone1", "revenue"],
        all,
    );
    assert_mirror(
        engine.store(),
        &env.admin,
        "contacts",
        "contactid",
        &["lastname", "parentcustomerid"],
        all,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_mid_sync_are_retried() {
    let env = env(200).await;
    let engine = env.engine(PROFILE, 30).await;
    let admin = env.admin.clone();
    let s = engine
        .sync(after_first_page(move || admin.fail_next(3, 500)))
        .await
        .expect("sync despite 500s");
    check(&env, &engine).await;
    assert_eq!(s.downloaded_rows, 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_mid_sync_waits_and_continues() {
    let env = env(150).await;
    let engine = env.engine(PROFILE, 30).await;
    let admin = env.admin.clone();
    let started = std::time::Instant::now();
    engine
        .sync(after_first_page(move || admin.fail_next(2, 429)))
        .await
        .expect("sync despite 429s");
    check(&env, &engine).await;
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(900),
        "Retry-After was honoured"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_pages_are_fetched_again() {
    let env = env(150).await;
    let engine = env.engine(PROFILE, 40).await;
    let admin = env.admin.clone();
    let s = engine
        .sync(after_first_page(move || admin.truncate_next_page_after(7)))
        .await
        .expect("sync despite a cut page");
    check(&env, &engine).await;
    assert_eq!(s.downloaded_rows, 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_failures_become_typed_errors() {
    let env = env(40).await;
    let engine = env.engine(PROFILE, 30).await;
    env.admin.fail_next(1000, 503);
    let e = engine.sync(quiet()).await.expect_err("503 forever");
    assert!(matches!(e, Error::Http { status: 503, .. }), "{e:?}");
    env.admin.fail_next(0, 503);
    env.admin.set_refusing_connections(true);
    let e = engine.sync(quiet()).await.expect_err("no server");
    assert!(e.is_network(), "{e:?}");
    env.admin.set_refusing_connections(false);
    engine.sync(quiet()).await.expect("recovers");
    check(&env, &engine).await;
}

struct Rotating {
    calls: AtomicU32,
    refreshes: AtomicU32,
    good_after_refresh: bool,
}

impl TokenProvider for Rotating {
    fn token(&self, force_refresh: bool) -> TokenFuture<'_> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if force_refresh {
                self.refreshes.fetch_add(1, Ordering::SeqCst);
            }
            let good = force_refresh && self.good_after_refresh;
            Ok(Secret::new(if good { TOKEN } else { "stale-token" }))
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_token_is_refreshed_once_then_reported() {
    let env = env(30).await;
    let profile = mooring_core::Profile::from_json(PROFILE).unwrap();
    let store = mooring_core::Store::open(env.db()).unwrap();
    let good = Arc::new(Rotating {
        calls: 0.into(),
        refreshes: 0.into(),
        good_after_refresh: true,
    });
    let (engine, _) = mooring_core::SyncEngine::prepare(
        env.remote_with(50, good.clone()),
        store.clone(),
        &profile,
    )
    .await
    .expect("a fresh token works");
    engine.sync(quiet()).await.expect("sync with refreshes");
    assert!(good.refreshes.load(Ordering::SeqCst) >= 1);

    let bad = Arc::new(Rotating {
        calls: 0.into(),
        refreshes: 0.into(),
        good_after_refresh: false,
    });
    let e =
        match mooring_core::SyncEngine::prepare(env.remote_with(50, bad.clone()), store, &profile)
            .await
        {
            Err(e) => e,
            Ok(_) => panic!("a bad token must fail"),
        };
    assert!(matches!(e, Error::Auth(_)), "{e:?}");
    assert_eq!(
        bad.refreshes.load(Ordering::SeqCst),
        1,
        "exactly one refresh"
    );
    assert!(
        !format!("{e} {e:?}").contains("stale-token"),
        "no token in errors"
    );
}

/// A host whose cached token has expired: it hands out the stale one until
/// asked to refresh, and a refresh takes a while (MSAL over the network).
struct Expired {
    fresh: AtomicBool,
    refreshes: AtomicU32,
}

impl TokenProvider for Expired {
    fn token(&self, force_refresh: bool) -> TokenFuture<'_> {
        Box::pin(async move {
            if force_refresh {
                self.refreshes.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                self.fresh.store(true, Ordering::SeqCst);
            }
            Ok(Secret::new(if self.fresh.load(Ordering::SeqCst) {
                TOKEN
            } else {
                "expired-token"
            }))
        })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_requests_meeting_an_expired_token_ask_for_one_refresh() {
    let env = env(5).await;
    let host = Arc::new(Expired {
        fresh: false.into(),
        refreshes: 0.into(),
    });
    let remote = env.remote_with(50, host.clone());
    let answers = futures_util::future::join_all((0..8).map(|_| remote.who_am_i())).await;
    for a in answers {
        a.expect("every request goes through with the refreshed token");
    }
    assert_eq!(
        host.refreshes.load(Ordering::SeqCst),
        1,
        "eight requests refused together, one refresh"
    );
}
