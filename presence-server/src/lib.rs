//! presence-server: live reader counts for WordPress posts.
//!
//! Browsers connect with Socket.IO and say `viewing <post-id>`; the server records
//! the session in the store, answers with the post's `viewers` and `views`, and
//! pushes new counts to every reader of the post when they change. The same counts
//! are served over HTTP, next to the embed script and a demo page.

#![forbid(unsafe_code)]
#![deny(rust_2018_idioms)]

mod budget;
mod fanout;
mod feeds;
mod history;
pub mod http;
mod keepalive;
mod log_throttle;
mod metrics;
mod notices;
mod security;
mod sessions;
mod socket;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use presence_core::{Config, Store, StoreError, systemd};
use thiserror::Error;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::fanout::{Audience, Fanout};
use crate::feeds::Feeds;
use crate::http::AppState;
use crate::metrics::{MeteredStore, Metrics};
use crate::security::Guard;
use crate::sessions::Sessions;

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
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let node = config.node_name();
    // Every log line of this server, including those of its tasks and socket
    // handlers, carries the node name: with several servers in one journal or log
    // pipeline, it is the first thing an operator filters on.
    let span = tracing::info_span!("presence", %node);
    let metrics = Arc::new(Metrics::default());
    let store = MeteredStore::wrap(presence_core::open_store(&config)?, metrics.clone());
    let (sessions, answers) = Sessions::new(config.security.max_posts_per_socket, metrics.clone());
    let guard = Arc::new(Guard::new(&config.security, metrics.clone()));
    let (socket_layer, io) = socket::layer(
        &config,
        store.clone(),
        sessions.clone(),
        metrics.clone(),
        guard.clone(),
        span.clone(),
    );
    let notice_rules = notices::NoticeRules::from(&config.notices);
    let feeds = Arc::new(Feeds::default());
    let dashboard = Arc::new(config.dashboard.clone());
    let background = CancellationToken::new();
    let state = AppState {
        store: store.clone(),
        metrics: metrics.clone(),
        max_batch_ids: config.server.max_batch_ids,
        notice_rules: notice_rules.clone(),
        feeds: feeds.clone(),
        guard: guard.clone(),
        dashboard: dashboard.clone(),
        shutdown: background.child_token(),
    };
    let app = http::app(state, socket_layer, &guard);

    let resynced = Arc::new(Notify::new());
    let fanout = Fanout::new(
        store.clone(),
        Audience {
            io: io.clone(),
            sessions: sessions.clone(),
            feeds,
        },
        &config.fanout,
        metrics.clone(),
        resynced.clone(),
        answers,
    );
    let delivering = tokio::spawn(
        notices::run(
            store.clone(),
            io.clone(),
            notice_rules,
            metrics,
            background.child_token(),
        )
        .instrument(span.clone()),
    );
    let fanning_out = tokio::spawn(
        fanout
            .run(background.child_token())
            .instrument(span.clone()),
    );
    let sampling = tokio::spawn(
        history::run(store.clone(), dashboard, background.child_token()).instrument(span.clone()),
    );
    let keeping_alive = tokio::spawn(
        keepalive::run(
            store.clone(),
            sessions.clone(),
            config.session_refresh_interval(),
            resynced,
            background.child_token(),
        )
        .instrument(span.clone()),
    );

    let stop_http = CancellationToken::new();
    // Connect info: the per-address connection cap needs the peer address.
    let server = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(stop_http.clone().cancelled_owned());
    let address = server.local_addr()?;
    tracing::info!(
        %address,
        store = if config.uses_memory_store() { "memory" } else { "redis" },
        %node,
        "presence-server listening"
    );
    let serving = tokio::spawn(server.into_future().instrument(span.clone()));
    tokio::spawn(
        announce_ready(store.clone(), address, background.child_token()).instrument(span.clone()),
    );

    shutdown.await;
    systemd::stopping();
    tracing::info!(sessions = sessions.len(), %node, "shutting down");
    stop_http.cancel();
    // Stop pushing and refreshing first: nothing may touch the sockets or
    // re-register sessions while they are being removed.
    background.cancel();
    let _ = tokio::join!(fanning_out, keeping_alive, delivering, sampling);
    let deadline = Duration::from_secs(config.server.shutdown_timeout_secs);
    drain(&*store, &sessions, &io, deadline).await;
    match tokio::time::timeout(Duration::from_secs(1), serving).await {
        Ok(Ok(result)) => result?,
        Ok(Err(join_error)) => tracing::error!(%join_error, "HTTP task failed"),
        Err(_) => tracing::debug!("HTTP connections still open at exit"),
    }
    Ok(())
}

/// Removes this process's sessions from the store in one step per batch (one
/// announcement per post), then closes every transport so clients reconnect, with
/// their backoff, to whichever server is left. Bounded by `within`: what is left
/// then expires by TTL and gc reaps it.
async fn drain(
    store: &dyn Store,
    sessions: &Sessions,
    io: &socketioxide::SocketIo,
    within: Duration,
) {
    let started = tokio::time::Instant::now();
    let deadline = started + within;
    let removed = tokio::time::timeout_at(deadline, async {
        for batch in sessions.close_all().chunks(SHUTDOWN_BATCH) {
            if let Err(error) = store.leave_many(batch).await {
                tracing::warn!(%error, sessions = batch.len(), "cannot remove sessions; they expire by TTL");
            }
        }
        // Sessions whose worker was busy leave by themselves; wait for them.
        while !sessions.workers_idle() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
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
