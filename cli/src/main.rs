//! `mooring`: the terminal front end. `sync`: initial sync (or its
//! resumption) then one delta sync, with progress bars on a terminal and
//! plain lines otherwise, ending with one summary line. `upload`: sends the
//! outbox's local changes (the kill test drives it). `demo`: the emulator,
//! the app facade and an interactive shell (demo.rs). `status`: what a
//! local mirror knows about its sync. `profile from-app`: the offline
//! profile of a canvas app, from its formulas (mooring-canvas). `query`,
//! `create`, `update`, `delete`, `pending`: one-shot commands on a mirror
//! with no network (offline.rs).

mod demo;
mod offline;
mod progress;
mod status_line;

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
    /// The emulator with sample data, a fresh mirror, the loading screen,
    /// the live status and a prompt (or `--script FILE`).
    Demo(demo::DemoArgs),
    /// The demo's prompt and live status against any server: a real
    /// environment (token from MOORING_TOKEN) or an emulator.
    Shell(demo::ShellArgs),
    /// The sync status of a local mirror (no network used).
    Status(StatusArgs),
    /// The diagnostics report of a local mirror, for support: versions,
    /// profile, per-table sync state, outbox, sync error codes, integrity,
    /// recent log records. No token, key or row value (no network used).
    Diagnostics(DiagnosticsArgs),
    /// One read-only SQL statement over a mirror (no network used).
    Query(offline::QueryArgs),
    /// Creates a row in a mirror and queues its upload (no network used).
    Create(offline::CreateArgs),
    /// Changes columns of a row in a mirror and queues the upload.
    Update(offline::UpdateArgs),
    /// Deletes a row from a mirror and queues the upload.
    Delete(offline::DeleteArgs),
    /// Applies a JSON list of writes to a mirror as one transaction, which
    /// uploads as one change set: all or nothing (no network used).
    Apply(offline::ApplyArgs),
    /// The changes waiting for upload in a mirror, and why they wait.
    Pending(offline::PendingArgs),
    /// Offline profiles: generate one from a canvas app's source.
    #[command(subcommand)]
    Profile(ProfileCommand),
}

#[derive(clap::Args)]
struct DiagnosticsArgs {
    /// The local SQLite mirror.
    #[arg(long)]
    db: PathBuf,
    /// Name of an environment variable holding the database's encryption
    /// key (SQLCipher). Without it the database is plain SQLite.
    #[arg(long, value_name = "VAR")]
    key_env: Option<String>,
    /// JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
enum ProfileCommand {
    /// Reads a canvas app (a `pac canvas unpack` folder, a .msapp, a Power
    /// Apps YAML folder) and prints the offline profile its formulas need.
    FromApp(FromAppArgs),
}

#[derive(clap::Args)]
struct FromAppArgs {
    /// The app: its folder or its .msapp file.
    path: PathBuf,
    /// Check the profile against this environment's schema (entity sets,
    /// lookups, every column the formulas name).
    #[arg(long)]
    server: Option<String>,
    /// Bearer token for --server (prefer the MOORING_TOKEN variable).
    #[arg(long, env = "MOORING_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// After the profile, every table, column and row choice with the
    /// formulas that caused it, and every warning.
    #[arg(long)]
    explain: bool,
}

#[derive(clap::Args)]
struct StatusArgs {
    /// The local SQLite mirror.
    #[arg(long)]
    db: PathBuf,
    /// Name of an environment variable holding the database's encryption
    /// key (SQLCipher). Without it the database is plain SQLite.
    #[arg(long, value_name = "VAR")]
    key_env: Option<String>,
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
    #[arg(long, required_unless_present = "app", conflicts_with = "app")]
    profile: Option<PathBuf>,
    /// A canvas app (folder or .msapp): its profile is generated from its
    /// formulas and checked against the server.
    #[arg(long)]
    app: Option<PathBuf>,
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
    /// PEM certificates to trust as roots beside the built-in ones (a
    /// company CA; the emulator's --tls: devserver/tls/test-ca.pem).
    #[arg(long, value_name = "PEM")]
    ca_cert: Option<PathBuf>,
    /// Plain progress lines even on a terminal.
    #[arg(long)]
    plain: bool,
    /// Name of an environment variable holding the database's encryption
    /// key (SQLCipher). Without it the database is plain SQLite.
    #[arg(long, value_name = "VAR")]
    key_env: Option<String>,
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
    /// PEM certificates to trust as roots beside the built-in ones (a
    /// company CA; the emulator's --tls: devserver/tls/test-ca.pem).
    #[arg(long, value_name = "PEM")]
    ca_cert: Option<PathBuf>,
    /// Name of an environment variable holding the database's encryption
    /// key (SQLCipher). Without it the database is plain SQLite.
    #[arg(long, value_name = "VAR")]
    key_env: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo's status line already says what the warnings would (a server
    // that stops answering is part of the show).
    let default_level = if matches!(cli.command, Command::Demo(_) | Command::Shell(_)) {
        "error"
    } else {
        "warn"
    };
    {
        use tracing_subscriber::prelude::*;
        // The stderr lines follow MOORING_LOG; the mirror's own log ring
        // (the diagnostics report) keeps Mooring's INFO records regardless.
        let stderr = tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(
                tracing_subscriber::EnvFilter::try_from_env("MOORING_LOG")
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
            );
        tracing_subscriber::registry()
            .with(stderr)
            .with(mooring_core::diagnostics::log_layer())
            .init();
    }
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
        Command::Sync(args) => runtime.block_on(sync(args)).map(|(s, uploaded)| {
            format!(
                "synced tables={} rows={} downloaded_rows={} deleted_rows={} json_bytes={} wire_bytes={} secs={:.1} uploaded={uploaded}",
                s.tables, s.rows, s.downloaded_rows, s.deleted_rows, s.bytes, s.wire_bytes, s.secs
            )
        }),
        Command::Upload(args) => runtime.block_on(upload(args)),
        Command::Status(args) => status(&args),
        Command::Query(args) => offline::query(&args),
        Command::Create(args) => offline::create(&args),
        Command::Update(args) => offline::update(&args),
        Command::Delete(args) => offline::delete(&args),
        Command::Apply(args) => offline::apply(&args),
        Command::Pending(args) => offline::pending(&args),
        Command::Diagnostics(args) => diagnostics(&args),
        Command::Profile(ProfileCommand::FromApp(args)) => runtime.block_on(from_app(args)),
        Command::Shell(args) => {
            return match runtime.block_on(demo::shell(args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::Demo(args) => {
            return match runtime.block_on(demo::run(args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            };
        }
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

/// The encryption key from the environment variable `--key-env` names.
fn key_from_env(var: Option<&str>) -> mooring_core::Result<Option<Secret>> {
    match var {
        None => Ok(None),
        Some(name) => match std::env::var(name) {
            Ok(v) if !v.is_empty() => Ok(Some(Secret::new(v))),
            _ => Err(mooring_core::Error::Profile(format!(
                "--key-env {name}: that environment variable is not set (or empty)"
            ))),
        },
    }
}

async fn sync(args: SyncArgs) -> mooring_core::Result<(Summary, u64)> {
    let started = std::time::Instant::now();
    let mut cfg = RemoteConfig::new(args.server.clone());
    cfg.page_size = args.page_size;
    cfg.max_retries = args.retries;
    cfg.extra_roots_pem = ca_cert(args.ca_cert.as_deref())?;
    let remote = Remote::new(cfg, Arc::new(StaticToken(Secret::new(args.token))))?;
    let profile = match (&args.profile, &args.app) {
        (_, Some(app)) => {
            mooring_canvas::profile_from_app_checked(&remote, app)
                .await
                .map_err(canvas_error)?
                .profile
        }
        (Some(path), None) => profile_file(&remote, path).await?,
        (None, None) => {
            return Err(mooring_core::Error::Profile(
                "give --profile FILE or --app PATH".into(),
            ));
        }
    };
    let store = Store::open_with_key(&args.db, key_from_env(args.key_env.as_deref())?)?;
    let (engine, _migration) = SyncEngine::prepare(remote, store, &profile).await?;
    // Offline writes (`mooring create` ...) check against this profile.
    engine.remember_profile()?;
    // Local changes go up first, as the app's scheduler does, so the
    // download that follows brings back the server's view of them.
    let outbox = engine.outbox(mooring_core::OutboxConfig::default());
    let uploaded = if outbox.pending_count()? > 0 {
        outbox.upload().await?.uploaded
    } else {
        0
    };
    let view = progress::View::new(args.plain);
    let mut summary = engine.sync(view.callback()).await?;
    view.finish();
    summary.secs = started.elapsed().as_secs_f64();
    Ok((summary, uploaded))
}

/// The bytes of `--ca-cert`, empty without it.
fn ca_cert(path: Option<&std::path::Path>) -> mooring_core::Result<Vec<u8>> {
    match path {
        None => Ok(Vec::new()),
        Some(p) => std::fs::read(p).map_err(|e| {
            mooring_core::Error::Profile(format!("cannot read --ca-cert {}: {e}", p.display()))
        }),
    }
}

/// A profile JSON, or an app manifest resolved against the server.
async fn profile_file(remote: &Remote, path: &std::path::Path) -> mooring_core::Result<Profile> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        mooring_core::Error::Profile(format!("cannot read {}: {e}", path.display()))
    })?;
    let is_manifest =
        serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|v| v.get("screens").is_some());
    if is_manifest {
        let manifest = AppManifest::from_json(&text)?;
        mooring_core::profile_from_manifest(remote, &manifest).await
    } else {
        Profile::from_json(&text)
    }
}

/// The canvas crate's errors, as the CLI's one error type (a profile
/// problem; core's own errors pass through unchanged).
fn canvas_error(e: mooring_canvas::CanvasError) -> mooring_core::Error {
    match e {
        mooring_canvas::CanvasError::Core(e) => e,
        other => mooring_core::Error::Profile(other.to_string()),
    }
}

/// `mooring profile from-app`: the profile JSON, then (with --explain)
/// the explanation.
async fn from_app(args: FromAppArgs) -> mooring_core::Result<String> {
    let generated = match &args.server {
        Some(server) => {
            let token = args.token.clone().ok_or_else(|| {
                mooring_core::Error::Profile(
                    "--server needs a token (--token or MOORING_TOKEN)".into(),
                )
            })?;
            let remote = Remote::new(
                RemoteConfig::new(server.clone()),
                Arc::new(StaticToken(Secret::new(token))),
            )?;
            mooring_canvas::profile_from_app_checked(&remote, &args.path).await
        }
        None => mooring_canvas::profile_from_app(&args.path, None),
    }
    .map_err(canvas_error)?;
    let mut out = generated.profile.to_json();
    if args.explain {
        out.push_str("\n\n");
        out.push_str(generated.explanation.to_text().trim_end());
    }
    Ok(out)
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
    cfg.extra_roots_pem = ca_cert(args.ca_cert.as_deref())?;
    let remote = Remote::new(cfg, Arc::new(StaticToken(Secret::new(args.token))))?;
    let store = Store::open_with_key(&args.db, key_from_env(args.key_env.as_deref())?)?;
    let (engine, _migration) = SyncEngine::prepare(remote, store, &profile).await?;
    engine.remember_profile()?;
    let outbox = engine.outbox(mooring_core::OutboxConfig {
        batch_size: args.batch_size as usize,
        ..Default::default()
    });
    let s = outbox.upload().await?;
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

/// An existing mirror (the read-only commands never create one).
fn open_existing(db: &std::path::Path, key_env: Option<&str>) -> mooring_core::Result<Store> {
    if !db.exists() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no database at {}", db.display()),
        )
        .into());
    }
    Store::open_with_key(db, key_from_env(key_env)?)
}

fn diagnostics(args: &DiagnosticsArgs) -> mooring_core::Result<String> {
    let store = open_existing(&args.db, args.key_env.as_deref())?;
    let report = mooring_core::diagnostics::Report::from_store(&store)?;
    Ok(if args.json {
        report.to_json()
    } else {
        report.to_text()
    })
}

/// The status of a mirror as the app would show it before any network
/// answer: what the database remembers, connectivity unknown.
fn status(args: &StatusArgs) -> mooring_core::Result<String> {
    let store = open_existing(&args.db, args.key_env.as_deref())?;
    let facts = mooring_core::mooring::DatabaseFacts::read(&store)?;
    let mut machine = mooring_core::status::StatusMachine::new();
    machine.apply(facts.opened_event());
    let s = machine.status();
    let mut tables = Vec::new();
    let mut rows = 0;
    for t in store.tables()? {
        let n = store.count(&t)?;
        rows += n;
        tables.push(format!("{t}:{n}"));
    }
    Ok(format!(
        "{}\ninitial_sync_complete={} tables={} rows={} last_sync={} ({})",
        status_line::script(s),
        s.initial_sync_complete,
        tables.join(","),
        rows,
        s.last_synced_at_ms
            .map(status_line::time_of)
            .unwrap_or_else(|| "never".into()),
        "connectivity unknown: no network used"
    ))
}

/// VmHWM: the process's peak resident memory (Linux).
fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
