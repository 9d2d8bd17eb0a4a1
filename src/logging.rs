//! Logs: `tracing` to stderr, text or JSON, filtered like RUST_LOG.
//!
//! Text is coloured only when stderr is a terminal and `NO_COLOR` is unset
//! or empty (<https://no-color.org>): a file, a pipe or the journal gets
//! plain lines. In JSON mode the error that ends the process ([`fatal`]) and
//! a panic are JSON lines too, shaped like the other events, so a log
//! collector reading one object per line never meets a stray text line.

use std::ffi::OsString;
use std::io::{IsTerminal, Write};

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;

/// Install the global subscriber. `filter` overrides RUST_LOG; the default
/// is "info". In JSON mode panics are logged as JSON lines.
pub fn init(format: LogFormat, filter: Option<&str>) {
    let filter = match filter {
        Some(f) => EnvFilter::new(f),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    let ansi = colour(std::io::stderr().is_terminal(), std::env::var_os("NO_COLOR"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .with_ansi(ansi);
    // A second init (tests) keeps the first subscriber.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => {
            std::panic::set_hook(Box::new(|info| {
                let location = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
                let payload = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let mut line = event("panicked", &payload);
                line["location"] = location.into();
                write_line(&line);
            }));
            builder.json().flatten_event(true).try_init()
        }
    };
}

/// Whether text logs are coloured: on a terminal, unless `NO_COLOR` is set
/// to something.
pub fn colour(terminal: bool, no_color: Option<OsString>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

/// Report the error that ends the command on stderr: `error: …` in text
/// mode, one JSON object (level `ERROR`, `message` "fatal error", `error`
/// with its causes) in JSON mode. Written directly, not through the
/// filter, so `--log off` cannot hide why the process failed.
pub fn fatal(format: LogFormat, err: &anyhow::Error) {
    let text = format!("{err:#}");
    match format {
        LogFormat::Text => eprintln!("error: {text}"),
        LogFormat::Json => write_line(&event("fatal error", &text)),
    }
}

/// An event shaped like tracing-subscriber's flattened JSON ones.
fn event(message: &str, error: &str) -> serde_json::Value {
    serde_json::json!({
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "level": "ERROR",
        "message": message,
        "error": error,
    })
}

fn write_line(value: &serde_json::Value) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{value}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, None));
        assert!(colour(true, Some(OsString::new())), "NO_COLOR set but empty does not count");
        assert!(!colour(true, Some(OsString::from("1"))));
        assert!(!colour(false, None), "a file or a pipe");
        assert!(!colour(false, Some(OsString::from("1"))));
    }

    #[test]
    fn a_fatal_event_is_one_json_object_with_the_error() {
        let line = event("fatal error", "cannot open: \"x\"\nsecond line").to_string();
        assert!(!line.contains('\n'), "one line: {line}");
        let back: serde_json::Value = serde_json::from_str(&line).expect("JSON");
        assert_eq!(back["level"], "ERROR");
        assert_eq!(back["error"], "cannot open: \"x\"\nsecond line");
        assert!(back["timestamp"].as_str().is_some_and(|t| t.ends_with('Z')), "{back}");
    }
}
