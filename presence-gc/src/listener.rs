//! Listens for expired `session:*` keys and reaps those sessions at once.
//!
//! Pub/sub is fire-and-forget: whatever Redis sent while we were disconnected is
//! gone. So after every reconnect this asks the sweeper for an immediate sweep, and
//! checks expiry events again (a restarted Redis forgets `CONFIG SET`).

use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use presence_core::SessionId;
use presence_core::reaper::Reaper;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::expiry_events;
use crate::metrics::Metrics;

/// The longest wait between reconnect attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

pub async fn run(
    reaper: Reaper,
    metrics: Arc<Metrics>,
    sweep_now: Arc<Notify>,
    batch_size: usize,
    shutdown: CancellationToken,
) {
    let mut backoff = Duration::from_millis(100);
    let mut connected_before = false;
    loop {
        let listening = listen(&reaper, &metrics, &sweep_now, batch_size, connected_before);
        tokio::select! {
            () = shutdown.cancelled() => return,
            result = listening => match result {
                Ok(()) => {
                    tracing::warn!("expiry events connection closed; reconnecting");
                    backoff = Duration::from_millis(100);
                }
                Err(error) => {
                    metrics.errors.inc();
                    tracing::warn!(%error, retry_in = ?backoff, "expiry events unavailable");
                }
            },
        }
        connected_before = true;
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One connection's life: subscribe, sweep if events may have been lost, reap
/// expired sessions in batches until the connection ends.
async fn listen(
    reaper: &Reaper,
    metrics: &Metrics,
    sweep_now: &Notify,
    batch_size: usize,
    reconnected: bool,
) -> Result<(), crate::GcError> {
    let store = reaper.store();
    let channel = store.keys().expired_events_channel(store.database());
    let mut pubsub = store.client().get_async_pubsub().await?;
    pubsub.subscribe(&channel).await?;
    if reconnected {
        if let Err(error) = expiry_events::ensure(store).await {
            tracing::error!(%error, "expiry events are off after reconnecting; relying on sweeps");
        }
        tracing::info!(%channel, "subscribed again; sweeping for events lost meanwhile");
        sweep_now.notify_one();
    } else {
        tracing::info!(%channel, "listening for expired sessions");
    }

    let mut events = pubsub.into_on_message();
    while let Some(event) = events.next().await {
        // Expiries come in bursts (a crashed server's sessions all lapse together):
        // take what is already queued and reap it in one pipeline.
        let mut expired = Vec::new();
        let mut next = Some(event);
        while let Some(event) = next.take() {
            if let Some(session) = session_of(reaper, &event) {
                expired.push(session);
            }
            if expired.len() >= batch_size {
                break;
            }
            next = events.next().now_or_never().flatten();
        }
        if expired.is_empty() {
            continue;
        }
        metrics.expiry_events.inc_by(expired.len() as u64);
        match reaper.reap_expired(&expired).await {
            Ok(reaped) => {
                metrics.reaped_expiry.inc_by(reaped);
                if reaped > 0 {
                    tracing::info!(reaped, "reaped expired sessions");
                }
            }
            Err(error) => {
                // Their entries stay until the next sweep finds them.
                metrics.errors.inc();
                tracing::warn!(%error, sessions = expired.len(), "reaping expired sessions failed");
            }
        }
    }
    Ok(())
}

fn session_of(reaper: &Reaper, event: &redis::Msg) -> Option<SessionId> {
    let key: String = event.get_payload().ok()?;
    reaper.store().keys().session_of_key(&key)
}
