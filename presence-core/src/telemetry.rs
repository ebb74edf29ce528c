//! Logging setup shared by both binaries: `RUST_LOG` filters, `log.format` picks
//! human text or one JSON object per line for log shippers.
//!
//! Logs go to standard error, like the fatal error that may end them, so the two
//! arrive in order in one stream (a terminal, a file, the journal) and standard
//! output stays free. Colour only when standard error is a terminal and `NO_COLOR`
//! is not set (<https://no-color.org>): escape codes in a file or the journal are
//! noise.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber. Later calls (tests that start several servers in
/// one process) are no-ops.
pub fn init(format: LogFormat) {
    let (filter, bad_filter) = match EnvFilter::try_from_default_env() {
        Ok(filter) => (filter, None),
        Err(error) => (
            EnvFilter::new("info"),
            std::env::var("RUST_LOG")
                .ok()
                .map(|value| (value, error.to_string())),
        ),
    };
    let colour = wants_colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour && format == LogFormat::Text);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    if let Some((value, error)) = bad_filter {
        tracing::warn!("RUST_LOG={value:?} is not a log filter ({error}); logging at info");
    }
}

/// Colour on a terminal, unless `NO_COLOR` holds anything (its rule: present and
/// not empty).
fn wants_colour(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(|value| value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(wants_colour(true, None));
        assert!(wants_colour(true, Some("".as_ref())));
        assert!(!wants_colour(true, Some("1".as_ref())));
        assert!(!wants_colour(false, None));
    }
}
