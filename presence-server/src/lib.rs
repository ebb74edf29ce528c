//! presence-server: live reader counts for WordPress posts.
//!
//! Browsers connect with Socket.IO and say `viewing <post-id>`; the server records
//! the session in the store, answers with the post's `viewers` and `views`, and
//! pushes new counts to every reader of the post when they change. The same counts
//! are served over HTTP, next to the embed script and a demo page.

mod budget;
mod feeds;
mod history;
pub mod http;
mod hub;
mod keepalive;
mod log_throttle;
mod metrics;
mod notices;
mod process;
mod registry;
mod security;
mod session;
mod socket;
mod wire;
mod worker;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use presence_core::{Config, Store, StoreError, systemd};
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::http::AppState;
use crate::hub::Hub;
use crate::process::Process;

/// Sessions removed per store call at shutdown.
const SHUTDOWN_BATCH: usize = 500;

#[derive(Debug, Error)]
pub enum ServerError {
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    #[error("serving HTTP failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves on `listener` until `shutdown` resolves, then stops accepting, removes
/// this process's sessions from the store (one announcement per post, so readers
/// on other servers see one update), closes every socket so clients reconnect
/// elsewhere, and returns.
///
/// The flow: socket handlers record what each socket asks for in `sessions`;
/// `workers` carry it to the store and report to the hub; the hub, hearing the
/// store's announcements too, writes every count to the sockets.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let (to_hub, hub_inbox) = hub::channel();
    let process = Process::open(&config, to_hub)?;
    let (socket_layer, io) = socket::layer(&config, &process);
    let background = CancellationToken::new();
    let state = AppState::new(&config, &process, &background);
    let app = http::app(state, socket_layer, &process.guard);
    // Announcements may have been lost (Redis restarted?): keep-alive checks at once.
    let resynced = Arc::new(Notify::new());
    let (fanout, refresh) = (&config.fanout, config.session_refresh_interval());
    let hub = Hub::new(&process, io.clone(), fanout, hub_inbox, resynced.clone());
    let store = &process.store;
    let tasks = [
        process.spawn(hub.run(background.child_token())),
        process.spawn(keepalive::run(
            &process,
            refresh,
            resynced,
            background.child_token(),
        )),
        process.spawn(notices::run(
            store.clone(),
            io.clone(),
            (&config.notices).into(),
            process.metrics.clone(),
            background.child_token(),
        )),
        process.spawn(history::run(
            store.clone(),
            Arc::new(config.dashboard.clone()),
            background.child_token(),
        )),
    ];
    let stop_http = CancellationToken::new();
    let serving = http::serve(listener, app, &process, &config, stop_http.clone())?;
    process.spawn(announce_ready(
        store.clone(),
        serving.address,
        background.child_token(),
    ));

    shutdown.await;
    systemd::stopping();
    tracing::info!(sessions = process.sessions.len(), "shutting down");
    stop_http.cancel();
    // Stop pushing and refreshing first: nothing may touch the sockets or
    // re-register sessions while they are being removed.
    background.cancel();
    futures_util::future::join_all(tasks).await;
    let within = Duration::from_secs(config.server.shutdown_timeout_secs);
    drain(&process, &io, within).await;
    serving.finish(Duration::from_secs(1)).await
}

/// Removes this process's sessions from the store in one step per batch (one
/// announcement per post), then closes every transport so clients reconnect, with
/// their backoff, to whichever server is left. Bounded by `within`: what is left
/// then expires by TTL and gc reaps it.
async fn drain(process: &Process, io: &socketioxide::SocketIo, within: Duration) {
    let Process {
        store,
        sessions,
        workers,
        ..
    } = process;
    let started = tokio::time::Instant::now();
    let deadline = started + within;
    let removed = tokio::time::timeout_at(deadline, async {
        for batch in sessions.close_all().chunks(SHUTDOWN_BATCH) {
            if let Err(error) = store.leave_many(batch).await {
                tracing::warn!(%error, sessions = batch.len(), "cannot remove sessions; they expire by TTL");
            }
        }
        // Sessions whose worker was busy leave by themselves; wait for them.
        workers.idle().await;
    })
    .await;
    if removed.is_err() {
        tracing::warn!("shutdown timed out; the remaining sessions expire by TTL");
    }
    let removed_after = started.elapsed();
    // A transport close, not a Socket.IO disconnect: clients reconnect by themselves.
    // A client that does not complete the websocket close handshake is not waited
    // for beyond the deadline.
    let _ = tokio::time::timeout_at(deadline, io.close()).await;
    tracing::info!(
        removed_ms = removed_after.as_millis() as u64,
        closed_ms = (started.elapsed() - removed_after).as_millis() as u64,
        "sessions removed and connections closed"
    );
}

/// Tells systemd we are ready once the listener is bound (it is, by now) and the
/// store answers; then keeps its watchdog fed.
async fn announce_ready(
    store: Arc<dyn Store>,
    address: std::net::SocketAddr,
    shutdown: CancellationToken,
) {
    let mut waiting_logged = false;
    loop {
        match store.ping().await {
            Ok(()) => break,
            Err(error) if !waiting_logged => {
                tracing::warn!(%error, "store not answering; not ready yet");
                waiting_logged = true;
            }
            Err(_) => {}
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
    systemd::ready(&format!("serving on {address}"));
    systemd::spawn_watchdog();
}
