//! `mooring demo`: the whole story on one machine. Starts the Dataverse
//! emulator in-process with sample data, opens a fresh mirror through the
//! `Mooring` facade (the same object the phone apps hold), shows the loading
//! screen during the initial sync, then a live status line and a prompt to
//! read and edit rows, go offline and online, edit as another user, sync,
//! and explain the status. `--script FILE` runs the same commands, one per
//! line, without a terminal (the test suite does).
//!
//! `mooring shell`: the same prompt and live status against any server (a
//! real environment, an emulator started elsewhere): the commands that
//! drive the emulator itself (`other`, `unreachable`, `revoke`, `latency`...)
//! say they need the demo.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use mooring_core::remote::{TokenFuture, TokenProvider};
use mooring_core::status::{Activity, Connectivity};
use mooring_core::{
    Icon, Mooring, MooringConfig, Profile, Query, ScheduleConfig, Secret, SyncStatus,
};
use mooring_devserver::{Admin, Config};

use crate::status_line;

/// `mooring shell`: the demo's prompt against any server.
#[derive(clap::Args)]
pub struct ShellArgs {
    /// Environment URL (https://org.crm.dynamics.com, or http://127.0.0.1:PORT).
    #[arg(long)]
    server: String,
    /// Bearer token (prefer the MOORING_TOKEN environment variable).
    #[arg(long, env = "MOORING_TOKEN", hide_env_values = true)]
    token: String,
    /// Offline profile JSON, or an app manifest JSON (with "screens").
    #[arg(long)]
    profile: PathBuf,
    /// The local SQLite mirror (created if missing; a synced one resumes).
    #[arg(long)]
    db: PathBuf,
    /// PEM certificates to trust as roots beside the built-in ones.
    #[arg(long, value_name = "PEM")]
    ca_cert: Option<PathBuf>,
    /// Name of an environment variable holding the database's encryption key.
    #[arg(long, value_name = "VAR")]
    key_env: Option<String>,
    /// Run commands from this file, one per line, then quit.
    #[arg(long)]
    script: Option<PathBuf>,
    /// Plain progress lines, no bars and no colours.
    #[arg(long)]
    plain: bool,
}

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Where the local mirror lives (default: a fresh temporary folder).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Rows per table in the emulator (the four tables the demo keeps).
    #[arg(long, default_value_t = 3000)]
    rows: usize,
    /// Run commands from this file, one per line, then quit.
    #[arg(long)]
    script: Option<PathBuf>,
    /// Plain progress lines, no bars and no colours.
    #[arg(long)]
    plain: bool,
    /// Delta sync interval of every table in seconds (the profile's 5
    /// minutes is long for a demo).
    #[arg(long, default_value_t = 30)]
    interval_secs: u64,
}

const TOKEN: &str = "demo-token";
const OTHER_USER: &str = "Morgan Lee";

/// The host's token provider, switchable so the demo can show a sign-in the
/// server no longer accepts (`revoke` / `restore`).
struct DemoTokens {
    current: Mutex<String>,
}

impl TokenProvider for DemoTokens {
    fn token(&self, _force_refresh: bool) -> TokenFuture<'_> {
        Box::pin(async move {
            self.current
                .lock()
                .map(|t| Secret::new(t.clone()))
                .map_err(|_| "token lock poisoned".to_string())
        })
    }
}

const PROFILE: &str = r#"{"tables":[
  {"name":"accounts","columns":["name","accountnumber","telephone1","address1_city","revenue","numberofemployees"],"rows":"all"},
  {"name":"contacts","columns":["firstname","lastname","emailaddress1","parentcustomerid"],"rows":"all"},
  {"name":"opportunities","columns":["name","estimatedvalue","parentaccountid"],"rows":"all"},
  {"name":"tasks","columns":["subject","scheduledend","regardingobjectid"],"rows":"all"}
]}"#;

/// What only the demo has: its emulator, to break and to edit as others.
struct Emulator {
    admin: Admin,
    other_user: uuid::Uuid,
}

struct Demo {
    app: Arc<Mooring>,
    /// None in `mooring shell`: the server is not ours to drive.
    emulator: Option<Emulator>,
    tokens: Arc<DemoTokens>,
    /// The token `restore` puts back.
    good_token: String,
    /// The id of the last row created (`$last` in commands).
    last_id: Option<String>,
    colour: bool,
    /// The live status line already prints changes.
    live: bool,
}

pub async fn run(args: DemoArgs) -> Result<(), String> {
    let interactive = args.script.is_none() && std::io::stdin().is_terminal();
    let colour = !args.plain && std::io::stdout().is_terminal();
    // The emulator's sample has a dozen tables; the demo keeps four.
    const SEEDED: [&str; 4] = ["accounts", "contacts", "opportunities", "tasks"];
    eprintln!(
        "starting the Dataverse emulator with {} rows in each of {} tables...",
        args.rows,
        SEEDED.len()
    );
    let server = mooring_devserver::start(Config {
        seed_rows: args.rows,
        seed_tables: SEEDED.iter().map(|t| t.to_string()).collect(),
        token: TOKEN.into(),
        extra_users: vec![(OTHER_USER.into(), "other-token".into())],
        ..Config::default()
    })
    .await
    .map_err(|e| format!("cannot start the emulator: {e}"))?;
    let admin = server.admin();
    let other_user = admin
        .users()
        .into_iter()
        .find(|u| u.name == OTHER_USER)
        .map(|u| u.id)
        .ok_or("the emulator has no second user")?;
    let dir = match &args.data_dir {
        Some(d) => d.clone(),
        None => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            std::env::temp_dir().join(format!("mooring-demo-{}-{nanos}", std::process::id()))
        }
    };
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let db = dir.join("mirror.db");
    eprintln!(
        "emulator at {}  ·  local mirror {}",
        server.root_url(),
        db.display()
    );

    let tokens = Arc::new(DemoTokens {
        current: Mutex::new(TOKEN.into()),
    });
    let profile = Profile::from_json(PROFILE).map_err(|e| e.to_string())?;
    let mut config = MooringConfig::new(server.root_url(), tokens.clone(), db.clone(), profile);
    config.remote.page_size = 500;
    config.remote.backoff_base = Duration::from_millis(100);
    config.remote.backoff_cap = Duration::from_secs(1);
    config.remote.max_retries = 2;
    config.schedule = ScheduleConfig {
        probe_timeout: Duration::from_secs(2),
        probe_interval: Duration::from_secs(10),
        upload_debounce: Duration::from_millis(500),
        retry_base: Duration::from_millis(500),
        retry_cap: Duration::from_secs(5),
        delta_interval: Some(Duration::from_secs(args.interval_secs.max(1))),
    };
    let app = Arc::new(Mooring::open(config).await.map_err(|e| e.to_string())?);

    loading_screen(&app, args.plain).await?;

    let demo = Demo {
        app: app.clone(),
        emulator: Some(Emulator { admin, other_user }),
        tokens,
        good_token: TOKEN.into(),
        last_id: None,
        colour,
        live: interactive,
    };
    let failed = prompt_loop(demo, interactive, args.script.as_deref()).await?;
    app.close().await;
    server.shutdown().await;
    if failed {
        return Err("some commands failed (see above)".into());
    }
    Ok(())
}

/// `mooring shell`: opens (or resumes) the mirror against `--server`, the
/// loading screen while the first sync runs, then the prompt.
pub async fn shell(args: ShellArgs) -> Result<(), String> {
    let interactive = args.script.is_none() && std::io::stdin().is_terminal();
    let colour = !args.plain && std::io::stdout().is_terminal();
    let text = std::fs::read_to_string(&args.profile)
        .map_err(|e| format!("cannot read {}: {e}", args.profile.display()))?;
    let tokens = Arc::new(DemoTokens {
        current: Mutex::new(args.token.clone()),
    });
    let is_manifest =
        serde_json::from_str::<serde_json::Value>(&text).is_ok_and(|v| v.get("screens").is_some());
    let mut config = if is_manifest {
        let manifest = mooring_core::AppManifest::from_json(&text).map_err(|e| e.to_string())?;
        MooringConfig::from_manifest(
            args.server.clone(),
            tokens.clone(),
            args.db.clone(),
            manifest,
        )
    } else {
        let profile = Profile::from_json(&text).map_err(|e| e.to_string())?;
        MooringConfig::new(
            args.server.clone(),
            tokens.clone(),
            args.db.clone(),
            profile,
        )
    };
    config.remote.extra_roots_pem =
        crate::ca_cert(args.ca_cert.as_deref()).map_err(|e| e.to_string())?;
    config.encryption_key =
        crate::key_from_env(args.key_env.as_deref()).map_err(|e| e.to_string())?;
    eprintln!("{}  ·  local mirror {}", args.server, args.db.display());
    let app = Arc::new(Mooring::open(config).await.map_err(|e| e.to_string())?);
    loading_screen(&app, args.plain).await?;
    let session = Demo {
        app: app.clone(),
        emulator: None,
        tokens,
        good_token: args.token,
        last_id: None,
        colour,
        live: interactive,
    };
    let failed = prompt_loop(session, interactive, args.script.as_deref()).await?;
    app.close().await;
    if failed {
        return Err("some commands failed (see above)".into());
    }
    Ok(())
}

/// Reads commands (the terminal or `script`) and runs them until `quit` or
/// the end; whether any failed (a script's exit code says so).
async fn prompt_loop(
    mut demo: Demo,
    interactive: bool,
    script: Option<&std::path::Path>,
) -> Result<bool, String> {
    let app = demo.app.clone();
    let colour = demo.colour;
    let _live = if interactive {
        println!("type `help` for the commands");
        Some(live_status(&app, colour))
    } else {
        None
    };
    let lines: Box<dyn Iterator<Item = std::io::Result<String>>> = match script {
        Some(path) => {
            let f = std::fs::File::open(path)
                .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
            Box::new(std::io::BufReader::new(f).lines())
        }
        None => Box::new(std::io::stdin().lock().lines()),
    };
    let mut failed = false;
    if interactive {
        prompt();
    }
    // Lines come from a blocking reader; read them one at a time between
    // awaits (the scheduler runs on the runtime's other threads).
    for line in lines {
        let line = line.map_err(|e| format!("cannot read a command: {e}"))?;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            if interactive {
                prompt();
            }
            continue;
        }
        if !interactive {
            println!("> {line}");
        }
        match demo.command(line).await {
            Ok(Flow::Quit) => break,
            Ok(Flow::Go) => {}
            Err(e) => {
                println!("error: {e}");
                failed = true;
            }
        }
        if interactive {
            prompt();
        }
    }
    Ok(failed && script.is_some())
}

fn prompt() {
    print!("mooring> ");
    let _ = std::io::stdout().flush();
}

/// Prints a status line whenever the icon, its explanation or a count
/// changes (interactive only; a new last-sync time alone is not news).
fn live_status(app: &Mooring, colour: bool) -> mooring_core::StatusHandle {
    let last = Mutex::new(None);
    app.observe_status(move |s| {
        let key = (s.icon, s.message.key, s.pending_changes, s.sync_errors);
        if let Ok(mut l) = last.lock() {
            if *l != Some(key) {
                println!("\r{}", status_line::pretty(s, colour));
                prompt();
                *l = Some(key);
            }
        }
    })
}

/// The first launch: bars for rows and tables, rate and ETA, until the
/// initial sync completes.
async fn loading_screen(app: &Mooring, plain: bool) -> Result<(), String> {
    let bars = (!plain && std::io::stderr().is_terminal()).then(|| {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let style =
            ProgressStyle::with_template("{prefix:>8} [{bar:40.cyan/blue}] {pos}/{len} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
        let rows = multi.add(
            ProgressBar::new(0)
                .with_style(style.clone())
                .with_prefix("rows"),
        );
        let tables = multi.add(ProgressBar::new(0).with_style(style).with_prefix("tables"));
        (multi, rows, tables)
    });
    let started = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<SyncStatus>();
    let _handle = app.observe_status(move |s| {
        let _ = tx.send(s.clone());
    });
    let mut last_print = Instant::now() - Duration::from_secs(5);
    let mut said_waiting = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    loop {
        let s = match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(s)) => s,
            Ok(None) => return Err("the status stopped".into()),
            Err(_) => return Err("the initial sync did not finish in 10 minutes".into()),
        };
        if s.initial_sync_complete {
            if let Some((_, rows, tables)) = &bars {
                rows.finish();
                tables.finish();
            }
            eprintln!(
                "initial sync complete in {:.1}s",
                started.elapsed().as_secs_f64()
            );
            return Ok(());
        }
        if s.icon != Icon::Syncing
            && s.phase == Activity::Idle
            && s.connectivity != Connectivity::Checking
            && !said_waiting
        {
            eprintln!("{}: {}", s.message.title, s.message.description);
            said_waiting = true;
        }
        // No bar before the totals are known (an empty bar draws as full).
        let Some(p) = s.initial_progress.filter(|p| p.rows_total > 0) else {
            continue;
        };
        let secs = started.elapsed().as_secs_f64().max(0.001);
        let rate = p.rows_done as f64 / secs;
        let eta = p
            .eta_secs
            .map(|e| format!("{e}s"))
            .unwrap_or_else(|| "?".into());
        match &bars {
            Some((_, rows, tables)) => {
                rows.set_length(p.rows_total);
                rows.set_position(p.rows_done);
                rows.set_message(format!(
                    "{rate:.0} rows/s, {} KiB, ETA {eta}",
                    p.bytes / 1024
                ));
                tables.set_length(u64::from(p.tables_total));
                tables.set_position(u64::from(p.tables_done));
            }
            None => {
                if last_print.elapsed() >= Duration::from_millis(500) {
                    eprintln!(
                        "downloading: rows {}/{} tables {}/{} {rate:.0} rows/s eta {eta}",
                        p.rows_done, p.rows_total, p.tables_done, p.tables_total
                    );
                    last_print = Instant::now();
                }
            }
        }
    }
}

enum Flow {
    Go,
    Quit,
}

const HELP: &str = "\
commands (TABLE: accounts contacts opportunities tasks; $last = the last id created):
  list TABLE [N]            first N rows (default 10)
  show TABLE ID             one row
  create TABLE JSON         e.g. create accounts {\"name\":\"Contoso\"}
  update TABLE ID JSON      e.g. update accounts $last {\"telephone1\":\"555\"}
  delete TABLE ID
  other create|update|delete ...   the same, as another user on the server
  offline / online          the phone loses / regains its network
  unreachable / reachable   the network stays up but the server stops / starts answering
  revoke / restore          the server rejects / accepts our sign-in again
  sync                      sync now and wait;  sync start: without waiting
  status                    one line: icon, pending, errors, ...
  explain                   what tapping the icon shows
  errors / retry N / discard N   sync errors (rejected changes)
  wait ICON [SECS]          wait until the icon shows ICON (scripts)
  latency MS / throttle N / expire   emulator faults: slow answers, N x 429, expired delta tokens
  pause / resume            the app goes to the background / foreground
  metered on|off / wifi-only on|off
  sql SELECT ...            a read-only SQL statement over the mirror (joins, count(*) ...)
  pending                   the changes waiting for upload, and since when
  help / quit
(`mooring shell` against another server: other, unreachable/reachable, revoke/restore,
 latency, throttle and expire need the demo's emulator; offline/online only tell the app)";

impl Demo {
    fn line(&self, s: &SyncStatus) -> String {
        status_line::pretty(s, self.colour)
    }

    fn subst(&self, word: &str) -> Result<String, String> {
        if word == "$last" {
            self.last_id
                .clone()
                .ok_or_else(|| "no row created yet ($last)".to_string())
        } else {
            Ok(word.to_string())
        }
    }

    /// The demo's emulator, or why a command needs it.
    fn emulator(&self, cmd: &str) -> Result<&Emulator, String> {
        self.emulator
            .as_ref()
            .ok_or_else(|| format!("`{cmd}` drives the demo's emulator: run `mooring demo` for it"))
    }

    async fn command(&mut self, line: &str) -> Result<Flow, String> {
        let (cmd, rest) = split(line);
        match cmd {
            "sql" => {
                let rows = self
                    .app
                    .sql(rest, Vec::new())
                    .await
                    .map_err(|e| e.to_string())?;
                println!("{}", crate::offline::table(&rows));
            }
            "pending" => {
                let changes = self
                    .app
                    .pending_changes(50)
                    .await
                    .map_err(|e| e.to_string())?;
                if changes.is_empty() {
                    println!("nothing waits for upload");
                } else {
                    let now = crate::offline::now_ms();
                    println!("{}", crate::offline::listing(&changes, now));
                    // "3 changes waiting for 2 h: no connection": the
                    // scheduler's reason, not only the status icon's.
                    match self.app.pending_summary().await {
                        Ok(Some(line)) => println!("{line}"),
                        Ok(None) => {}
                        Err(e) => println!("(why they wait is unknown: {})", e.summary()),
                    }
                }
            }
            "help" | "?" => println!("{HELP}"),
            "quit" | "exit" => return Ok(Flow::Quit),
            "status" => println!("{}", status_line::script(&self.app.status())),
            "explain" => {
                let s = self.app.status();
                println!(
                    "{}\n{}\n({})",
                    s.message.title, s.message.description, s.message.key
                );
            }
            "offline" => {
                self.app.set_host_network(false, false);
                if let Some(emu) = &self.emulator {
                    emu.admin.set_refusing_connections(true);
                }
                if !self.live {
                    println!("{}", self.line(&self.app.status()));
                }
            }
            "online" => {
                if let Some(emu) = &self.emulator {
                    emu.admin.set_refusing_connections(false);
                }
                self.app.set_host_network(true, false);
                if !self.live {
                    println!("{}", self.line(&self.app.status()));
                }
            }
            "unreachable" => {
                self.emulator(cmd)?.admin.set_refusing_connections(true);
                self.app.request_sync();
            }
            "reachable" => self.emulator(cmd)?.admin.set_refusing_connections(false),
            "revoke" => {
                self.emulator(cmd)?;
                if let Ok(mut t) = self.tokens.current.lock() {
                    *t = "revoked-token".into();
                }
                self.app.request_sync();
            }
            "restore" => {
                self.emulator(cmd)?;
                if let Ok(mut t) = self.tokens.current.lock() {
                    *t = self.good_token.clone();
                }
            }
            "sync" => {
                if rest == "start" {
                    self.app.request_sync();
                } else {
                    match self.app.sync_now().await {
                        Ok(()) => println!("sync ok"),
                        Err(e) => println!("sync did not complete: {e}"),
                    }
                }
            }
            "wait" => {
                let (icon, secs) = split(rest);
                let secs: u64 = if secs.is_empty() {
                    30
                } else {
                    secs.parse().map_err(|_| format!("not seconds: {secs}"))?
                };
                self.wait_icon(icon, Duration::from_secs(secs)).await?;
            }
            "pause" => self.app.pause(),
            "resume" => self.app.resume(),
            "metered" => {
                let s = self.app.status();
                let online = s.connectivity != Connectivity::Offline;
                self.app.set_host_network(online, on_off(rest)?);
            }
            "wifi-only" => self.app.set_wifi_only(on_off(rest)?),
            "latency" => {
                let ms: u64 = rest
                    .parse()
                    .map_err(|_| format!("not milliseconds: {rest}"))?;
                self.emulator(cmd)?
                    .admin
                    .set_latency(Duration::from_millis(ms));
            }
            "throttle" => {
                let n: u32 = rest.parse().map_err(|_| format!("not a count: {rest}"))?;
                self.emulator(cmd)?.admin.fail_next(n, 429);
            }
            "expire" => self.emulator(cmd)?.admin.expire_delta_tokens(),
            "tables" => {
                for t in self.app.store().tables().map_err(|e| e.to_string())? {
                    let n = self.app.store().count(&t).map_err(|e| e.to_string())?;
                    println!("{t}: {n} rows");
                }
            }
            "list" => {
                let (table, n) = split(rest);
                let n: u32 = if n.is_empty() {
                    10
                } else {
                    n.parse().map_err(|_| format!("not a count: {n}"))?
                };
                let rows = self
                    .app
                    .query(Query::table(table).limit(n))
                    .await
                    .map_err(|e| e.to_string())?;
                for r in rows {
                    println!("{}", serde_json::Value::Object(r));
                }
            }
            "show" => {
                let (table, id) = split(rest);
                let id = self.subst(id)?;
                match self.app.get(table, &id).await.map_err(|e| e.to_string())? {
                    Some(r) => println!(
                        "{}",
                        serde_json::to_string_pretty(&serde_json::Value::Object(r))
                            .unwrap_or_default()
                    ),
                    None => println!("no row {id} in {table}"),
                }
            }
            "other" => self.other(rest)?,
            "create" => {
                let (table, json) = split(rest);
                let values = object(json)?;
                let id = self
                    .app
                    .create(table, values)
                    .await
                    .map_err(|e| e.to_string())?;
                println!("created {table} {id}");
                self.last_id = Some(id);
            }
            "update" => {
                let (table, rest) = split(rest);
                let (id, json) = split(rest);
                let id = self.subst(id)?;
                let values = object(json)?;
                self.app
                    .update(table, &id, values)
                    .await
                    .map_err(|e| e.to_string())?;
                println!("updated {table} {id}");
            }
            "delete" => {
                let (table, id) = split(rest);
                let id = self.subst(id)?;
                self.app
                    .delete(table, &id)
                    .await
                    .map_err(|e| e.to_string())?;
                println!("deleted {table} {id}");
            }
            "errors" => {
                let errors = self.app.sync_errors().await.map_err(|e| e.to_string())?;
                if errors.is_empty() {
                    println!("no sync errors");
                }
                for e in errors {
                    println!(
                        "#{} {} {} {} {:?}: HTTP {} {} ({:?})",
                        e.id,
                        status_line::time_of(e.at_ms),
                        e.action.as_str(),
                        e.table,
                        e.row_id,
                        e.status,
                        e.message,
                        e.kind
                    );
                }
            }
            "retry" | "discard" => {
                let ids: Vec<i64> = if rest == "all" {
                    let errors = self.app.sync_errors().await.map_err(|e| e.to_string())?;
                    errors.iter().map(|e| e.id).collect()
                } else {
                    vec![rest.trim_start_matches('#').parse().map_err(|_| {
                        format!("{cmd} N (a sync error's number, see `errors`) or {cmd} all")
                    })?]
                };
                for id in ids {
                    if cmd == "retry" {
                        self.app
                            .retry_sync_error(id)
                            .await
                            .map_err(|e| e.to_string())?;
                    } else {
                        self.app
                            .discard_sync_error(id)
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                    println!("{cmd} #{id}: done");
                }
            }
            other => return Err(format!("unknown command `{other}` (try `help`)")),
        }
        Ok(Flow::Go)
    }

    /// A change on the server by another user (shows up at the next delta).
    fn other(&mut self, rest: &str) -> Result<(), String> {
        let emu = self.emulator("other")?;
        let (admin, other_user) = (emu.admin.clone(), emu.other_user);
        let (op, rest) = split(rest);
        let (table, rest) = split(rest);
        match op {
            "create" => {
                let values: serde_json::Value =
                    serde_json::from_str(rest).map_err(|e| format!("bad JSON: {e}"))?;
                let id = admin
                    .create_row(table, other_user, values)
                    .map_err(|e| e.to_string())?;
                self.last_id = Some(id.to_string());
                println!("{OTHER_USER} created {table} {id} on the server");
            }
            "update" => {
                let (id, json) = split(rest);
                let id = self.subst(id)?;
                let values: serde_json::Value =
                    serde_json::from_str(json).map_err(|e| format!("bad JSON: {e}"))?;
                let uid = id.parse().map_err(|_| format!("not an id: {id}"))?;
                admin
                    .update_row(table, uid, other_user, values)
                    .map_err(|e| e.to_string())?;
                println!("{OTHER_USER} updated {table} {id} on the server");
            }
            "delete" => {
                let id = self.subst(rest)?;
                let uid = id.parse().map_err(|_| format!("not an id: {id}"))?;
                admin.delete_row(table, uid).map_err(|e| e.to_string())?;
                println!("{OTHER_USER} deleted {table} {id} on the server");
            }
            _ => return Err("other create|update|delete TABLE ...".into()),
        }
        Ok(())
    }

    async fn wait_icon(&self, name: &str, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            let s = self.app.status();
            if s.icon.as_str() == name {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "the icon did not become {name} in {}s (it is {})",
                    limit.as_secs(),
                    s.icon
                ));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn object(json: &str) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    match serde_json::from_str(json) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(_) => Err("values must be a JSON object".into()),
        Err(e) => Err(format!("bad JSON: {e}")),
    }
}

fn on_off(word: &str) -> Result<bool, String> {
    match word {
        "on" | "true" | "yes" => Ok(true),
        "off" | "false" | "no" => Ok(false),
        w => Err(format!("on or off, not `{w}`")),
    }
}

/// First word and the rest (trimmed).
fn split(s: &str) -> (&str, &str) {
    let s = s.trim();
    match s.find(char::is_whitespace) {
        Some(i) => (&s[..i], s[i..].trim()),
        None => (s, ""),
    }
}
