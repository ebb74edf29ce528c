//! Samples site-wide readers for the dashboard's chart. Every server offers a
//! sample each step and the store keeps one per step, so the history is the same
//! whichever server a dashboard asks, and survives any one server's restart.

use std::sync::Arc;

use presence_core::Store;
use presence_core::config::DashboardConfig;
use tokio_util::sync::CancellationToken;

use crate::log_throttle::LogThrottle;

pub async fn run(store: Arc<dyn Store>, config: Arc<DashboardConfig>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(config.history_step());
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let errors = LogThrottle::default();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(error) = store
            .record_history(config.history_step(), DashboardConfig::HISTORY_WINDOW)
            .await
        {
            errors.warn(&error, "recording the readers history failed");
        }
    }
}
