//! Profile generation time and peak memory for one app:
//! `cargo run --release --example bench_profile -- PATH [RUNS]`
//! (scripts/bench-canvas runs it on the largest corpus app). Prints the
//! median and slowest of RUNS runs (read + parse + analyse, from the files
//! on disk each time) and the process's peak resident memory.

fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: bench_profile PATH [RUNS]");
        return std::process::ExitCode::from(2);
    };
    let runs: usize = args
        .next()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20)
        .max(1);
    let before = peak_rss_kb().unwrap_or(0);
    let mut times = Vec::new();
    let mut summary = String::new();
    for _ in 0..runs {
        let t = std::time::Instant::now();
        match mooring_canvas::profile_from_app(std::path::Path::new(&path), None) {
            Ok(g) => {
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                let cols: usize = g.profile.tables.iter().map(|t| t.columns.len()).sum();
                summary = format!("tables={} columns={cols}", g.profile.tables.len());
            }
            Err(e) => {
                eprintln!("error: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "app={path} runs={runs} {summary} median_ms={:.2} max_ms={:.2} peak_rss_kb={} (before the first run: {before})",
        times[times.len() / 2],
        times[times.len() - 1],
        peak_rss_kb().unwrap_or(0)
    );
    std::process::ExitCode::SUCCESS
}
