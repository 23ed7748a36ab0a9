//! HTTPS against the emulator's test certificate (`devserver/tls/`): the
//! client negotiates HTTP/2 by ALPN, as it would with Dataverse, and the
//! parallel downloads share one connection; a certificate from a root the
//! client was not given is refused before any request (and its token)
//! leaves the device.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use mooring_core::profile::Profile;
use mooring_core::remote::{Remote, RemoteConfig, StaticToken};
use mooring_core::status::{Connectivity, UnreachableReason};
use mooring_core::store::Store;
use mooring_core::sync::SyncEngine;
use mooring_core::{Error, Icon, Mooring, MooringConfig, ScheduleConfig, SyncStatus};
use mooring_devserver::{Config, TEST_CA_PEM};

const PROFILE: &str = r#"{"tables":[
    {"name":"accounts","columns":["name","telephone1"],"rows":"all"},
    {"name":"contacts","columns":["firstname","lastname","parentcustomerid"],"rows":"all"},
    {"name":"opportunities","columns":["name","estimatedvalue"],"rows":"all"},
    {"name":"tasks","columns":["subject","scheduledend"],"rows":"all"}]}"#;

async fn https_env() -> Env {
    env_with(Config {
        seed_rows: 1200,
        token: TOKEN.into(),
        tls: true,
        ..Config::default()
    })
    .await
}

fn remote(env: &Env, roots: &[u8]) -> Remote {
    let mut cfg = RemoteConfig::new(env.server.root_url());
    cfg.page_size = 250;
    cfg.max_retries = 1;
    cfg.extra_roots_pem = roots.to_vec();
    Remote::new(cfg, Arc::new(StaticToken(TOKEN.into()))).expect("remote")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_syncs_four_tables_over_one_http2_connection() {
    let env = https_env().await;
    assert!(env.server.root_url().starts_with("https://"));
    let store = Store::open(env.db()).unwrap();
    let profile = Profile::from_json(PROFILE).unwrap();
    let (engine, _) = SyncEngine::prepare(remote(&env, TEST_CA_PEM), store, &profile)
        .await
        .expect("prepare over https");
    engine.sync(quiet()).await.expect("sync over https");
    for (table, key, cols) in [
        ("accounts", "accountid", &["name", "telephone1"][..]),
        ("contacts", "contactid", &["firstname", "lastname"][..]),
        (
            "opportunities",
            "opportunityid",
            &["name", "estimatedvalue"][..],
        ),
        ("tasks", "activityid", &["subject", "scheduledend"][..]),
    ] {
        assert_mirror(engine.store(), &env.admin, table, key, cols, all);
    }
    let stats = env.admin.stats();
    // 4 tables x 1200 rows in pages of 250: 20 pages, 4 tables at once.
    assert!(stats.requests >= 20, "{stats:?}");
    assert_eq!(
        stats.http2_requests, stats.requests,
        "every request over HTTP/2: {stats:?}"
    );
    assert_eq!(
        stats.connections, 1,
        "one connection for everything: {stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_an_unknown_root_is_refused_before_any_request() {
    let env = https_env().await;
    let store = Store::open(env.db()).unwrap();
    let profile = Profile::from_json(PROFILE).unwrap();
    let e = match SyncEngine::prepare(remote(&env, b""), store, &profile).await {
        Err(e) => e,
        Ok(_) => panic!("a server signed by an unknown root was trusted"),
    };
    match &e {
        Error::Tls(m) => assert!(m.contains("certificate"), "{m}"),
        other => panic!("expected a TLS error naming the certificate, got {other:?}"),
    }
    assert!(!e.to_string().contains(TOKEN));
    // The server sees the handshake fail a moment after the client does.
    for _ in 0..100 {
        if env.admin.stats().tls_handshake_failures > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stats = env.admin.stats();
    assert_eq!(stats.requests, 0, "no request reached the server");
    // Retries are for networks that drop; the same certificate fails the
    // same way, so one handshake, not one per retry.
    assert_eq!(
        stats.tls_handshake_failures, 1,
        "one handshake, never retried: {stats:?}"
    );
}

fn app_config(env: &Env, roots: &[u8]) -> MooringConfig {
    let profile = Profile::from_json(PROFILE).unwrap();
    let tokens = Arc::new(StaticToken(TOKEN.into()));
    let mut c = MooringConfig::new(env.server.root_url(), tokens, env.db(), profile);
    c.remote.page_size = 500;
    c.remote.max_retries = 6;
    c.remote.extra_roots_pem = roots.to_vec();
    c.schedule = ScheduleConfig {
        probe_timeout: Duration::from_secs(2),
        probe_interval: Duration::from_secs(30),
        upload_debounce: Duration::from_millis(100),
        retry_base: Duration::from_millis(200),
        retry_cap: Duration::from_secs(1),
        delta_interval: None,
    };
    c
}

async fn wait_until(app: &Mooring, what: &str, ok: impl Fn(&SyncStatus) -> bool) -> SyncStatus {
    for _ in 0..300 {
        let s = app.status();
        if ok(&s) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what}: not in 6 s; status {:?}", app.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_trusts_a_company_root_for_its_probe_and_its_sync() {
    let env = https_env().await;
    let app = Mooring::open(app_config(&env, TEST_CA_PEM)).await.unwrap();
    app.sync_now().await.expect("probe and sync over https");
    let s = wait_until(&app, "connected", |s| {
        s.icon == Icon::Connected && s.initial_sync_complete
    })
    .await;
    assert_eq!(s.connectivity, Connectivity::Reachable);
    assert_eq!(app.store().count("accounts").unwrap(), 1200);
    app.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_server_is_a_typed_tls_error_and_the_status_says_why() {
    let env = https_env().await;
    let app = Mooring::open(app_config(&env, b"")).await.unwrap();
    match app.sync_now().await {
        Err(Error::Tls(m)) => assert!(!m.contains(TOKEN), "{m}"),
        other => panic!("expected a TLS error, got {other:?}"),
    }
    let s = wait_until(&app, "untrusted", |s| {
        s.connectivity == Connectivity::Unreachable(UnreachableReason::Untrusted)
    })
    .await;
    assert_ne!(s.icon, Icon::Connected);
    assert!(
        s.message
            .description
            .contains("does not trust the server's certificate"),
        "{}",
        s.message.description
    );
    assert_eq!(env.admin.stats().requests, 0, "nothing reached the server");
    // Local writes still work and wait for a trusted connection.
    assert_eq!(app.pending_count().await.unwrap(), 0);
    app.close().await;
}

#[test]
fn extra_roots_that_are_not_pem_are_a_typed_error() {
    let mut cfg = RemoteConfig::new("https://org.crm.dynamics.com");
    cfg.extra_roots_pem = b"not a certificate".to_vec();
    match Remote::new(cfg, Arc::new(StaticToken(TOKEN.into()))) {
        Err(Error::Profile(m)) => assert!(m.contains("root certificates"), "{m}"),
        Err(e) => panic!("expected a profile error, got {e:?}"),
        Ok(_) => panic!("garbage accepted as roots"),
    }
}
