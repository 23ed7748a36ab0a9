//! `init_logging`: routes core's `tracing` events to logcat on Android
//! (tracing's `log` bridge + android_logger), to os_log on Apple platforms
//! (tracing-oslog), to stderr elsewhere. The first call wins; later calls
//! are no-ops (a process has one logger). Other crates (HTTP, TLS) stay at
//! warn so "debug" means Mooring's own events. Every platform also feeds
//! the diagnostics report's log ring (`mooring_core::diagnostics`).

use std::sync::OnceLock;

use crate::error::MooringError;

static INSTALLED: OnceLock<()> = OnceLock::new();

/// `level`: "error", "warn", "info", "debug", "trace" or "off".
#[uniffi::export]
pub fn init_logging(level: String) -> Result<(), MooringError> {
    let level = level.trim().to_ascii_lowercase();
    let max = match level.as_str() {
        "off" => tracing::level_filters::LevelFilter::OFF,
        "error" => tracing::level_filters::LevelFilter::ERROR,
        "warn" => tracing::level_filters::LevelFilter::WARN,
        "info" => tracing::level_filters::LevelFilter::INFO,
        "debug" => tracing::level_filters::LevelFilter::DEBUG,
        "trace" => tracing::level_filters::LevelFilter::TRACE,
        _ => {
            return Err(MooringError::Validation {
                field: Some("level".into()),
                reason: "level must be one of off, error, warn, info, debug, trace".into(),
            });
        }
    };
    INSTALLED.get_or_init(|| install(&level, max));
    Ok(())
}

#[cfg(not(target_os = "android"))]
fn filter(level: &str) -> tracing_subscriber::EnvFilter {
    let others = if level == "off" { "off" } else { "warn" };
    tracing_subscriber::EnvFilter::new(format!("{others},mooring_core={level},mooring_ffi={level}"))
}

#[cfg(target_os = "android")]
fn install(_level: &str, max: tracing::level_filters::LevelFilter) {
    // No tracing subscriber: tracing's "log" feature turns each event into
    // a `log` record, which android_logger writes to logcat.
    let max = match max.into_level() {
        None => log::LevelFilter::Off,
        Some(tracing::Level::ERROR) => log::LevelFilter::Error,
        Some(tracing::Level::WARN) => log::LevelFilter::Warn,
        Some(tracing::Level::INFO) => log::LevelFilter::Info,
        Some(tracing::Level::DEBUG) => log::LevelFilter::Debug,
        Some(tracing::Level::TRACE) => log::LevelFilter::Trace,
    };
    android_logger::init_once(
        android_logger::Config::default()
            .with_max_level(max)
            .with_tag("mooring"),
    );
    // The diagnostics ring is a tracing layer; tracing's "log-always"
    // feature keeps sending every event to logcat with a subscriber set.
    use tracing_subscriber::prelude::*;
    let _ = tracing_subscriber::registry()
        .with(mooring_core::diagnostics::log_layer())
        .try_init();
}

#[cfg(target_vendor = "apple")]
fn install(level: &str, _max: tracing::level_filters::LevelFilter) {
    use tracing_subscriber::prelude::*;
    let _ = tracing_subscriber::registry()
        .with(filter(level))
        .with(tracing_oslog::OsLogger::new("dev.mooring", "default"))
        .with(mooring_core::diagnostics::log_layer())
        .try_init();
}

#[cfg(not(any(target_os = "android", target_vendor = "apple")))]
fn install(level: &str, _max: tracing::level_filters::LevelFilter) {
    use tracing_subscriber::prelude::*;
    let _ = tracing_subscriber::registry()
        .with(filter(level))
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(mooring_core::diagnostics::log_layer())
        .try_init();
}
