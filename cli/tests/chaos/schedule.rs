//! The seeded schedule of one chaos trial: pure data from a seed (no I/O,
//! no clock), printed before the trial runs so a failure can be replayed
//! with `MOORING_CHAOS_SEED`. Row choices are indexes (`pick`) into the
//! candidates the driver finds at that moment (sorted by key), so the same
//! seed makes the same choices against the same state.

use std::fmt;

/// The tables of the trial, their key and the columns each side writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Table {
    Accounts,
    Contacts,
    Opportunities,
}

impl Table {
    pub const ALL: [Table; 3] = [Table::Accounts, Table::Contacts, Table::Opportunities];

    pub fn set(self) -> &'static str {
        match self {
            Table::Accounts => "accounts",
            Table::Contacts => "contacts",
            Table::Opportunities => "opportunities",
        }
    }
    pub fn key(self) -> &'static str {
        match self {
            Table::Accounts => "accountid",
            Table::Contacts => "contactid",
            Table::Opportunities => "opportunityid",
        }
    }
    /// Every column the trial compares (the union of both profiles).
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Table::Accounts => &["name", "telephone1", "numberofemployees", "address1_city"],
            Table::Contacts => &["firstname", "lastname", "emailaddress1", "parentcustomerid"],
            Table::Opportunities => &["name", "estimatedvalue"],
        }
    }
    /// Columns local writes touch: those both profiles keep (a profile
    /// change never drops a column with a pending local value).
    pub fn local_columns(self) -> &'static [&'static str] {
        match self {
            Table::Accounts => &["name", "telephone1", "numberofemployees"],
            Table::Contacts => &["firstname", "lastname"],
            Table::Opportunities => &[],
        }
    }
    /// Columns the other user writes on the server.
    pub fn server_columns(self) -> &'static [&'static str] {
        match self {
            Table::Accounts => &["name", "telephone1", "numberofemployees", "address1_city"],
            Table::Contacts => &["firstname", "lastname", "emailaddress1"],
            Table::Opportunities => &["name", "estimatedvalue"],
        }
    }
    pub fn is_integer(column: &str) -> bool {
        matches!(column, "numberofemployees" | "estimatedvalue")
    }
}

/// Two offline profiles; switching between them adds and drops columns
/// (a re-baseline of the table that gained one) and a whole table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProfileKind {
    /// accounts (name, telephone1, numberofemployees), contacts
    /// (firstname, lastname, parentcustomerid).
    Narrow,
    /// Narrow + accounts.address1_city, contacts.emailaddress1, and
    /// opportunities (name, estimatedvalue).
    Wide,
}

impl ProfileKind {
    pub fn tables(self) -> Vec<(Table, Vec<&'static str>)> {
        match self {
            ProfileKind::Narrow => vec![
                (
                    Table::Accounts,
                    vec!["name", "telephone1", "numberofemployees"],
                ),
                (
                    Table::Contacts,
                    vec!["firstname", "lastname", "parentcustomerid"],
                ),
            ],
            ProfileKind::Wide => Table::ALL
                .iter()
                .map(|t| (*t, t.columns().to_vec()))
                .collect(),
        }
    }
    pub fn json(self) -> String {
        let tables: Vec<serde_json::Value> = self
            .tables()
            .into_iter()
            .map(|(t, cols)| serde_json::json!({"name": t.set(), "columns": cols, "rows": "all"}))
            .collect();
        serde_json::json!({ "tables": tables }).to_string()
    }
    pub fn other(self) -> ProfileKind {
        match self {
            ProfileKind::Narrow => ProfileKind::Wide,
            ProfileKind::Wide => ProfileKind::Narrow,
        }
    }
}

/// A cell value written by either side.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    Text(String),
    Int(i64),
}

impl Val {
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Val::Text(s) => serde_json::Value::String(s.clone()),
            Val::Int(i) => serde_json::Value::from(*i),
        }
    }
}

pub type Values = Vec<(&'static str, Val)>;

/// Which existing row an edit goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Any candidate row of the table.
    Any(u32),
    /// A row the other side edited this round (the same moment): falls
    /// back to `Any` when there is none in that table.
    Contested(u32),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    Create(Values),
    Update(Target, Values),
    Delete(Target),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Op {
    pub table: Table,
    pub edit: Edit,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Sync,
    Upload { batch: u32 },
}

/// A fault the emulator injects, switched on at some moment of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fault {
    /// Connections dropped for `for_ms`.
    RefuseConnections { for_ms: u64 },
    /// The next `count` requests answer 500.
    Fail500 { count: u32 },
    /// The next `count` requests answer 429 with `Retry-After: 1`.
    Throttle429 { count: u32 },
    /// The next page is cut mid-body after `rows` rows.
    CutBody { rows: usize },
    /// Every answer delayed by `ms`.
    Latency { ms: u64 },
    /// Every delta token issued so far expires.
    ExpireDeltaTokens,
    /// The client's token answers 401 for `for_ms`, then works again.
    RevokeToken { for_ms: u64 },
}

impl Fault {
    /// Whether the fault may make a run give up (the others only slow it
    /// down or make it re-baseline: a run with only those must succeed).
    pub fn may_fail_a_run(&self) -> bool {
        !matches!(self, Fault::Latency { .. } | Fault::ExpireDeltaTokens)
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Fault::RefuseConnections { .. } => "refused_connections",
            Fault::Fail500 { .. } => "http_500",
            Fault::Throttle429 { .. } => "http_429_retry_after",
            Fault::CutBody { .. } => "cut_body",
            Fault::Latency { .. } => "latency",
            Fault::ExpireDeltaTokens => "expired_delta_tokens",
            Fault::RevokeToken { .. } => "revoked_token",
        }
    }
}

/// One run of the `mooring` process, with what happens around it.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub command: Command,
    /// (ms after the start, fault).
    pub faults: Vec<(u64, Fault)>,
    /// (ms after the start, edit by the other user while the process runs).
    pub server: Vec<(u64, Op)>,
    /// SIGKILL this many ms after the start (if still running).
    pub kill_at_ms: Option<u64>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Local writes through the core API between process runs.
    Local(Vec<Op>),
    /// Edits by the other user between process runs.
    Server(Vec<Op>),
    /// The next runs use the other profile.
    Profile(ProfileKind),
    Run(Run),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    pub seed: u64,
    pub page_size: u32,
    pub seed_rows: usize,
    pub steps: Vec<Step>,
}

/// Builds the schedule of one trial from its seed.
pub fn generate(seed: u64) -> Schedule {
    let mut g = Gen {
        rng: fastrand::Rng::with_seed(seed),
        n: 0,
    };
    let page_size = [3, 7, 25, 500][g.rng.usize(..4)];
    let seed_rows = g.rng.usize(10..=60);
    let mut steps = vec![Step::Run(g.run(Command::Sync))];
    let mut profile = ProfileKind::Narrow;
    for _ in 0..g.rng.usize(4..=9) {
        if g.rng.f64() < 0.15 {
            profile = profile.other();
            steps.push(Step::Profile(profile));
        }
        let local = g.rng.f64() < 0.8;
        let server = g.rng.f64() < 0.7;
        let local_first = g.rng.bool();
        let mut round = Vec::new();
        if local {
            let n = g.rng.usize(1..=8);
            round.push(Step::Local((0..n).map(|_| g.op(true)).collect()));
        }
        if server {
            let n = g.rng.usize(1..=5);
            let s = Step::Server((0..n).map(|_| g.op(false)).collect());
            if local_first {
                round.push(s);
            } else {
                round.insert(0, s);
            }
        }
        steps.extend(round);
        let command = if g.rng.f64() < 0.5 {
            Command::Sync
        } else {
            Command::Upload {
                batch: [1, 2, 5, 100][g.rng.usize(..4)],
            }
        };
        steps.push(Step::Run(g.run(command)));
    }
    Schedule {
        seed,
        page_size,
        seed_rows,
        steps,
    }
}

struct Gen {
    rng: fastrand::Rng,
    /// Makes every written text unique within the trial.
    n: u32,
}

impl Gen {
    fn run(&mut self, command: Command) -> Run {
        let mut faults = Vec::new();
        for _ in 0..self.rng.usize(0..=2) {
            let at = self.at();
            let f = match self.rng.usize(0..7) {
                0 => Fault::RefuseConnections {
                    for_ms: self.rng.u64(100..=1_500),
                },
                1 => Fault::Fail500 {
                    count: self.rng.u32(1..=3),
                },
                2 => Fault::Throttle429 {
                    count: self.rng.u32(1..=2),
                },
                3 => Fault::CutBody {
                    rows: self.rng.usize(0..=3),
                },
                4 => Fault::Latency {
                    ms: self.rng.u64(5..=60),
                },
                5 => Fault::ExpireDeltaTokens,
                _ => Fault::RevokeToken {
                    for_ms: self.rng.u64(50..=800),
                },
            };
            faults.push((at, f));
        }
        faults.sort();
        let mut server: Vec<(u64, Op)> = (0..self.rng.usize(0..=2))
            .map(|_| (self.at(), self.op(false)))
            .collect();
        server.sort_by_key(|(at, _)| *at);
        // A run takes 30 ms to 2 s (most under 150 ms without faults): most
        // kills land early, some late.
        let kill_at_ms = (self.rng.f64() < 0.4).then(|| match self.rng.usize(0..4) {
            0..=2 => self.rng.u64(0..=100),
            _ => self.rng.u64(100..=1_000),
        });
        Run {
            command,
            faults,
            server,
            kill_at_ms,
        }
    }

    /// A moment of a run: most faults land early, while there is work.
    fn at(&mut self) -> u64 {
        if self.rng.bool() {
            0
        } else {
            self.rng.u64(0..=200)
        }
    }

    fn op(&mut self, local: bool) -> Op {
        let table = if local {
            [Table::Accounts, Table::Contacts][self.rng.usize(..2)]
        } else {
            Table::ALL[self.rng.usize(..3)]
        };
        let target = if self.rng.f64() < 0.5 {
            Target::Contested(self.rng.u32(..))
        } else {
            Target::Any(self.rng.u32(..))
        };
        let edit = match self.rng.usize(0..10) {
            0..=2 => Edit::Create(self.values(table, local, true)),
            3..=7 => Edit::Update(target, self.values(table, local, false)),
            _ => Edit::Delete(target),
        };
        Op { table, edit }
    }

    fn values(&mut self, table: Table, local: bool, all: bool) -> Values {
        let cols = if local {
            table.local_columns()
        } else {
            table.server_columns()
        };
        let mut out = Vec::new();
        for c in cols {
            if all || self.rng.f64() < 0.5 {
                out.push((*c, self.val(c, local)));
            }
        }
        if out.is_empty() {
            let c = cols[self.rng.usize(..cols.len())];
            out.push((c, self.val(c, local)));
        }
        out
    }

    fn val(&mut self, column: &str, local: bool) -> Val {
        self.n += 1;
        if Table::is_integer(column) {
            Val::Int(i64::from(self.n) * 10 + i64::from(local))
        } else {
            Val::Text(format!("{}{}", if local { "L" } else { "S" }, self.n))
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let vals = |v: &Values| {
            v.iter()
                .map(|(c, x)| match x {
                    Val::Text(s) => format!("{c}={s}"),
                    Val::Int(i) => format!("{c}={i}"),
                })
                .collect::<Vec<_>>()
                .join(",")
        };
        let t = self.table.set();
        match &self.edit {
            Edit::Create(v) => write!(f, "create {t} {{{}}}", vals(v)),
            Edit::Update(to, v) => write!(f, "update {t}[{to:?}] {{{}}}", vals(v)),
            Edit::Delete(to) => write!(f, "delete {t}[{to:?}]"),
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "schedule seed={} page_size={} seed_rows={}",
            self.seed, self.page_size, self.seed_rows
        )?;
        for (i, s) in self.steps.iter().enumerate() {
            match s {
                Step::Local(ops) => {
                    let ops: Vec<String> = ops.iter().map(Op::to_string).collect();
                    writeln!(f, "  {i:2} local: {}", ops.join("; "))?;
                }
                Step::Server(ops) => {
                    let ops: Vec<String> = ops.iter().map(Op::to_string).collect();
                    writeln!(f, "  {i:2} server: {}", ops.join("; "))?;
                }
                Step::Profile(p) => writeln!(f, "  {i:2} profile -> {p:?}")?,
                Step::Run(r) => {
                    let faults: Vec<String> = r
                        .faults
                        .iter()
                        .map(|(at, x)| format!("{x:?}@{at}ms"))
                        .collect();
                    let server: Vec<String> = r
                        .server
                        .iter()
                        .map(|(at, o)| format!("{o}@{at}ms"))
                        .collect();
                    writeln!(
                        f,
                        "  {i:2} run {:?} faults=[{}] server=[{}] kill={}",
                        r.command,
                        faults.join(", "),
                        server.join("; "),
                        r.kill_at_ms
                            .map(|k| format!("{k}ms"))
                            .unwrap_or_else(|| "-".into())
                    )?;
                }
            }
        }
        Ok(())
    }
}
