//! presence-server: live reader counts for WordPress posts.
//!
//! Browsers connect with Socket.IO and say `viewing <post-id>`; the server records
//! the session in the store, answers with the post's `viewers` and `views`, and
//! pushes new counts to every reader of the post when they change. The same counts
//! are served over HTTP, next to the embed script and a demo page.

#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

mod fanout;
pub mod http;
mod keepalive;
mod log_throttle;
mod sessions;
mod socket;

use std::future::Future;
use std::time::Duration;

use presence_core::{Config, StoreError};
use thiserror::Error;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::fanout::Fanout;
use crate::http::AppState;
use crate::sessions::Sessions;

#[derive(Debug, Error)]
pub enum ServerError {
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    #[error("serving HTTP failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves on `listener` until `shutdown` resolves, then closes every socket, removes
/// this process's sessions from the store and returns.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let store = presence_core::open_store(&config)?;
    let sessions = Sessions::default();
    let (socket_layer, io) = socket::layer(&config, store.clone(), sessions.clone());
    let app = http::router(AppState {
        store: store.clone(),
        max_batch_ids: config.server.max_batch_ids,
    })
    .layer(socket_layer)
    .layer(http::cors());

    let background = CancellationToken::new();
    let fanout = Fanout::new(store.clone(), io.clone(), sessions.clone(), &config.fanout);
    tokio::spawn(fanout.run(background.child_token()));
    tokio::spawn(keepalive::run(
        store.clone(),
        sessions.clone(),
        config.session_refresh_interval(),
        background.child_token(),
    ));

    let stop_http = CancellationToken::new();
    let server =
        axum::serve(listener, app).with_graceful_shutdown(stop_http.clone().cancelled_owned());
    let address = server.local_addr()?;
    tracing::info!(
        %address,
        store = if config.uses_memory_store() { "memory" } else { "redis" },
        node = %config.node_name(),
        "presence-server listening"
    );
    let serving = tokio::spawn(server.into_future());

    shutdown.await;
    let deadline = Duration::from_secs(config.server.shutdown_timeout_secs);
    tracing::info!(sessions = sessions.len(), "shutting down");
    // Closing the sockets runs their disconnect handlers, which remove the sessions
    // from the store; wait for those before the runtime goes away.
    let drained = tokio::time::timeout(deadline, async {
        io.close().await;
        while !sessions.is_idle() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            left = sessions.len(),
            "shutdown timed out; the rest expire by TTL"
        );
    }
    stop_http.cancel();
    background.cancel();
    match tokio::time::timeout(Duration::from_secs(1), serving).await {
        Ok(Ok(result)) => result?,
        Ok(Err(join_error)) => tracing::error!(%join_error, "HTTP task failed"),
        Err(_) => tracing::debug!("HTTP connections still open at exit"),
    }
    Ok(())
}
