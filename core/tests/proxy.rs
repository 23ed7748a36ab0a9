//! The host's proxy (`RemoteConfig::proxy_url`): a sync and the
//! connectivity probe reach a server whose name only the proxy can resolve,
//! every request of theirs passing through it; a loopback server is reached
//! directly even with a proxy set.

use crate::common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use mooring_core::profile::Profile;
use mooring_core::remote::{Remote, RemoteConfig, StaticToken};
use mooring_core::store::Store;
use mooring_core::sync::SyncEngine;
use mooring_core::{Icon, Mooring, MooringConfig, ScheduleConfig, Secret};
use mooring_devserver::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A name that resolves nowhere (`.test` is reserved): only the proxy knows
/// where it is.
const HOST: &str = "org.mooring.test";
const PROFILE: &str = r#"{"tables":[
    {"name":"accounts","columns":["name"],"rows":"all"},
    {"name":"contacts","columns":["lastname"],"rows":"all"}]}"#;

/// A forward proxy for plain-HTTP requests (absolute-form request lines):
/// it records the first request line of each connection and sends the
/// connection on to `upstream`, whatever host the line names.
async fn forward_proxy(upstream: SocketAddr) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut line = Vec::new();
                let mut byte = [0u8; 1];
                while !line.ends_with(b"\r\n") {
                    if client.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    line.push(byte[0]);
                }
                log.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&line).trim_end().to_string());
                let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                if server.write_all(&line).await.is_ok() {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    });
    (url, seen)
}

/// The emulator, naming itself `HOST` in its links, and its real address.
async fn named_emulator() -> (Env, u16, SocketAddr) {
    let env = env_with(Config {
        seed_rows: 120,
        token: TOKEN.into(),
        public_host: Some(HOST.into()),
        ..Config::default()
    })
    .await;
    let root = reqwest::Url::parse(&env.server.root_url()).unwrap();
    let port = root.port().unwrap();
    (env, port, SocketAddr::from(([127, 0, 0, 1], port)))
}

fn named_config(port: u16, proxy: Option<&str>) -> RemoteConfig {
    let mut cfg = RemoteConfig::new(format!("http://{HOST}:{port}"));
    cfg.allow_insecure_http = true; // plain HTTP keeps the proxy a forward proxy
    cfg.page_size = 25; // several pages: the links name HOST too
    cfg.max_retries = 0;
    cfg.connect_timeout = Duration::from_secs(3);
    cfg.proxy_url = proxy.map(Secret::new);
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_through_the_proxy_reaches_a_name_only_the_proxy_resolves() {
    let (env, port, addr) = named_emulator().await;
    let (proxy, seen) = forward_proxy(addr).await;
    let profile = Profile::from_json(PROFILE).unwrap();

    // Without the proxy the name does not resolve: nothing is synced.
    let direct = Remote::new(
        named_config(port, None),
        Arc::new(StaticToken(TOKEN.into())),
    )
    .expect("remote");
    let store = Store::open(env.db()).unwrap();
    assert!(
        SyncEngine::prepare(direct, store.clone(), &profile)
            .await
            .is_err(),
        "{HOST} is unknown to this machine's resolver"
    );

    let remote = Remote::new(
        named_config(port, Some(&proxy)),
        Arc::new(StaticToken(TOKEN.into())),
    )
    .expect("remote");
    let (engine, _) = SyncEngine::prepare(remote, store, &profile)
        .await
        .expect("prepare through the proxy");
    engine.sync(quiet()).await.expect("sync through the proxy");
    assert_mirror(
        engine.store(),
        &env.admin,
        "accounts",
        "accountid",
        &["name"],
        all,
    );
    let lines = seen.lock().unwrap().clone();
    assert!(!lines.is_empty(), "the proxy saw the requests");
    let base = format!("http://{HOST}:{port}/api/data/v9.2/");
    for line in &lines {
        assert!(
            line.contains(&base),
            "every request names the server to the proxy: {line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_and_the_app_go_through_the_proxy_and_loopback_never_does() {
    let (env, port, addr) = named_emulator().await;
    let (proxy, seen) = forward_proxy(addr).await;
    let profile = Profile::from_json(PROFILE).unwrap();
    let mut cfg = MooringConfig::new(
        format!("http://{HOST}:{port}"),
        Arc::new(StaticToken(TOKEN.into())),
        env.db(),
        profile,
    );
    cfg.remote = named_config(port, Some(&proxy));
    cfg.schedule = ScheduleConfig {
        upload_debounce: Duration::from_secs(3600),
        ..ScheduleConfig::default()
    };
    cfg.schedule.probe_timeout = Duration::from_secs(3);
    let app = Mooring::open(cfg).await.expect("open");
    app.sync_now()
        .await
        .expect("probe and sync through the proxy");
    let mut connected = false;
    for _ in 0..300 {
        let s = app.status();
        if s.icon == Icon::Connected && s.initial_sync_complete {
            connected = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(connected, "connected through the proxy: {:?}", app.status());
    assert_eq!(app.store().count("accounts").unwrap(), 120);
    let lines = seen.lock().unwrap().clone();
    assert!(
        lines.iter().any(|l| l.contains("/api/data/v9.2/WhoAmI")),
        "the probe went through the proxy: {lines:?}"
    );
    app.close().await;

    // A loopback server with the proxy set: reached directly.
    let before = seen.lock().unwrap().len();
    let mut local = RemoteConfig::new(env.server.root_url());
    local.proxy_url = Some(Secret::new(proxy.clone()));
    let remote = Remote::new(local, Arc::new(StaticToken(TOKEN.into()))).expect("remote");
    remote.who_am_i().await.expect("loopback answers directly");
    assert_eq!(
        seen.lock().unwrap().len(),
        before,
        "nothing for loopback went through the proxy"
    );
}

#[tokio::test]
async fn a_proxy_that_is_not_a_url_is_a_typed_error() {
    let mut cfg = RemoteConfig::new("https://org.crm.dynamics.com");
    cfg.proxy_url = Some(Secret::new("http://user:hunter2@[not a host"));
    let err = match Remote::new(cfg, Arc::new(StaticToken(TOKEN.into()))) {
        Err(e) => e,
        Ok(_) => panic!("a broken proxy URL must be refused"),
    };
    let text = format!("{err} {err:?}");
    assert!(text.contains("proxy"), "{text}");
    assert!(
        !text.contains("hunter2"),
        "the proxy's password stays out: {text}"
    );
}
