//! The floor for the initial-sync benchmark: the same JSON pages the sync
//! downloads, parsed and written to a fresh mirror in-process with no HTTP,
//! one page after another. Run by scripts/bench; prints one result line.
//!
//! cargo run --release -p mooring-core --example bench_floor -- URL TOKEN PROFILE.json WORKDIR [PAGE_SIZE]

use std::sync::Arc;
use std::time::Instant;

use mooring_core::remote::{PageShape, Remote, RemoteConfig, StaticToken, parse_page};
use mooring_core::{Profile, Secret, Store};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        return Err("usage: bench_floor URL TOKEN PROFILE.json WORKDIR [PAGE_SIZE]".into());
    }
    let page_size: u32 = args.get(5).map(|s| s.parse()).transpose()?.unwrap_or(5000);
    let mut cfg = RemoteConfig::new(args[1].clone());
    cfg.page_size = page_size;
    let remote = Remote::new(cfg, Arc::new(StaticToken(Secret::new(args[2].clone()))))?;
    let profile = Profile::from_json(&std::fs::read_to_string(&args[3])?)?;
    let dir = std::path::PathBuf::from(&args[4]);
    std::fs::create_dir_all(&dir)?;
    let names: Vec<String> = profile.tables.iter().map(|t| t.name.clone()).collect();
    let resolved = profile.resolve(&remote.schema_for(&names).await?)?;
    let table = resolved.tables.first().ok_or("empty profile")?.clone();

    // Download the pages once (not timed), exactly as the sync asks for them.
    let prefer = format!("odata.track-changes,odata.maxpagesize={page_size}");
    let mut select = vec![table.key.clone()];
    select.extend(table.columns.iter().map(|c| c.wire.clone()));
    let mut url = remote.url(&format!("{}?$select={}", table.name, select.join(",")));
    let mut files = Vec::new();
    let download_started = Instant::now();
    loop {
        let resp = remote.get(&url, Some(&prefer), "GET page").await?;
        let shape = PageShape::new(&table.key, &[]);
        let next = parse_page(&resp.body, &shape)?.next_link;
        let path = dir.join(format!("page-{:05}.json", files.len()));
        std::fs::write(&path, &resp.body)?;
        files.push(path);
        match next {
            Some(n) => url = n,
            None => break,
        }
    }

    let download_secs = download_started.elapsed().as_secs_f64();

    // Timed: parse + write each page with its checkpoint, as the engine does.
    let db = dir.join("floor.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let store = Store::open(&db)?;
    store.apply_profile(&resolved)?;
    let mut state = store.table_state(&table.name)?.ok_or("no state")?;
    let shape = PageShape::new(&table.key, &table.shape().wire_columns());
    let started = Instant::now();
    let mut rows = 0u64;
    let mut bytes = 0u64;
    let (mut parse_secs, mut write_secs) = (0.0, 0.0);
    for f in &files {
        let body = std::fs::read(f)?;
        bytes += body.len() as u64;
        let t = Instant::now();
        let page = parse_page(&body, &shape)?;
        parse_secs += t.elapsed().as_secs_f64();
        rows += page.rows.len() as u64;
        state.next_link = page.next_link.clone();
        let t = Instant::now();
        store.write_page(&table, &page.rows, &page.deleted, &state, false)?;
        write_secs += t.elapsed().as_secs_f64();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "floor rows={rows} pages={} bytes={bytes} secs={secs:.2} rows_per_sec={:.0} parse_secs={parse_secs:.2} write_secs={write_secs:.2} download_only_secs={download_secs:.2}",
        files.len(),
        rows as f64 / secs
    );
    for f in &files {
        let _ = std::fs::remove_file(f);
    }
    Ok(())
}
