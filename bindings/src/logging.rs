//! `init_logging`: routes core's `tracing` events to logcat on Android
//! (tracing's `log` bridge + android_logger), to os_log on Apple platforms
//! (tracing-oslog), to stderr elsewhere. The first call wins; later calls
//! are no-ops (a process has one logger). Other crates (HTTP, TLS) stay at
//! warn so "debug" means Mooring's own events. Every platform also feeds
//! the diagnostics report's log ring (`mooring_core::diagnostics`).
//!
//! `set_log_sink`: the host's own logger (Timber, Kermit, swift-log)
//! receives the same records instead of the platform's, until
//! `clear_log_sink`. The sink's layer is in the subscriber from the start
//! and does nothing without a sink, so it can come and go at any time.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

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
    INSTALLED.get_or_init(|| {
        MAX_LEVEL.store(max.into_level().map(rank).unwrap_or(0), Ordering::Relaxed);
        install(&level, max)
    });
    Ok(())
}
// --- the host's own logger --------------------------------------------------

/// A log record for the host's logger. Mooring's records never carry a
/// token or a row value (errors are logged by their summary).
#[derive(Clone, Debug, PartialEq, Eq, uniffi::Record)]
pub struct LogRecord {
    pub level: LogLevel,
    /// The Rust module that logged it (`mooring_core::sync`, `reqwest`...).
    pub target: String,
    /// The message, then its fields as `name=value`.
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, uniffi::Enum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// Implemented by the host to route Mooring's logs to its own logger
/// (Timber, Kermit, swift-log). Called on Mooring's threads: return
/// quickly. What it throws is dropped.
#[uniffi::export(foreign)]
pub trait LogSink: Send + Sync {
    fn on_record(&self, record: LogRecord);
}

static SINK: RwLock<Option<Arc<dyn LogSink>>> = RwLock::new(None);
/// The most verbose level `init_logging` asked for (a `LogLevel` as u8;
/// 0 = off), which the sink honours on every platform.
static MAX_LEVEL: AtomicU8 = AtomicU8::new(3);

fn rank(l: tracing::Level) -> u8 {
    match l {
        tracing::Level::ERROR => 1,
        tracing::Level::WARN => 2,
        tracing::Level::INFO => 3,
        tracing::Level::DEBUG => 4,
        tracing::Level::TRACE => 5,
    }
}

fn sink() -> Option<Arc<dyn LogSink>> {
    SINK.read().ok().and_then(|s| s.clone())
}

fn sink_set() -> bool {
    SINK.read().map(|s| s.is_some()).unwrap_or(false)
}

/// Sends every record at `init_logging`'s level (Mooring's own; other
/// crates at warn at most) to `sink` instead of logcat/os_log/stderr, until
/// `clear_log_sink`. Logging starts at "info" if `init_logging` was not
/// called. The diagnostics report's log ring is fed either way.
#[uniffi::export]
pub fn set_log_sink(sink: Arc<dyn LogSink>) {
    INSTALLED.get_or_init(|| install("info", tracing::level_filters::LevelFilter::INFO));
    if let Ok(mut s) = SINK.write() {
        *s = Some(sink);
    }
    platform_default(false);
}

/// Back to the platform's logger.
#[uniffi::export]
pub fn clear_log_sink() {
    if let Ok(mut s) = SINK.write() {
        *s = None;
    }
    platform_default(true);
}

/// On Android the records reach logcat through the `log` crate, outside
/// the subscriber: its max level switches that path off while a sink is
/// set. Elsewhere the default layer checks `sink_set` itself.
fn platform_default(on: bool) {
    #[cfg(target_os = "android")]
    {
        let max = if on {
            match MAX_LEVEL.load(Ordering::Relaxed) {
                0 => log::LevelFilter::Off,
                1 => log::LevelFilter::Error,
                2 => log::LevelFilter::Warn,
                3 => log::LevelFilter::Info,
                4 => log::LevelFilter::Debug,
                _ => log::LevelFilter::Trace,
            }
        } else {
            log::LevelFilter::Off
        };
        log::set_max_level(max);
    }
    #[cfg(not(target_os = "android"))]
    let _ = on;
}

/// The layer that hands records to the host's sink.
struct SinkLayer;

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for SinkLayer {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let meta = event.metadata();
        let own = meta.target().starts_with("mooring");
        let max = MAX_LEVEL.load(Ordering::Relaxed);
        let limit = if own { max } else { max.min(2) };
        if rank(*meta.level()) > limit {
            return;
        }
        let Some(sink) = sink() else { return };
        let mut text = Text::default();
        event.record(&mut text);
        let record = LogRecord {
            level: match *meta.level() {
                tracing::Level::ERROR => LogLevel::Error,
                tracing::Level::WARN => LogLevel::Warn,
                tracing::Level::INFO => LogLevel::Info,
                tracing::Level::DEBUG => LogLevel::Debug,
                tracing::Level::TRACE => LogLevel::Trace,
            },
            target: meta.target().to_string(),
            message: text.0,
        };
        // A host logger that throws or panics never unwinds into Mooring.
        let _ = catch_unwind(AssertUnwindSafe(|| sink.on_record(record)));
    }
}

/// The message first, then the other fields as `name=value`.
#[derive(Default)]
struct Text(String);

impl tracing::field::Visit for Text {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let rest = std::mem::take(&mut self.0);
            self.0 = format!("{value:?}");
            if !rest.is_empty() {
                self.0.push(' ');
                self.0.push_str(&rest);
            }
        } else {
            if !self.0.is_empty() {
                self.0.push(' ');
            }
            self.0.push_str(&format!("{}={value:?}", field.name()));
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            self.record_debug(field, &value);
        }
    }
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
        .with(SinkLayer)
        .try_init();
}

#[cfg(target_vendor = "apple")]
fn install(level: &str, _max: tracing::level_filters::LevelFilter) {
    use tracing_subscriber::prelude::*;
    let _ = tracing_subscriber::registry()
        .with(filter(level))
        .with(
            tracing_oslog::OsLogger::new("dev.mooring", "default")
                .with_filter(tracing_subscriber::filter::filter_fn(|_| !sink_set())),
        )
        .with(mooring_core::diagnostics::log_layer())
        .with(SinkLayer)
        .try_init();
}

#[cfg(not(any(target_os = "android", target_vendor = "apple")))]
fn install(level: &str, _max: tracing::level_filters::LevelFilter) {
    use tracing_subscriber::prelude::*;
    let _ = tracing_subscriber::registry()
        .with(filter(level))
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(tracing_subscriber::filter::filter_fn(|_| !sink_set())),
        )
        .with(mooring_core::diagnostics::log_layer())
        .with(SinkLayer)
        .try_init();
}
