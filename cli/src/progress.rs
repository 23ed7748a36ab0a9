//! Drawing sync progress: indicatif bars (rows, tables, rate, ETA) on a
//! terminal, plain lines (at most one a second, plus table boundaries)
//! otherwise. The numbers come from the engine's events, never invented.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use mooring_core::{Progress, ProgressFn, SyncKind};

pub struct View {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    bars: Option<(MultiProgress, ProgressBar, ProgressBar)>,
    last_line: Option<Instant>,
    last_table: Option<String>,
}

fn fmt_eta(p: &Progress) -> String {
    match p.eta {
        Some(d) if !p.finished => format!("{}s", d.as_secs()),
        Some(_) => "0s".into(),
        None => "?".into(),
    }
}

fn phase(p: &Progress) -> &'static str {
    match p.phase {
        SyncKind::Initial => "initial",
        SyncKind::Delta => "delta",
    }
}

impl View {
    pub fn new(plain: bool) -> View {
        let bars = (!plain && std::io::stderr().is_terminal()).then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{prefix:>8} [{bar:40}] {pos}/{len} {msg}")
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
        View {
            inner: Arc::new(Mutex::new(Inner {
                bars,
                last_line: None,
                last_table: None,
            })),
        }
    }

    pub fn callback(&self) -> ProgressFn {
        let inner = self.inner.clone();
        Arc::new(move |p: &Progress| {
            let Ok(mut v) = inner.lock() else { return };
            if let Some((_, rows, tables)) = &v.bars {
                rows.set_length(p.rows_total);
                rows.set_position(p.rows_done);
                rows.set_message(format!(
                    "{} {:.0} rows/s, {} KiB, ETA {}",
                    phase(p),
                    p.rows_per_sec,
                    p.bytes / 1024,
                    fmt_eta(p)
                ));
                tables.set_length(p.tables_total as u64);
                tables.set_position(p.tables_done as u64);
                tables.set_message(p.table.clone().unwrap_or_default());
                return;
            }
            let table_changed = p.table.is_some() && p.table != v.last_table;
            let due = v
                .last_line
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(1));
            if table_changed || due || p.finished {
                eprintln!(
                    "{} {} tables {}/{} rows {}/{} ({:.0}%) {:.0} rows/s eta {}",
                    phase(p),
                    p.table.as_deref().unwrap_or("-"),
                    p.tables_done,
                    p.tables_total,
                    p.rows_done,
                    p.rows_total,
                    p.fraction() * 100.0,
                    p.rows_per_sec,
                    fmt_eta(p)
                );
                v.last_line = Some(Instant::now());
            }
            if p.table.is_some() {
                v.last_table = p.table.clone();
            }
        })
    }

    pub fn finish(&self) {
        if let Ok(v) = self.inner.lock() {
            if let Some((_, rows, tables)) = &v.bars {
                rows.finish();
                tables.finish();
            }
        }
    }
}
