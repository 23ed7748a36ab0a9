//! The report as plain text: short sections, one fact per line, times in
//! UTC (RFC 3339), so it reads well in a support ticket or an email.

use std::fmt::Write as _;

use super::Report;

fn when(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| ms.to_string())
}

fn opt_when(ms: Option<i64>) -> String {
    ms.map(when).unwrap_or_else(|| "never".into())
}

pub(super) fn render(r: &Report) -> String {
    let mut s = String::new();
    let v = &r.versions;
    let _ = writeln!(s, "Mooring diagnostics, {}", when(r.generated_at_ms));
    let _ = writeln!(
        s,
        "mooring {} · schema {} · SQLite {} · {} {}",
        v.mooring, v.schema, v.sqlite, v.os, v.arch
    );
    let d = &r.database;
    let _ = writeln!(
        s,
        "\n## Database\n{}: {} bytes (+{} in the WAL), {}; integrity: {}",
        d.file,
        d.size_bytes,
        d.wal_bytes,
        if d.encrypted {
            "encrypted"
        } else {
            "not encrypted"
        },
        d.integrity
    );
    if let Some(st) = &r.status {
        let _ = writeln!(
            s,
            "\n## Status\n{} ({}); {}; {} pending, {} sync errors{}",
            st.icon,
            st.message_key,
            st.connectivity,
            st.pending_changes,
            st.sync_errors,
            if st.warnings.is_empty() {
                String::new()
            } else {
                format!("; warnings: {}", st.warnings.join(", "))
            }
        );
    }
    let _ = writeln!(s, "\n## Profile");
    match &r.profile {
        None => {
            let _ = writeln!(s, "(none yet: the mirror never connected)");
        }
        Some(tables) => {
            for t in tables {
                let _ = writeln!(
                    s,
                    "{}: rows {}; every {} min; columns {}",
                    t.name,
                    t.rows,
                    t.interval_minutes,
                    t.columns.join(", ")
                );
            }
        }
    }
    let _ = writeln!(s, "\n## Tables");
    for t in &r.tables {
        let _ = writeln!(
            s,
            "{}: {}, {} rows{}; last synced {}{}{}",
            t.name,
            t.phase,
            t.rows,
            t.rows_total.map(|n| format!(" of {n}")).unwrap_or_default(),
            opt_when(t.last_synced_ms),
            if t.interrupted {
                "; interrupted page to resume"
            } else {
                ""
            },
            if t.change_tracked {
                "; change tracked"
            } else {
                ""
            },
        );
    }
    let o = &r.outbox;
    let _ = writeln!(
        s,
        "\n## Outbox\n{} pending ({} creates, {} updates, {} deletes), {} sent without an answer yet; oldest {}",
        o.pending,
        o.creates,
        o.updates,
        o.deletes,
        o.in_flight,
        o.oldest_pending_age_secs
            .map(|a| format!("{a} s old"))
            .unwrap_or_else(|| "none".into())
    );
    let _ = writeln!(s, "\n## Sync errors ({})", r.sync_errors.len());
    for e in &r.sync_errors {
        let _ = writeln!(
            s,
            "#{} {} {} {}: HTTP {} {}",
            e.id,
            when(e.at_ms),
            e.action,
            e.table,
            e.status,
            e.code
        );
    }
    if !r.runs.is_empty() {
        let _ = writeln!(s, "\n## Sync runs");
        for run in &r.runs {
            let _ = writeln!(
                s,
                "{} {}: {} ms, {} requests, {}",
                when(run.started_ms),
                run.kind,
                run.duration_ms,
                run.requests,
                run.outcome
            );
        }
    }
    if !r.transitions.is_empty() {
        let _ = writeln!(s, "\n## Status changes");
        for t in &r.transitions {
            let _ = writeln!(s, "{} {} ({})", when(t.at_ms), t.icon, t.message_key);
        }
    }
    let _ = writeln!(s, "\n## Log ({} records)", r.log.len());
    for l in &r.log {
        let _ = writeln!(
            s,
            "{} {} {}: {}",
            when(l.at_ms),
            l.level,
            l.target,
            l.message
        );
    }
    s
}
