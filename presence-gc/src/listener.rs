//! Listens for expired session keys and reaps those sessions at once.
//!
//! Every Redis node announces only its own keys' expiries, so there is one
//! listener per master: one on a single Redis, one per master of a cluster. A
//! supervisor looks at the masters every [`TOPOLOGY_CHECK`] and starts listeners
//! for new ones (a promoted replica, an added node) and stops those of masters
//! that are gone.
//!
//! Pub/sub is fire-and-forget: whatever a node sent while nobody listened is
//! gone. So every listener after the first round starts by checking expiry events
//! on its node again (a restarted or promoted node may not send them) and asks the
//! sweeper for an immediate sweep.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use presence_core::SessionId;
use presence_core::keys::Shard;
use presence_core::reaper::Reaper;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::expiry_events;
use crate::metrics::Metrics;

/// How often the masters are looked up, and so the longest a lost listener stays
/// down (it is restarted on the next look).
const TOPOLOGY_CHECK: Duration = Duration::from_secs(2);

/// What every listener needs.
#[derive(Clone)]
pub struct Listening {
    pub reaper: Reaper,
    pub metrics: Arc<Metrics>,
    pub sweep_now: Arc<Notify>,
    pub batch_size: usize,
}

pub async fn run(listening: Listening, shutdown: CancellationToken) {
    let mut listeners: HashMap<String, (CancellationToken, JoinHandle<()>)> = HashMap::new();
    let mut first_round = true;
    loop {
        match listening.reaper.store().masters().await {
            Ok(masters) => {
                listeners.retain(|address, (stop, task)| {
                    let keep = !task.is_finished() && masters.iter().any(|(a, _)| a == address);
                    if !keep {
                        stop.cancel();
                    }
                    keep
                });
                for (address, node) in masters {
                    if listeners.contains_key(&address) {
                        continue;
                    }
                    let stop = shutdown.child_token();
                    let task = tokio::spawn(listen_until(
                        listening.clone(),
                        node,
                        address.clone(),
                        !first_round,
                        stop.clone(),
                    ));
                    listeners.insert(address, (stop, task));
                }
                first_round = false;
            }
            Err(error) => {
                listening.metrics.errors.inc();
                tracing::warn!(%error, "cannot find the Redis masters; retrying");
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(TOPOLOGY_CHECK) => {}
        }
    }
    for (_, (_, task)) in listeners {
        let _ = task.await;
    }
}

async fn listen_until(
    listening: Listening,
    node: redis::Client,
    address: String,
    late: bool,
    stop: CancellationToken,
) {
    tokio::select! {
        () = stop.cancelled() => {}
        result = listen(&listening, &node, &address, late) => match result {
            Ok(()) => tracing::warn!(%address, "expiry events connection closed; reconnecting"),
            Err(error) => {
                listening.metrics.errors.inc();
                tracing::warn!(%address, %error, "expiry events unavailable");
            }
        },
    }
}

/// One connection's life: subscribe, sweep if events may have been lost, reap
/// expired sessions in batches until the connection ends.
async fn listen(
    listening: &Listening,
    node: &redis::Client,
    address: &str,
    late: bool,
) -> Result<(), crate::error::GcError> {
    let Listening {
        reaper,
        metrics,
        sweep_now,
        batch_size,
    } = listening;
    let store = reaper.store();
    let channel = store.keys().expired_events_channel(store.database());
    let mut pubsub = node.get_async_pubsub().await?;
    pubsub.subscribe(&channel).await?;
    if late {
        if let Err(error) = expiry_events::ensure_on(store, node).await {
            tracing::error!(%address, %error, "expiry events are off on this node; relying on sweeps");
        }
        tracing::info!(%address, %channel, "subscribed again; sweeping for events lost meanwhile");
        sweep_now.notify_one();
    } else {
        tracing::info!(%address, %channel, "listening for expired sessions");
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
            if expired.len() >= *batch_size {
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

fn session_of(reaper: &Reaper, event: &redis::Msg) -> Option<(SessionId, Shard)> {
    let key: String = event.get_payload().ok()?;
    reaper.store().keys().session_of_key(&key)
}
