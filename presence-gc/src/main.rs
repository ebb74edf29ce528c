//! `presence-gc [--config PATH]`: parse args, load config, collect until SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use presence_core::Config;

/// Removes presence sessions whose keys expired, and reconciles the reader sets.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Configuration file; without it, ./config.toml is read if present.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match presence_core::cli::start(args.config.as_deref(), Config::require_redis) {
        Ok(config) => {
            presence_core::cli::finish("presence-gc", collect(config).map_err(Into::into))
        }
        Err(code) => code,
    }
}

#[tokio::main]
async fn collect(config: Config) -> anyhow::Result<()> {
    presence_gc::run(config, presence_core::shutdown::signal()).await?;
    Ok(())
}
