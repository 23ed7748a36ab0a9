//! Outbox benchmark (not a timed test), against the emulator started
//! in-process on loopback:
//! 1. local write latency (median, p99, max) of creates and updates made
//!    while an initial sync of ROWS rows runs (they share the one writer);
//! 2. time and round trips to upload 1,000 and 10,000 offline changes
//!    (half creates, half updates) with $batch change sets, and 1,000 with
//!    single requests for comparison.
//!
//! cargo run --release -p mooring-core --example bench_outbox -- [ROWS]

use std::sync::Arc;
use std::time::{Duration, Instant};

use mooring_core::remote::{Remote, RemoteConfig, StaticToken};
use mooring_core::{OutboxConfig, Profile, Progress, ProgressFn, Query, Store, SyncEngine};
use serde_json::json;

const TOKEN: &str = "bench-token";
const PROFILE: &str = r#"{"tables":[{"name":"accounts","rows":"all","columns":["name","accountnumber","telephone1","address1_city","revenue","numberofemployees","statecode","createdon","modifiedon","ownerid"]}]}"#;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

async fn engine(root: &str, db: &std::path::Path) -> Res<SyncEngine> {
    let remote = Remote::new(RemoteConfig::new(root), Arc::new(StaticToken(TOKEN.into())))?;
    let store = Store::open(db)?;
    Ok(
        SyncEngine::prepare(remote, store, &Profile::from_json(PROFILE)?)
            .await?
            .0,
    )
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn obj(v: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    v.as_object().cloned().unwrap_or_default()
}

async fn write_latency(rows: usize, dir: &std::path::Path) -> Res<()> {
    let server = mooring_devserver::start(mooring_devserver::Config {
        seed_rows: rows,
        token: TOKEN.into(),
        ..Default::default()
    })
    .await?;
    let e = Arc::new(engine(&server.root_url(), &dir.join("latency.db")).await?);
    let ob = e.outbox(OutboxConfig::default());
    let quiet: ProgressFn = Arc::new(|_: &Progress| {});
    let e2 = e.clone();
    let started = Instant::now();
    let sync = tokio::spawn(async move { e2.sync(quiet).await });
    let mut lat = Vec::new();
    let mut created: Vec<String> = Vec::new();
    let mut i = 0u64;
    while !sync.is_finished() {
        let ob = ob.clone();
        let target = created.last().cloned();
        let (d, id) = tokio::task::spawn_blocking(
            move || -> mooring_core::Result<(Duration, Option<String>)> {
                let t = Instant::now();
                let id = match (i % 2, target) {
                    (1, Some(id)) => {
                        ob.update(
                            "accounts",
                            &id,
                            &obj(json!({"telephone1": format!("t{i}")})),
                        )?;
                        None
                    }
                    _ => Some(ob.create(
                        "accounts",
                        &obj(json!({"name": format!("bench {i}"), "numberofemployees": i})),
                    )?),
                };
                Ok((t.elapsed(), id))
            },
        )
        .await?
        .map_err(|e| e.to_string())?;
        lat.push(d);
        created.extend(id);
        i += 1;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let summary = sync.await??;
    let sync_secs = started.elapsed().as_secs_f64();
    lat.sort();
    println!(
        "local writes during a {rows}-row initial sync ({:.1} s, {} rows): n={} median_ms={:.3} p99_ms={:.3} max_ms={:.3}",
        sync_secs,
        summary.rows,
        lat.len(),
        pct(&lat, 0.5).as_secs_f64() * 1e3,
        pct(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
    // Idle, for comparison.
    let mut idle = Vec::new();
    for j in 0..2000u64 {
        let t = Instant::now();
        ob.create("accounts", &obj(json!({"name": format!("idle {j}")})))?;
        idle.push(t.elapsed());
    }
    idle.sort();
    println!(
        "local writes, no sync running: n={} median_ms={:.3} p99_ms={:.3}",
        idle.len(),
        pct(&idle, 0.5).as_secs_f64() * 1e3,
        pct(&idle, 0.99).as_secs_f64() * 1e3
    );
    server.shutdown().await;
    Ok(())
}

/// `transaction`: the changes are written in local transactions of that
/// many (each then uploads as its own change set).
async fn upload(
    changes: usize,
    batch_size: usize,
    transaction: Option<usize>,
    dir: &std::path::Path,
) -> Res<()> {
    let server = mooring_devserver::start(mooring_devserver::Config {
        seed_rows: changes / 2,
        token: TOKEN.into(),
        ..Default::default()
    })
    .await?;
    let admin = server.admin();
    let db = dir.join(format!("upload-{changes}-{batch_size}-{transaction:?}.db"));
    let e = engine(&server.root_url(), &db).await?;
    e.sync(Arc::new(|_: &Progress| {})).await?;
    let ob = e.outbox(OutboxConfig {
        batch_size,
        ..OutboxConfig::default()
    });
    let ids: Vec<String> = e
        .store()
        .query(&Query::table("accounts"))?
        .iter()
        .filter_map(|r| {
            r.get("accountid")
                .and_then(|v| v.as_str())
                .map(String::from)
        })
        .collect();
    let write = |tx: &mut mooring_core::WriteTransaction<'_>, i: usize| {
        if i % 2 == 0 || ids.is_empty() {
            tx.create(
                "accounts",
                &obj(json!({"name": format!("up {i}"), "revenue": i as f64})),
            )
            .map(|_| ())
        } else {
            tx.update(
                "accounts",
                &ids[(i / 2) % ids.len()],
                &obj(json!({"telephone1": format!("u{i}")})),
            )
        }
    };
    let t = Instant::now();
    let mut transactions = 0;
    match transaction {
        None => {
            for i in 0..changes {
                if i % 2 == 0 || ids.is_empty() {
                    ob.create(
                        "accounts",
                        &obj(json!({"name": format!("up {i}"), "revenue": i as f64})),
                    )?;
                } else {
                    ob.update(
                        "accounts",
                        &ids[(i / 2) % ids.len()],
                        &obj(json!({"telephone1": format!("u{i}")})),
                    )?;
                }
            }
        }
        Some(size) => {
            for start in (0..changes).step_by(size) {
                ob.write_transaction(|tx| {
                    (start..(start + size).min(changes)).try_for_each(|i| write(tx, i))
                })?;
                transactions += 1;
            }
            println!(
                "write_transaction of {size} changes x {transactions}: ms_per_transaction={:.1}",
                t.elapsed().as_secs_f64() * 1000.0 / transactions as f64
            );
        }
    }
    let pending = ob.pending_count()?;
    admin.reset_stats();
    let t = Instant::now();
    let s = ob.upload().await?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "upload changes={pending} batch_size={batch_size} transactions={transactions}: secs={secs:.2} changes_per_sec={:.0} round_trips={} uploaded={} rejected={}",
        pending as f64 / secs,
        admin.stats().requests,
        s.uploaded,
        s.rejected
    );
    server.shutdown().await;
    Ok(())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Res<()> {
    let rows: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(100_000);
    let dir = std::env::temp_dir().join(format!("mooring-bench-outbox-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    println!(
        "machine: {} cores",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    write_latency(rows, &dir).await?;
    upload(1_000, 100, None, &dir).await?;
    upload(10_000, 100, None, &dir).await?;
    upload(10_000, 1000, None, &dir).await?;
    upload(1_000, 1, None, &dir).await?;
    upload(1_000, 100, Some(100), &dir).await?;
    upload(10_000, 100, Some(1000), &dir).await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
