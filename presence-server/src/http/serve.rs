//! Serving the app on the listener until told to stop.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use presence_core::Config;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument, Span};

/// The HTTP server, running.
pub struct Serving {
    pub address: SocketAddr,
    task: JoinHandle<std::io::Result<()>>,
}

/// Serves `app` on `listener` until `stop` is cancelled.
pub fn serve(
    listener: TcpListener,
    app: Router,
    stop: CancellationToken,
    config: &Config,
    span: &Span,
) -> std::io::Result<Serving> {
    let server = axum::serve(
        listener,
        // Connect info: the per-address connection cap needs the peer address.
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(stop.cancelled_owned());
    let address = server.local_addr()?;
    tracing::info!(
        %address,
        store = if config.uses_memory_store() { "memory" } else { "redis" },
        "presence-server listening"
    );
    let task = tokio::spawn(server.into_future().instrument(span.clone()));
    Ok(Serving { address, task })
}

impl Serving {
    /// Waits up to `within` for the connections still open to end.
    pub async fn finish(self, within: Duration) -> Result<(), crate::ServerError> {
        match tokio::time::timeout(within, self.task).await {
            Ok(Ok(result)) => result?,
            Ok(Err(join_error)) => tracing::error!(%join_error, "HTTP task failed"),
            Err(_) => tracing::debug!("HTTP connections still open at exit"),
        }
        Ok(())
    }
}
