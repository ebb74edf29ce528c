//! The reconciling sweep, every `gc.sweep_interval_secs` and whenever the listener
//! asks (after a reconnect). This is what makes gc exact: expiry events can be lost
//! or late, a sweep cannot.

use std::sync::Arc;
use std::time::Duration;

use presence_core::reaper::Reaper;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

pub async fn run(
    reaper: Reaper,
    metrics: Arc<Metrics>,
    every: Duration,
    sweep_now: Arc<Notify>,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
            () = sweep_now.notified() => tick.reset(),
        }
        match reaper.sweep().await {
            Ok(report) => {
                metrics.record_sweep(&report);
                tracing::info!(
                    checked = report.checked,
                    removed = report.removed,
                    reindexed = report.reindexed,
                    duration_ms = report.duration.as_millis() as u64,
                    "sweep done"
                );
            }
            Err(error) => {
                metrics.errors.inc();
                tracing::warn!(%error, "sweep failed; trying again next interval");
            }
        }
    }
}
