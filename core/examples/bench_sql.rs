//! SQL reads benchmark: a mirror of N accounts and N contacts synced from
//! the in-process emulator, then the median time of a join with GROUP BY,
//! of a point read through `sql` (prepared under the authorizer every
//! time) against the typed `get`, and of a SQL watch over the join: from a
//! local write to the callback with the new result. Prints one line each.
//!
//! cargo run --release -p mooring-core --example bench_sql -- [ROWS] [REPEATS]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mooring_core::remote::{Remote, RemoteConfig, StaticToken};
use mooring_core::{OutboxConfig, Profile, Progress, Secret, Store, SyncEngine, Value};

const TOKEN: &str = "bench-sql";
const JOIN: &str = "SELECT a.name, count(*) AS contacts FROM accounts a \
     JOIN contacts c ON c.parentcustomerid = a.accountid WHERE a.statecode = ? \
     GROUP BY a.accountid ORDER BY contacts DESC, a.name LIMIT 20";

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let rows: usize = args
        .get(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(20_000);
    let repeats: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(20);
    let server = mooring_devserver::start(mooring_devserver::Config {
        seed_rows: rows,
        seed_tables: vec!["accounts".into(), "contacts".into()],
        token: TOKEN.into(),
        ..Default::default()
    })
    .await?;
    let dir = std::env::temp_dir().join(format!("mooring-bench-sql-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let remote = Remote::new(
        RemoteConfig::new(server.root_url()),
        Arc::new(StaticToken(Secret::new(TOKEN))),
    )?;
    let profile = Profile::from_json(
        r#"{"tables":[{"name":"accounts","columns":["name","statecode"],"rows":"all"},
            {"name":"contacts","columns":["lastname","parentcustomerid"],"rows":"all"}]}"#,
    )?;
    let store = Store::open(dir.join("mirror.db"))?;
    let (engine, _) = SyncEngine::prepare(remote, store.clone(), &profile).await?;
    let quiet: mooring_core::ProgressFn = Arc::new(|_: &Progress| {});
    engine.sync(quiet).await?;

    let active = [Value::Integer(0)];
    let mut join = Vec::new();
    for _ in 0..repeats {
        let t = Instant::now();
        let r = store.sql(JOIN, &active)?;
        join.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(!r.rows.is_empty());
    }
    let ids = store.sql("SELECT accountid FROM accounts LIMIT 200", &[])?;
    let ids: Vec<String> = ids
        .rows
        .iter()
        .filter_map(|r| match &r[0] {
            Value::Text(s) => Some(s.clone()),
            _ => None,
        })
        .collect();
    let (mut by_sql, mut by_get) = (Vec::new(), Vec::new());
    for id in &ids {
        let t = Instant::now();
        store.sql(
            "SELECT accountid, name, statecode FROM accounts WHERE accountid = ?",
            &[Value::Text(id.clone())],
        )?;
        by_sql.push(t.elapsed().as_secs_f64() * 1e6);
        let t = Instant::now();
        store.get("accounts", id)?;
        by_get.push(t.elapsed().as_secs_f64() * 1e6);
    }

    // The watch: a contact moved to the first account of the join, then
    // the time until the callback has a result with it.
    let seen: Arc<Mutex<Option<Instant>>> = Arc::default();
    let s2 = seen.clone();
    let _watch = store.watch_sql(JOIN, active.to_vec(), move |_| {
        if let Ok(mut s) = s2.lock() {
            *s = Some(Instant::now());
        }
    })?;
    let outbox = engine.outbox(OutboxConfig::default());
    let contacts = store.sql("SELECT contactid FROM contacts LIMIT 50", &[])?;
    let target = match &store.sql(JOIN, &active)?.rows[0][0] {
        Value::Text(name) => store.sql(
            "SELECT accountid FROM accounts WHERE name = ?",
            &[Value::Text(name.clone())],
        )?,
        _ => return Err("no account name".into()),
    };
    let Value::Text(target) = target.rows[0][0].clone() else {
        return Err("no account id".into());
    };
    let mut watch = Vec::new();
    for row in contacts.rows.iter().take(repeats) {
        let Value::Text(id) = &row[0] else { continue };
        *seen.lock().map_err(|_| "lock")? = None;
        let t = Instant::now();
        let mut values = serde_json::Map::new();
        values.insert(
            "parentcustomerid".into(),
            serde_json::Value::from(target.clone()),
        );
        outbox.update("contacts", id, &values)?;
        let deadline = Instant::now() + Duration::from_secs(5);
        let fired = loop {
            if let Some(at) = *seen.lock().map_err(|_| "lock")? {
                break Some(at);
            }
            if Instant::now() > deadline {
                break None;
            }
            std::thread::sleep(Duration::from_micros(200));
        };
        if let Some(at) = fired {
            watch.push((at - t).as_secs_f64() * 1000.0);
        }
        // Past the 50 ms throttle, so each write is measured alone.
        std::thread::sleep(Duration::from_millis(60));
    }
    println!(
        "sql rows={rows} join_group_by_median_ms={:.2} point_read_sql_median_us={:.0} point_read_get_median_us={:.0} watch_write_to_callback_median_ms={:.2} (n={})",
        median(join),
        median(by_sql),
        median(by_get),
        if watch.is_empty() {
            f64::NAN
        } else {
            median(watch.clone())
        },
        watch.len()
    );
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
