//! `presence-server [--config PATH]`: parse args, load config, serve until SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use presence_core::{Config, telemetry};

/// Live reader counts for WordPress posts, over Socket.IO and HTTP.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Configuration file; without it, ./config.toml is read if present.
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let config = match Config::load(args.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(config.log.format);
    match serve(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("presence-server: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn serve(config: Config) -> anyhow::Result<()> {
    let address = config.server.listen;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address} (server.listen)"))?;
    presence_server::run(listener, config, presence_core::shutdown::signal()).await?;
    Ok(())
}
