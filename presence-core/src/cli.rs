//! What both binaries do around their real work: load the configuration (or stop
//! with its error and exit code 2), set up logging, and report how the daemon ended.
//!
//! Every fatal error is printed exactly once, to standard error.

use std::path::Path;
use std::process::ExitCode;

use crate::config::{Config, ConfigError};
use crate::telemetry;

/// The exit code for a configuration that cannot be used.
pub const CONFIG_ERROR: u8 = 2;

/// The configuration, checked by `require` as well (what one binary alone needs),
/// with logging initialised; or the exit code to stop with, after the error has
/// been printed.
pub fn start(
    config_path: Option<&Path>,
    require: impl FnOnce(&Config) -> Result<(), ConfigError>,
) -> Result<Config, ExitCode> {
    match Config::load(config_path).and_then(|config| require(&config).map(|()| config)) {
        Ok(config) => {
            telemetry::init(config.log.format);
            Ok(config)
        }
        Err(error) => {
            // Logging is not set up yet (its format is part of the config).
            eprintln!("{error}");
            Err(ExitCode::from(CONFIG_ERROR))
        }
    }
}

/// Why a daemon stopped: any error, with its chain of causes.
pub type Failure = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The exit code for how the daemon ended. A failure is printed once: as an error
/// log line when error logs are on (so it reaches log shippers in the log's
/// format), or plainly to standard error when `RUST_LOG` turned them off.
pub fn finish(name: &str, result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let reason = with_causes(&*error);
            if tracing::enabled!(tracing::Level::ERROR) {
                tracing::error!("{name} stopped: {reason}");
            } else {
                eprintln!("{name}: {reason}");
            }
            ExitCode::FAILURE
        }
    }
}

/// The error and each cause that adds something: our error types often repeat
/// their source in their own message (`redis: {0}`), and the same words four
/// times over help no one.
fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !text.contains(&said) {
            text = format!("{text}: {said}");
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("redis: {0}")]
    struct Wrapper(#[from] std::io::Error);

    #[derive(Debug, thiserror::Error)]
    #[error("cannot listen on 127.0.0.1:3000")]
    struct Context(#[source] std::io::Error);

    #[test]
    fn causes_are_added_once() {
        let refused = || std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(with_causes(&Wrapper(refused())), "redis: refused");
        assert_eq!(
            with_causes(&Context(refused())),
            "cannot listen on 127.0.0.1:3000: refused"
        );
    }
}
