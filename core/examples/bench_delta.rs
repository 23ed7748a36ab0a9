//! Delta benchmark: N rows changed on the server (through the Web API, as
//! another client would), then one delta sync into an already synced
//! mirror, timed. Repeats and prints the median. Run by scripts/bench.
//!
//! cargo run --release -p mooring-core --example bench_delta -- URL TOKEN PROFILE.json MIRROR.db [CHANGES] [REPEATS]

use std::sync::Arc;
use std::time::Instant;

use mooring_core::remote::{Remote, RemoteConfig, StaticToken};
use mooring_core::{Profile, Progress, Query, Secret, Store, SyncEngine};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        return Err(
            "usage: bench_delta URL TOKEN PROFILE.json MIRROR.db [CHANGES] [REPEATS]".into(),
        );
    }
    let changes: u32 = args.get(5).map(|s| s.parse()).transpose()?.unwrap_or(100);
    let repeats: usize = args.get(6).map(|s| s.parse()).transpose()?.unwrap_or(5);
    let token = args[2].clone();
    let remote = Remote::new(
        RemoteConfig::new(args[1].clone()),
        Arc::new(StaticToken(Secret::new(token.clone()))),
    )?;
    let base = remote.base_url().to_string();
    let profile = Profile::from_json(&std::fs::read_to_string(&args[3])?)?;
    let store = Store::open(&args[4])?;
    let (engine, _) = SyncEngine::prepare(remote, store.clone(), &profile).await?;
    let table = engine
        .profile()
        .tables
        .first()
        .ok_or("empty profile")?
        .clone();
    let quiet: mooring_core::ProgressFn = Arc::new(|_: &Progress| {});
    engine.sync(quiet.clone()).await?; // start from a current mirror
    let mirror_rows = store.count(&table.name)?;

    let http = reqwest::Client::new();
    let mut times = Vec::new();
    for round in 0..repeats {
        let offset = fastrand::u32(0..(mirror_rows as u32).saturating_sub(changes).max(1));
        let ids = store.query(&Query::table(&table.name).limit(changes).offset(offset))?;
        for (i, row) in ids.iter().enumerate() {
            let id = row[&table.key].as_str().ok_or("key")?;
            let resp = http
                .patch(format!("{base}{}({id})", table.name))
                .bearer_auth(&token)
                .header("OData-Version", "4.0")
                .header("If-Match", "*")
                .json(&serde_json::json!({"name": format!("bench {round} {i}")}))
                .send()
                .await?;
            if !resp.status().is_success() {
                return Err(format!("PATCH failed: {}", resp.status()).into());
            }
        }
        let started = Instant::now();
        let s = engine.delta(quiet.clone()).await?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        if s.downloaded_rows != changes as u64 {
            return Err(
                format!("expected {changes} changed rows, got {}", s.downloaded_rows).into(),
            );
        }
        times.push(ms);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "delta changed_rows={changes} mirror_rows={mirror_rows} median_ms={:.1} min_ms={:.1} max_ms={:.1}",
        times[times.len() / 2],
        times[0],
        times[times.len() - 1]
    );
    Ok(())
}
