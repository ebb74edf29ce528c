//! Making sure Redis tells us when session keys expire.
//!
//! Keyspace notifications are off by default. gc turns on what it needs (`E` for
//! keyevent channels, `x` for expiry) where `CONFIG SET` is allowed, then *proves*
//! that events arrive by letting a probe key expire: managed Redis services often
//! forbid CONFIG altogether, and some allow GET but not SET, so the probe is the
//! only check that works everywhere.
//!
//! Each Redis node sends the events of its own keys only, so on a cluster this is
//! done on every master, with a probe key in one of that master's slots.

use std::time::Duration;

use futures_util::StreamExt;
use presence_core::RedisStore;
use presence_core::store::cluster_nodes;
use rand::Rng;

use crate::error::GcError;

/// How long to wait for the probe key's expiry event.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Does [`ensure_on`] every master there is now.
pub async fn ensure(store: &RedisStore) -> Result<(), GcError> {
    for (address, node) in store.masters().await? {
        ensure_on(store, &node).await.map_err(|error| match error {
            GcError::ExpiryEventsOff { why } => GcError::ExpiryEventsOff {
                why: format!("{address}: {why}"),
            },
            other => other,
        })?;
    }
    Ok(())
}

/// Enables expiry events on `node` if needed and allowed, then checks that they
/// arrive.
pub async fn ensure_on(store: &RedisStore, node: &redis::Client) -> Result<(), GcError> {
    let config_result = enable(node).await;
    match probe(store, node).await {
        Ok(true) => {
            if let Ok(Some(flags)) = &config_result {
                tracing::info!(%flags, "enabled notify-keyspace-events");
            }
            Ok(())
        }
        Ok(false) => Err(GcError::ExpiryEventsOff {
            why: match config_result {
                Ok(_) => "they stayed off after CONFIG SET".to_owned(),
                Err(error) => format!("CONFIG SET is not allowed here ({error})"),
            },
        }),
        Err(error) => Err(GcError::Store(error.into())),
    }
}

/// Adds `E` and `x` to `notify-keyspace-events`. Returns the new flags when it
/// changed them, `None` when they were already sufficient.
async fn enable(node: &redis::Client) -> Result<Option<String>, redis::RedisError> {
    let mut conn = node.get_multiplexed_async_connection().await?;
    let (_, flags): (String, String) = redis::cmd("CONFIG")
        .arg("GET")
        .arg("notify-keyspace-events")
        .query_async(&mut conn)
        .await?;
    let has_keyevents = flags.contains('E');
    let has_expired = flags.contains('x') || flags.contains('A');
    if has_keyevents && has_expired {
        return Ok(None);
    }
    let mut wanted = flags;
    if !has_keyevents {
        wanted.push('E');
    }
    if !has_expired {
        wanted.push('x');
    }
    let () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("notify-keyspace-events")
        .arg(&wanted)
        .query_async(&mut conn)
        .await?;
    Ok(Some(wanted))
}

/// Sets a key with a 1 ms TTL on `node`, reads it after it lapsed (which makes
/// Redis expire it at once), and waits for the event.
async fn probe(store: &RedisStore, node: &redis::Client) -> Result<bool, redis::RedisError> {
    let channel = store.keys().expired_events_channel(store.database());
    let mut pubsub = node.get_async_pubsub().await?;
    pubsub.subscribe(&channel).await?;
    let mut conn = node.get_multiplexed_async_connection().await?;
    let probe_key = if store.keys().is_cluster() {
        key_served_by(store, &mut conn).await?
    } else {
        let token: u64 = rand::rng().random();
        store.keys().expiry_probe(&format!("{token:016x}"))
    };
    let () = redis::cmd("SET")
        .arg(&probe_key)
        .arg("1")
        .arg("PX")
        .arg(1)
        .query_async(&mut conn)
        .await?;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let _: Option<String> = redis::cmd("GET")
        .arg(&probe_key)
        .query_async(&mut conn)
        .await?;

    let mut events = pubsub.on_message();
    let arrived = tokio::time::timeout(PROBE_TIMEOUT, async {
        while let Some(event) = events.next().await {
            if event
                .get_payload::<String>()
                .is_ok_and(|key| key == probe_key)
            {
                return true;
            }
        }
        false
    })
    .await;
    Ok(arrived.unwrap_or(false))
}

/// A probe key whose slot `node` (a cluster master) serves: one of a few tagged
/// names, asking the node which slot each falls in.
async fn key_served_by(
    store: &RedisStore,
    node: &mut redis::aio::MultiplexedConnection,
) -> Result<String, redis::RedisError> {
    let nodes: String = redis::cmd("CLUSTER").arg("NODES").query_async(node).await?;
    let own_slots = cluster_nodes::parse(&nodes)
        .into_iter()
        .find(cluster_nodes::ClusterNode::is_myself)
        .map(|myself| myself.slots)
        .unwrap_or_default();
    let token: u64 = rand::rng().random();
    for attempt in 0..256 {
        let key = store
            .keys()
            .expiry_probe(&format!("{{probe-{attempt}}}{token:016x}"));
        let slot: u16 = redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(&key)
            .query_async(node)
            .await?;
        if own_slots.iter().any(|range| range.contains(&slot)) {
            return Ok(key);
        }
    }
    Err(redis::RedisError::from((
        redis::ErrorKind::Client,
        "this master serves no slot a probe key could use",
    )))
}
