//! Runs one trial's schedule against the real parts: the `mooring` binary
//! (`sync`, `upload`, `status`) on a real mirror file, the emulator
//! in-process, local writes through the core API between process runs
//! (the mirror is never open in-process while a process has it), edits by
//! another user through the admin API.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mooring_core::remote::{Remote, RemoteConfig, StaticToken};
use mooring_core::{Error, OutboxConfig, Profile, Query, Sort, Store, SyncEngine, WriteError};
use mooring_devserver::{Admin, Config, RunningServer};
use tokio::io::AsyncReadExt;
use uuid::Uuid;

use super::check::{self, Rows};
use super::faults::{self, Action};
use super::model::{Key, Model};
use super::schedule::{Command, Edit, Op, ProfileKind, Run, Schedule, Step, Table, Target, Values};

pub const TOKEN: &str = "chaos-token";
const OTHER_TOKEN: &str = "chaos-other-token";
const OTHER_USER: &str = "Other User";
/// No run may take longer (a hang is a failure).
const RUN_LIMIT: Duration = Duration::from_secs(90);

/// Counters over trials: faults injected by kind, kills, runs, edits.
pub type Tally = BTreeMap<String, u64>;

fn add(t: &mut Tally, k: impl Into<String>) {
    *t.entry(k.into()).or_default() += 1;
}

pub struct Trial {
    server: RunningServer,
    admin: Admin,
    root: String,
    other: Uuid,
    dir: PathBuf,
    db: PathBuf,
    profile_file: PathBuf,
    profile: ProfileKind,
    page_size: u32,
    model: Model,
    /// Rows each side edited in the current round (for `Contested`).
    local_touched: Vec<Key>,
    server_touched: Vec<Key>,
    pub tally: Tally,
    /// What happened, step by step (printed with a failure).
    pub log: Vec<String>,
}

enum Exit {
    Done {
        ok: bool,
        stdout: String,
        stderr: String,
    },
    Killed,
}

impl Trial {
    pub async fn start(s: &Schedule, dir: PathBuf) -> Result<Trial, String> {
        let server = mooring_devserver::start(Config {
            seed_rows: s.seed_rows,
            seed: s.seed,
            token: TOKEN.into(),
            extra_users: vec![(OTHER_USER.into(), OTHER_TOKEN.into())],
            ..Config::default()
        })
        .await
        .map_err(|e| format!("emulator: {e}"))?;
        let admin = server.admin();
        let other = admin
            .users()
            .into_iter()
            .find(|u| u.name == OTHER_USER)
            .ok_or("no other user")?
            .id;
        let mut initial = Vec::new();
        for t in Table::ALL {
            for (id, cells) in check::server_rows(&admin, t)? {
                initial.push(((t, id), cells));
            }
        }
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let t = Trial {
            root: server.root_url(),
            server,
            admin,
            other,
            db: dir.join("mirror.db"),
            profile_file: dir.join("profile.json"),
            dir,
            profile: ProfileKind::Narrow,
            page_size: s.page_size,
            model: Model::new(initial),
            local_touched: vec![],
            server_touched: vec![],
            tally: Tally::new(),
            log: vec![],
        };
        t.write_profile()?;
        Ok(t)
    }

    fn write_profile(&self) -> Result<(), String> {
        std::fs::write(&self.profile_file, self.profile.json()).map_err(|e| e.to_string())
    }

    pub async fn step(&mut self, step: &Step) -> Result<(), String> {
        match step {
            Step::Profile(p) => {
                self.profile = *p;
                self.write_profile()?;
                add(&mut self.tally, "profile_changes");
                Ok(())
            }
            Step::Local(ops) => self.local(ops).await,
            Step::Server(ops) => {
                for op in ops {
                    self.server_op(op, false)?;
                }
                Ok(())
            }
            Step::Run(run) => {
                self.run(run).await?;
                // A new round starts after each run.
                self.local_touched.clear();
                self.server_touched.clear();
                self.observe()
            }
        }
    }

    /// Between runs: the outbox's own consistency, then which changes the
    /// last run uploaded.
    fn observe(&mut self) -> Result<(), String> {
        let q = check::queue(&self.db)?;
        let queued = q.check()?;
        self.model.observe(&queued)
    }

    fn command(&self, cmd: Command) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_mooring"));
        match cmd {
            Command::Sync => {
                c.args(["sync", "--plain", "--page-size"])
                    .arg(self.page_size.to_string());
            }
            Command::Upload { batch } => {
                c.args(["upload", "--batch-size"]).arg(batch.to_string());
            }
        }
        c.args(["--retries", "2", "--server", &self.root])
            .arg("--profile")
            .arg(&self.profile_file)
            .arg("--db")
            .arg(&self.db)
            .env("MOORING_TOKEN", TOKEN)
            .env_remove("MOORING_LOG")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        c
    }

    async fn run(&mut self, run: &Run) -> Result<(), String> {
        let name = match run.command {
            Command::Sync => "sync",
            Command::Upload { .. } => "upload",
        };
        add(&mut self.tally, format!("runs_{name}"));
        let timeline = faults::timeline(run);
        let started = Instant::now();
        let child = self
            .command(run.command)
            .spawn()
            .map_err(|e| format!("spawn mooring: {e}"))?;
        let wait = wait_or_kill(child, run.kill_at_ms.map(Duration::from_millis));
        tokio::pin!(wait);
        let mut events = timeline.into_iter().peekable();
        let exit = loop {
            let next = events
                .peek()
                .map(|(at, _)| started + Duration::from_millis(*at));
            tokio::select! {
                exit = &mut wait => break exit?,
                _ = tokio::time::sleep_until(next.unwrap_or(started + RUN_LIMIT * 2).into()), if next.is_some() => {
                    if let Some((_, action)) = events.next() {
                        self.act(action)?;
                    }
                }
            }
        };
        let secs = started.elapsed().as_secs_f64();
        // Whatever was still scheduled for this run is dropped with it.
        self.admin.clear_faults();
        match exit {
            Exit::Killed => {
                add(&mut self.tally, "kills_landed");
                add(&mut self.tally, format!("kills_landed_{name}"));
                self.log
                    .push(format!("run {name}: SIGKILLed at {secs:.2}s"));
            }
            Exit::Done { ok, stdout, stderr } => {
                if run.kill_at_ms.is_some() {
                    add(&mut self.tally, "kills_too_late");
                }
                for text in [&stdout, &stderr] {
                    if text.contains(TOKEN) {
                        return Err(format!("run {name}: the token reached the output: {text}"));
                    }
                }
                if stderr.contains("panicked") {
                    return Err(format!("run {name} panicked: {stderr}"));
                }
                let last = stdout.lines().last().unwrap_or_default().to_string();
                if ok {
                    let want = if name == "sync" {
                        "synced "
                    } else {
                        "uploaded "
                    };
                    if !last.starts_with(want) {
                        return Err(format!("run {name}: no summary line: {stdout}"));
                    }
                    self.log
                        .push(format!("run {name}: ok in {secs:.2}s: {last}"));
                } else {
                    add(&mut self.tally, "runs_failed");
                    let reason = stderr
                        .lines()
                        .rfind(|l| l.starts_with("error:"))
                        .ok_or_else(|| {
                            format!("run {name} failed without an error line: {stderr}")
                        })?;
                    if !run.faults.iter().any(|(_, f)| f.may_fail_a_run()) {
                        return Err(format!(
                            "run {name} failed with no fault that may fail it: {reason}"
                        ));
                    }
                    self.log
                        .push(format!("run {name}: failed in {secs:.2}s: {reason}"));
                }
            }
        }
        Ok(())
    }

    fn act(&mut self, action: Action) -> Result<(), String> {
        match action {
            Action::Fault(f) => {
                add(&mut self.tally, format!("fault_{}", f.kind()));
                faults::inject(&self.admin, TOKEN, f);
            }
            Action::AcceptAgain => self.admin.set_refusing_connections(false),
            Action::Restore => self.admin.set_token_revoked(TOKEN, false),
            Action::Server(op) => self.server_op(&op, true)?,
        }
        Ok(())
    }

    /// An edit by the other user. While a process runs, only rows with no
    /// local change in flight (the model knows them all).
    fn server_op(&mut self, op: &Op, during_run: bool) -> Result<(), String> {
        let t = op.table;
        let when = if during_run {
            "during a run"
        } else {
            "between runs"
        };
        let pick = |this: &Trial, target: Target| -> Result<Option<Key>, String> {
            let rows = check::server_rows(&this.admin, t)?;
            let live: Vec<Key> = rows
                .keys()
                .map(|id| (t, id.clone()))
                .filter(|k| !(during_run && this.model.is_pending(k)))
                .collect();
            let contested: Vec<Key> = this
                .local_touched
                .iter()
                .filter(|k| live.contains(k))
                .cloned()
                .collect();
            Ok(choose(&live, &contested, target))
        };
        match &op.edit {
            Edit::Create(values) => {
                let id = self
                    .admin
                    .create_row(t.set(), self.other, to_json(values))
                    .map_err(|e| format!("server create: {e}"))?;
                let key = (t, id.to_string());
                self.model.server_create(key.clone(), values);
                self.log
                    .push(format!("server {when}: create {} {}", t.set(), key.1));
                self.server_touched.push(key);
                add(&mut self.tally, "server_creates");
            }
            Edit::Update(target, values) => {
                let Some(key) = pick(self, *target)? else {
                    return Ok(());
                };
                let id = Uuid::parse_str(&key.1).map_err(|e| e.to_string())?;
                match self
                    .admin
                    .update_row(t.set(), id, self.other, to_json(values))
                {
                    Ok(()) => {
                        self.model.server_update(&key, values)?;
                        self.log.push(format!(
                            "server {when}: update {} {} {values:?}",
                            t.set(),
                            key.1
                        ));
                        self.server_touched.push(key);
                        add(&mut self.tally, "server_updates");
                    }
                    Err(e) => self.log.push(format!(
                        "server {when}: update {} {} refused: {e}",
                        t.set(),
                        key.1
                    )),
                }
            }
            Edit::Delete(target) => {
                let Some(key) = pick(self, *target)? else {
                    return Ok(());
                };
                let id = Uuid::parse_str(&key.1).map_err(|e| e.to_string())?;
                match self.admin.delete_row(t.set(), id) {
                    Ok(()) => {
                        self.model.server_delete(&key);
                        self.log
                            .push(format!("server {when}: delete {} {}", t.set(), key.1));
                        self.server_touched.push(key);
                        add(&mut self.tally, "server_deletes");
                    }
                    Err(e) => self.log.push(format!(
                        "server {when}: delete {} {} refused: {e}",
                        t.set(),
                        key.1
                    )),
                }
            }
        }
        Ok(())
    }

    /// Local writes through the core API, as an app makes them offline.
    async fn local(&mut self, ops: &[Op]) -> Result<(), String> {
        let profile = Profile::from_json(&self.profile.json()).map_err(|e| e.to_string())?;
        let mut cfg = RemoteConfig::new(self.root.clone());
        cfg.backoff_base = Duration::from_millis(5);
        let remote =
            Remote::new(cfg, Arc::new(StaticToken(TOKEN.into()))).map_err(|e| e.to_string())?;
        let store = Store::open(&self.db).map_err(|e| format!("open the mirror: {e}"))?;
        let (engine, _) = SyncEngine::prepare(remote, store, &profile)
            .await
            .map_err(|e| format!("prepare for local writes: {e}"))?;
        let ob = engine.outbox(OutboxConfig::default());
        let result = self.local_ops(&engine, &ob, ops);
        engine
            .store()
            .close()
            .map_err(|e| format!("close the mirror: {e}"))?;
        result
    }

    fn local_ops(
        &mut self,
        engine: &SyncEngine,
        ob: &mooring_core::Outbox,
        ops: &[Op],
    ) -> Result<(), String> {
        for op in ops {
            let t = op.table;
            let pick = |this: &Trial, target: Target| -> Result<Option<Key>, String> {
                let rows = engine
                    .store()
                    .query(&Query::table(t.set()).sort(Sort::asc(t.key())))
                    .map_err(|e| format!("query {}: {e}", t.set()))?;
                let ids: Vec<Key> = rows
                    .iter()
                    .filter_map(|r| r.get(t.key()).and_then(|v| v.as_str()))
                    .map(|id| (t, id.to_lowercase()))
                    .collect();
                let contested: Vec<Key> = this
                    .server_touched
                    .iter()
                    .filter(|k| ids.contains(k))
                    .cloned()
                    .collect();
                Ok(choose(&ids, &contested, target))
            };
            let obj = |v: &Values| match to_json(v) {
                serde_json::Value::Object(m) => m,
                _ => serde_json::Map::new(),
            };
            match &op.edit {
                Edit::Create(values) => {
                    let id = ob
                        .create(t.set(), &obj(values))
                        .map_err(|e| format!("local create: {e}"))?;
                    let key = (t, id.to_lowercase());
                    self.model.local_create(key.clone(), values);
                    self.log
                        .push(format!("local: create {} {}", t.set(), key.1));
                    self.local_touched.push(key);
                    add(&mut self.tally, "local_creates");
                }
                Edit::Update(target, values) => {
                    let Some(key) = pick(self, *target)? else {
                        continue;
                    };
                    match ob.update(t.set(), &key.1, &obj(values)) {
                        Ok(()) => {
                            self.model.local_update(key.clone(), values)?;
                            self.log.push(format!(
                                "local: update {} {} {values:?}",
                                t.set(),
                                key.1
                            ));
                            self.local_touched.push(key);
                            add(&mut self.tally, "local_updates");
                        }
                        Err(Error::Write(WriteError::RowNotFound { .. })) => {}
                        Err(e) => return Err(format!("local update: {e}")),
                    }
                }
                Edit::Delete(target) => {
                    let Some(key) = pick(self, *target)? else {
                        continue;
                    };
                    match ob.delete(t.set(), &key.1) {
                        Ok(()) => {
                            self.model.local_delete(key.clone());
                            self.log
                                .push(format!("local: delete {} {}", t.set(), key.1));
                            self.local_touched.push(key);
                            add(&mut self.tally, "local_deletes");
                        }
                        Err(Error::Write(WriteError::RowNotFound { .. })) => {}
                        Err(e) => return Err(format!("local delete: {e}")),
                    }
                }
            }
        }
        Ok(())
    }

    /// Faults off, then sync, upload, sync: each must succeed; then every
    /// invariant.
    pub async fn finish(&mut self) -> Result<(), String> {
        self.admin.clear_faults();
        for cmd in [Command::Sync, Command::Upload { batch: 100 }, Command::Sync] {
            let out = self
                .command(cmd)
                .output()
                .await
                .map_err(|e| format!("final run: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "final {cmd:?} failed with faults cleared: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
        }
        self.observe()?;
        self.check_all().await
    }

    async fn check_all(&mut self) -> Result<(), String> {
        // The outbox: nothing pending, the expected sync errors exactly once.
        let q = check::queue(&self.db)?;
        if !q.entries.is_empty() || !q.pending_rows.is_empty() {
            return Err(format!(
                "after the final upload the outbox still holds {:?} (rows marked pending: {:?})",
                q.entries, q.pending_rows
            ));
        }
        let mut errors = BTreeSet::new();
        for (t, id, status) in &q.errors {
            if *status != 404 {
                return Err(format!("unexpected sync error {t} {id}: HTTP {status}"));
            }
            if !errors.insert((t.clone(), id.clone())) {
                return Err(format!("sync error duplicated: {t} {id}"));
            }
        }
        let want: BTreeSet<(String, String)> = self
            .model
            .errors()
            .iter()
            .map(|(t, id)| (t.set().to_string(), id.clone()))
            .collect();
        if errors != want {
            return Err(format!(
                "sync errors {errors:?}, expected {want:?} (updates of rows the server deleted)"
            ));
        }
        *self.tally.entry("expected_sync_errors".into()).or_default() += want.len() as u64;

        // The server: every acknowledged local change exactly once, last
        // writer wins per column.
        for t in Table::ALL {
            let server = check::server_rows(&self.admin, t)?;
            let model: Rows = self.model.rows(t);
            let d = check::diff(&model, &server, "expected", "server");
            if !d.is_empty() {
                return Err(format!(
                    "{}: the server differs from the documented rules ({} rows):\n    {}",
                    t.set(),
                    d.len(),
                    d.join("\n    ")
                ));
            }
        }
        // The mirror equals the server for every profile table.
        for (t, cols) in self.profile.tables() {
            let server = check::project(&check::server_rows(&self.admin, t)?, &cols);
            let mirror = check::mirror_rows(&self.db, t, &cols)?
                .ok_or_else(|| format!("the mirror has no table {}", t.set()))?;
            let d = check::diff(&server, &mirror, "server", "mirror");
            if !d.is_empty() {
                return Err(format!(
                    "{}: the mirror differs from the server ({} rows):\n    {}",
                    t.set(),
                    d.len(),
                    d.join("\n    ")
                ));
            }
        }
        check::integrity(&self.db)?;
        self.status(want.len()).await
    }

    /// `mooring status --db`: the icon a user would see at the next open.
    async fn status(&self, errors: usize) -> Result<(), String> {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_mooring"))
            .args(["status", "--db"])
            .arg(&self.db)
            .output()
            .await
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        if !out.status.success() {
            return Err(format!(
                "mooring status failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let icon = if errors > 0 { "error" } else { "not_connected" };
        let want = format!("status icon={icon} pending=0 errors={errors} ");
        if !text.starts_with(&want) || !text.contains("initial_sync_complete=true") {
            return Err(format!(
                "mooring status says {text:?}, expected {want:?} and a complete initial sync"
            ));
        }
        Ok(())
    }

    pub async fn stop(self) {
        self.server.shutdown().await;
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// `Contested(n)` picks among the rows the other side touched this round
/// (if any), `Any(n)` among all candidates.
fn choose(all: &[Key], contested: &[Key], target: Target) -> Option<Key> {
    match target {
        Target::Contested(n) if !contested.is_empty() => {
            Some(contested[n as usize % contested.len()].clone())
        }
        Target::Contested(n) | Target::Any(n) if !all.is_empty() => {
            Some(all[n as usize % all.len()].clone())
        }
        _ => None,
    }
}

fn to_json(values: &Values) -> serde_json::Value {
    serde_json::Value::Object(
        values
            .iter()
            .map(|(c, v)| (c.to_string(), v.to_json()))
            .collect(),
    )
}

/// Waits for the process, SIGKILLs it at `kill_at` if still running;
/// collects its output.
async fn wait_or_kill(
    mut child: tokio::process::Child,
    kill_at: Option<Duration>,
) -> Result<Exit, String> {
    let mut out = child.stdout.take().ok_or("no stdout")?;
    let mut err = child.stderr.take().ok_or("no stderr")?;
    let read_out = tokio::spawn(async move {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v).await;
        v
    });
    let read_err = tokio::spawn(async move {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v).await;
        v
    });
    let limit = kill_at.unwrap_or(RUN_LIMIT);
    let status = match tokio::time::timeout(limit, child.wait()).await {
        Ok(s) => s.map_err(|e| e.to_string())?,
        Err(_) => {
            child.start_kill().map_err(|e| format!("SIGKILL: {e}"))?;
            let _ = child.wait().await;
            if kill_at.is_none() {
                return Err(format!("mooring hung for {RUN_LIMIT:?}"));
            }
            return Ok(Exit::Killed);
        }
    };
    let stdout = String::from_utf8_lossy(&read_out.await.unwrap_or_default()).to_string();
    let stderr = String::from_utf8_lossy(&read_err.await.unwrap_or_default()).to_string();
    Ok(Exit::Done {
        ok: status.success(),
        stdout,
        stderr,
    })
}
