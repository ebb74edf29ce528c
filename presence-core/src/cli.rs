//! What both binaries do before their real work: load the configuration (or stop
//! with its one-line error and exit code 2) and set up logging.

use std::path::Path;
use std::process::ExitCode;

use crate::config::Config;
use crate::telemetry;

/// The configuration, with logging initialised; or the exit code to stop with,
/// after the error has been printed.
pub fn start(config_path: Option<&Path>) -> Result<Config, ExitCode> {
    match Config::load(config_path) {
        Ok(config) => {
            telemetry::init(config.log.format);
            Ok(config)
        }
        Err(error) => {
            eprintln!("{error}");
            Err(ExitCode::from(2))
        }
    }
}

/// The exit code for how the daemon ended; a failure is logged and printed.
pub fn finish<E: std::fmt::Display>(name: &str, result: Result<(), E>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("{name}: {error:#}");
            ExitCode::FAILURE
        }
    }
}
