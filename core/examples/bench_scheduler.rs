//! Scheduler latencies through the `Mooring` facade against the emulator on
//! loopback (in-process): how long a local write waits before it is on the
//! server while online (debounce + upload), and how long after a reconnect
//! the first sync completes (OS back online: probe + delta; server back
//! after being unreachable: the probe's backoff + delta). Figures go to
//! docs/benchmarks.md, section Scheduler.
//!
//! Usage: bench_scheduler [TRIALS] [ROWS_PER_TABLE]   (default 20 2000)

use std::sync::Arc;
use std::time::{Duration, Instant};

use mooring_core::{Icon, Mooring, MooringConfig, Profile, ScheduleConfig, Secret, StaticToken};

const TOKEN: &str = "bench-token";
const PROFILE: &str = r#"{"tables":[
  {"name":"accounts","columns":["name","telephone1"],"rows":"all"},
  {"name":"contacts","columns":["lastname","parentcustomerid"],"rows":"all"}]}"#;

fn stats(name: &str, mut ms: Vec<f64>) {
    ms.sort_by(|a, b| a.total_cmp(b));
    let pick = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    println!(
        "{name}: n={} median={:.0} ms p90={:.0} ms min={:.0} ms max={:.0} ms",
        ms.len(),
        pick(0.5),
        pick(0.9),
        ms[0],
        ms[ms.len() - 1]
    );
}

async fn wait(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ok() {
        if Instant::now() > deadline {
            eprintln!("timed out: {what}");
            std::process::exit(1);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

async fn open(url: &str, dir: &std::path::Path, schedule: ScheduleConfig) -> Mooring {
    let profile = Profile::from_json(PROFILE).expect("profile");
    let mut c = MooringConfig::new(
        url,
        Arc::new(StaticToken(Secret::new(TOKEN))),
        dir.join("m.db"),
        profile,
    );
    c.schedule = schedule;
    let app = Mooring::open(c).await.expect("open");
    app.sync_now().await.expect("initial sync");
    app
}

fn values(name: String) -> serde_json::Map<String, serde_json::Value> {
    let mut m = serde_json::Map::new();
    m.insert("name".into(), serde_json::Value::String(name));
    m
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let trials: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let rows: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(2000);
    let server = mooring_devserver::start(mooring_devserver::Config {
        seed_rows: rows,
        token: TOKEN.into(),
        ..Default::default()
    })
    .await
    .expect("emulator");
    let admin = server.admin();
    let url = server.root_url();
    println!(
        "emulator on loopback, {rows} rows in each of 2 tables, {trials} trials each; default ScheduleConfig unless said"
    );

    for (label, debounce) in [
        ("default debounce 2 s", Duration::from_secs(2)),
        ("debounce 0", Duration::ZERO),
    ] {
        let dir = std::env::temp_dir().join(format!(
            "mooring-bench-sched-{}-{}",
            std::process::id(),
            debounce.as_millis()
        ));
        std::fs::create_dir_all(&dir).expect("dir");
        let app = open(
            &url,
            &dir,
            ScheduleConfig {
                upload_debounce: debounce,
                ..ScheduleConfig::default()
            },
        )
        .await;
        let mut ms = Vec::new();
        for i in 0..trials {
            let t0 = Instant::now();
            let id = app
                .create("accounts", values(format!("bench {i}")))
                .await
                .expect("create");
            let uuid = id.parse().expect("guid");
            wait("upload", Duration::from_secs(30), || {
                admin.row("accounts", uuid).ok().flatten().is_some()
            })
            .await;
            ms.push(t0.elapsed().as_secs_f64() * 1000.0);
            wait("idle", Duration::from_secs(30), || {
                app.status().icon == Icon::Connected
            })
            .await;
        }
        stats(&format!("write -> on the server ({label})"), ms);

        // The OS says offline, then online again: probe + delta of every table.
        let mut ms = Vec::new();
        for _ in 0..trials {
            app.set_host_network(false, false);
            tokio::time::sleep(Duration::from_millis(50)).await;
            let before = app.status().last_synced_at_ms;
            let t0 = Instant::now();
            app.set_host_network(true, false);
            wait(
                "first sync after reconnect",
                Duration::from_secs(30),
                || {
                    let s = app.status();
                    s.icon == Icon::Connected && s.last_synced_at_ms != before
                },
            )
            .await;
            ms.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
        stats(&format!("OS back online -> first sync done ({label})"), ms);
        app.close().await;
    }

    // The server unreachable while the OS says online, then back: the wait
    // is the probe's backoff (retry_base 5 s doubling) plus the sync.
    let dir = std::env::temp_dir().join(format!(
        "mooring-bench-sched-{}-unreach",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("dir");
    let app = open(&url, &dir, ScheduleConfig::default()).await;
    let mut ms = Vec::new();
    for _ in 0..trials.min(5) {
        admin.set_refusing_connections(true);
        app.request_sync();
        wait("unreachable", Duration::from_secs(60), || {
            app.status().icon == Icon::Warning
        })
        .await;
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let before = app.status().last_synced_at_ms;
        let t0 = Instant::now();
        admin.set_refusing_connections(false);
        wait(
            "first sync after the server is back",
            Duration::from_secs(60),
            || {
                let s = app.status();
                s.icon == Icon::Connected && s.last_synced_at_ms != before
            },
        )
        .await;
        ms.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    stats(
        "server back (1 s after it went away) -> first sync done (default backoff)",
        ms,
    );
    app.close().await;
    server.shutdown().await;
}
