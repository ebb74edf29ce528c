//! Keeps the session keys of live sockets from expiring, and records again any
//! session the store lost.
//!
//! One pipelined EXPIRE per session every TTL/3, in batches: far fewer calls than
//! one per socket per second, and a crashed process stops refreshing, so its
//! sessions expire within one TTL and gc reaps them. A key that turns out to be
//! missing (a Redis that restarted empty, or an expiry that beat us) is recorded
//! again by the session's own worker, so counts heal without the client's help.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use presence_core::Store;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::hub::{HubHandle, ToHub};
use crate::log_throttle::LogThrottle;
use crate::process::Process;
use crate::registry::Sessions;
use crate::worker::Workers;

/// Sessions refreshed per round trip.
const BATCH: usize = 1000;
/// How soon a session whose view failed (a timeout under load, a short outage)
/// is tried again, independently of the keep-alive interval.
const RETRY_FAILED_EVERY: Duration = Duration::from_secs(1);

/// Store calls in flight while re-registering after an outage: enough to be quick,
/// few enough that a Redis that has just come back is not flooded.
const REREGISTER_CONCURRENCY: usize = 64;

/// Refreshes every `every`, and at once when `resynced` is notified (the changes
/// channel reconnected: Redis may have restarted empty).
pub fn run(
    process: &Process,
    every: Duration,
    resynced: Arc<Notify>,
    shutdown: CancellationToken,
) -> impl Future<Output = ()> + Send + 'static {
    let store = process.store.clone();
    let sessions = process.sessions.clone();
    let workers = process.workers.clone();
    let hub = process.hub.clone();
    async move { keep_alive(store, sessions, workers, hub, every, resynced, shutdown).await }
}

async fn keep_alive(
    store: Arc<dyn Store>,
    sessions: Sessions,
    workers: Workers,
    hub: HubHandle,
    every: Duration,
    resynced: Arc<Notify>,
    shutdown: CancellationToken,
) {
    let errors = LogThrottle::default();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut retry = tokio::time::interval(RETRY_FAILED_EVERY);
    retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
            () = resynced.notified() => {}
            _ = retry.tick() => {
                reregister(&sessions, &workers).await;
                continue;
            }
        }
        remove_orphans(&sessions, &workers, &hub).await;
        refresh(&*store, &sessions, &errors).await;
        reregister(&sessions, &workers).await;
    }
}

async fn refresh(store: &dyn Store, sessions: &Sessions, errors: &LogThrottle) {
    let recorded = sessions.recorded();
    for batch in recorded.chunks(BATCH) {
        match store.keep_alive(batch).await {
            Ok(lost) if lost.is_empty() => {}
            Ok(lost) => {
                let ids: Vec<_> = lost.into_iter().map(|i| batch[i].0.clone()).collect();
                tracing::info!(
                    sessions = ids.len(),
                    "store lost live sessions; recording them again"
                );
                sessions.mark_lost(&ids);
            }
            Err(error) => {
                errors.warn(&error, "keeping sessions alive failed");
                return;
            }
        }
    }
}

/// Sessions of sockets socketioxide never acknowledged (see
/// `Sessions::remove_orphans`), removed like closed ones.
async fn remove_orphans(sessions: &Sessions, workers: &Workers, hub: &HubHandle) {
    let orphans = sessions.remove_orphans();
    if !orphans.is_empty() {
        tracing::debug!(
            orphans = orphans.len(),
            "removed sessions of sockets that were never acknowledged"
        );
    }
    for orphan in &orphans {
        hub.send(ToHub::Closed(orphan.id().clone()));
    }
    futures_util::stream::iter(orphans)
        .for_each_concurrent(REREGISTER_CONCURRENCY, |session| workers.drive(session))
        .await;
}

async fn reregister(sessions: &Sessions, workers: &Workers) {
    futures_util::stream::iter(sessions.due_for_retry())
        .for_each_concurrent(REREGISTER_CONCURRENCY, |session| workers.drive(session))
        .await;
}
