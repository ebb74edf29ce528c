//! `presence-server [--config PATH]`: parse args, load config, serve until SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use presence_core::Config;

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
    match presence_core::cli::start(args.config.as_deref(), |_| Ok(())) {
        Ok(config) => {
            presence_core::cli::finish("presence-server", serve(config).map_err(Into::into))
        }
        Err(code) => code,
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
