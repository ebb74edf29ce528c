//! presence-gc: removes sessions that died without saying goodbye.
//!
//! Two mechanisms through the core's reaper: an expiry-event listener, which is
//! quick but can miss events, and a periodic reconciling sweep, which cannot.

mod error;
mod expiry_events;
mod listener;
mod metrics;
mod sweeper;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use presence_core::reaper::Reaper;
use presence_core::{Config, Keys, RedisStore, systemd};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub use crate::error::GcError;
pub use crate::metrics::Metrics;

/// Runs until `shutdown` resolves. Fails at start if Redis is missing or expiry
/// events cannot be had; after that, Redis outages are waited out.
pub async fn run(
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), GcError> {
    if config.uses_memory_store() {
        return Err(GcError::NoRedis);
    }
    let store = RedisStore::connect(
        &config.redis,
        Keys::for_redis(&config.redis),
        config.session_ttl(),
    )?;
    expiry_events::ensure(&store).await?;

    let metrics = Arc::new(Metrics::default());
    let stop = CancellationToken::new();
    if !config.gc.metrics_listen.is_empty() {
        let listener = tokio::net::TcpListener::bind(&config.gc.metrics_listen).await?;
        tracing::info!(address = %listener.local_addr()?, "metrics at /metrics");
        let app = metrics::router(metrics.clone());
        let stopped = stop.clone().cancelled_owned();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await;
        });
    }

    let reaper = Reaper::new(store, config.gc.batch_size);
    let sweep_now = Arc::new(Notify::new());
    let listening = tokio::spawn(listener::run(
        listener::Listening {
            reaper: reaper.clone(),
            metrics: metrics.clone(),
            sweep_now: sweep_now.clone(),
            batch_size: config.gc.batch_size,
        },
        stop.clone(),
    ));
    let sweeping = tokio::spawn(sweeper::run(
        reaper,
        metrics,
        Duration::from_secs(config.gc.sweep_interval_secs),
        sweep_now,
        stop.clone(),
    ));

    systemd::ready("collecting");
    systemd::spawn_watchdog();

    shutdown.await;
    systemd::stopping();
    tracing::info!("presence-gc stopping");
    stop.cancel();
    let _ = tokio::join!(listening, sweeping);
    Ok(())
}
