//! Streams a 1,000,000-row table page by page over loopback and prints rows/s
//! and peak memory. Not a timed test: run it by hand.
//!
//!   cargo bench -p mooring-devserver --bench stream [-- ROWS [PAGE_SIZE]]
//!
//! The emulator runs as a child process (the release binary), so its peak RSS
//! (VmHWM) is measured apart from the client's. The client parses every page
//! as JSON (rows skipped, not kept) and follows @odata.nextLink byte for byte;
//! the "raw" pass only counts rows and finds the link at the page's tail, to
//! show the emulator's serving capacity without the client's JSON parsing.

use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::io::AsyncBufReadExt;

#[derive(Deserialize)]
struct Page {
    value: Vec<serde::de::IgnoredAny>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
    #[serde(rename = "@odata.deltaLink")]
    delta_link: Option<String>,
}

const SCHEMA: &str = r#"{"tables": [
  {"logical_name": "account", "entity_set": "accounts", "primary_id": "accountid", "primary_name": "name",
   "columns": [
     {"name": "name", "type": "String", "max_length": 160},
     {"name": "accountnumber", "type": "String", "max_length": 20},
     {"name": "telephone1", "type": "String", "max_length": 50},
     {"name": "address1_city", "type": "String", "max_length": 80},
     {"name": "revenue", "type": "Money"},
     {"name": "numberofemployees", "type": "Integer"},
     {"name": "statecode", "type": "State"},
     {"name": "ownerid", "type": "Owner", "targets": [{"entity": "systemuser", "navigation": "ownerid"}]}
   ]}
]}"#;

fn vm_hwm_kib(pid: Option<u32>) -> u64 {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".to_string(),
    };
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l.to_string())
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// The `@odata.nextLink` value, found near the end of the page.
fn tail_link(body: &[u8]) -> Option<String> {
    let from = body.len().saturating_sub(4096);
    let tail = std::str::from_utf8(&body[from..]).ok()?;
    let i = tail.rfind("\"@odata.nextLink\":\"")?;
    let rest = &tail[i + "\"@odata.nextLink\":\"".len()..];
    Some(rest[..rest.find('"')?].to_string())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let rows: usize = args
        .first()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let page: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5000);
    let dir = std::env::temp_dir().join(format!("mooring-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let schema = dir.join("schema.json");
    std::fs::write(&schema, SCHEMA).expect("write schema");

    let t0 = Instant::now();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_mooring-devserver"))
        .args([
            "--port",
            "0",
            "--token",
            "bench",
            "--seed-rows",
            &rows.to_string(),
        ])
        .arg("--schema")
        .arg(&schema)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the emulator binary");
    let pid = child.id();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let base = tokio::time::timeout(Duration::from_secs(600), lines.next_line())
        .await
        .expect("emulator start timed out")
        .expect("read stdout")
        .expect("base URL line");
    let seeded = t0.elapsed();
    let server_after_seed = vm_hwm_kib(pid);

    let client = reqwest::Client::new();
    for (label, prefer, parse) in [
        ("raw", format!("odata.maxpagesize={page}"), false),
        ("parsed", format!("odata.maxpagesize={page}"), true),
        (
            "track-changes",
            format!("odata.track-changes,odata.maxpagesize={page}"),
            true,
        ),
    ] {
        let t = Instant::now();
        let mut url = format!("{base}accounts");
        let (mut n, mut pages, mut bytes) = (0usize, 0usize, 0usize);
        loop {
            let r = client
                .get(&url)
                .bearer_auth("bench")
                .header("Prefer", &prefer)
                .send()
                .await
                .expect("request");
            assert!(r.status().is_success(), "status {}", r.status());
            let body = r.bytes().await.expect("body");
            bytes += body.len();
            pages += 1;
            let next_link = if parse {
                let p: Page = serde_json::from_slice(&body).expect("page JSON");
                n += p.value.len();
                if p.next_link.is_none() && label == "track-changes" {
                    assert!(p.delta_link.is_some(), "delta link after the last page");
                }
                p.next_link
            } else {
                // Serving capacity: count rows by their `@odata.etag` (the bench
                // schema's values hold no '@'; the page has two more: context and
                // link), take the link from the tail.
                let link = tail_link(&body);
                let ats = body.iter().filter(|&&b| b == b'@').count();
                n += ats - 1 - usize::from(link.is_some());
                link
            };
            match next_link {
                Some(next) => url = next,
                None => break,
            }
        }
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(n, rows, "every row once");
        println!(
            "{label:>13}: {n} rows, {pages} pages of {page}, {:.1} MB in {secs:.2} s = {:.0} rows/s ({:.0} MB/s)",
            bytes as f64 / 1e6,
            n as f64 / secs,
            bytes as f64 / 1e6 / secs
        );
    }
    println!(
        "seed + start: {:.2} s for {rows} rows",
        seeded.as_secs_f64()
    );
    println!(
        "peak RSS (VmHWM): emulator {} MiB after seeding, {} MiB after streaming; client {} MiB",
        server_after_seed / 1024,
        vm_hwm_kib(pid) / 1024,
        vm_hwm_kib(None) / 1024
    );
    let _ = child.kill().await;
    let _ = std::fs::remove_dir_all(&dir);
}
