//! `mooring`: the terminal front end. `sync`: initial sync (or its
//! resumption) then one delta sync, with progress bars on a terminal and
//! plain lines otherwise, ending with one summary line. `upload`: sends the
//! outbox's local changes (the kill test drives it).

mod progress;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use mooring_core::remote::{Remote, RemoteConfig, StaticToken};
use mooring_core::{AppManifest, Profile, Secret, Store, Summary, SyncEngine};

#[derive(Parser)]
#[command(
    name = "mooring",
    version,
    about = "Offline-first mirror of a Dataverse environment"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Initial sync (or resume it), then one delta sync.
    Sync(SyncArgs),
    /// Upload the local changes waiting in the database's outbox.
    Upload(UploadArgs),
}

#[derive(clap::Args)]
struct SyncArgs {
    /// Environment URL (https://org.crm.dynamics.com, or http://127.0.0.1:PORT).
    #[arg(long)]
    server: String,
    /// Bearer token (prefer the MOORING_TOKEN environment variable: the
    /// command line is visible to other users of the machine).
    #[arg(long, env = "MOORING_TOKEN", hide_env_values = true)]
    token: String,
    /// Offline profile JSON, or an app manifest JSON (with "screens").
    #[arg(long)]
    profile: PathBuf,
    /// The local SQLite mirror (created if missing).
    #[arg(long)]
    db: PathBuf,
    /// Rows per page (Prefer: odata.maxpagesize), 1 to 5000.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u32).range(1..=5000))]
    page_size: u32,
    /// Retries after 5xx, timeouts and dropped connections (backoff doubles
    /// from 250 ms up to 20 s).
    #[arg(long, default_value_t = 6)]
    retries: u32,
    /// Plain progress lines even on a terminal.
    #[arg(long)]
    plain: bool,
}

#[derive(clap::Args)]
struct UploadArgs {
    /// Environment URL (https://org.crm.dynamics.com, or http://127.0.0.1:PORT).
    #[arg(long)]
    server: String,
    /// Bearer token (prefer the MOORING_TOKEN environment variable).
    #[arg(long, env = "MOORING_TOKEN", hide_env_values = true)]
    token: String,
    /// The offline profile JSON the database was synced with.
    #[arg(long)]
    profile: PathBuf,
    /// The local SQLite mirror holding the outbox.
    #[arg(long)]
    db: PathBuf,
    /// Changes per $batch change set, 1 to 1000 (1: single requests).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
    batch_size: u32,
    /// Retries after 5xx, timeouts and dropped connections.
    #[arg(long, default_value_t = 6)]
    retries: u32,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MOORING_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Sync(args) => runtime.block_on(sync(args)).map(|s| {
            format!(
                "synced tables={} rows={} downloaded_rows={} deleted_rows={} secs={:.1}",
                s.tables, s.rows, s.downloaded_rows, s.deleted_rows, s.secs
            )
        }),
        Command::Upload(args) => runtime.block_on(upload(args)),
    };
    if std::env::var_os("MOORING_REPORT_RSS").is_some() {
        if let Some(kb) = peak_rss_kb() {
            eprintln!("peak_rss_kb={kb}");
        }
    }
    match result {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn sync(args: SyncArgs) -> mooring_core::Result<Summary> {
    let started = std::time::Instant::now();
    let text = std::fs::read_to_string(&args.profile).map_err(|e| {
        mooring_core::Error::Profile(format!("cannot read {}: {e}", args.profile.display()))
    })?;
    let mut cfg = RemoteConfig::new(args.server.clone());
    cfg.page_size = args.page_size;
    cfg.max_retries = args.retries;
    let remote = Remote::new(cfg, Arc::new(StaticToken(Secret::new(args.token))))?;
    let is_manifest =
        serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|v| v.get("screens").is_some());
    let profile = if is_manifest {
        let manifest = AppManifest::from_json(&text)?;
        mooring_core::profile_from_manifest(&remote, &manifest).await?
    } else {
        Profile::from_json(&text)?
    };
    let store = Store::open(&args.db)?;
    let (engine, _migration) = SyncEngine::prepare(remote, store, &profile).await?;
    let view = progress::View::new(args.plain);
    let mut summary = engine.sync(view.callback()).await?;
    view.finish();
    summary.secs = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Uploads the outbox; one summary line:
/// `uploaded changes=N rejected=N requests=N pending=N errors=N secs=S`.
async fn upload(args: UploadArgs) -> mooring_core::Result<String> {
    let text = std::fs::read_to_string(&args.profile).map_err(|e| {
        mooring_core::Error::Profile(format!("cannot read {}: {e}", args.profile.display()))
    })?;
    let profile = Profile::from_json(&text)?;
    let mut cfg = RemoteConfig::new(args.server.clone());
    cfg.max_retries = args.retries;
    let remote = Remote::new(cfg, Arc::new(StaticToken(Secret::new(args.token))))?;
    let store = Store::open(&args.db)?;
    let (engine, _migration) = SyncEngine::prepare(remote, store, &profile).await?;
    let outbox = engine.outbox(mooring_core::OutboxConfig {
        batch_size: args.batch_size as usize,
        ..Default::default()
    });
    let s = outbox.upload(engine.remote()).await?;
    Ok(format!(
        "uploaded changes={} rejected={} requests={} pending={} errors={} secs={:.1}",
        s.uploaded,
        s.rejected,
        s.requests,
        outbox.pending_count()?,
        outbox.sync_error_count()?,
        s.secs
    ))
}

/// VmHWM: the process's peak resident memory (Linux).
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
