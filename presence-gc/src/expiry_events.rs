//! Making sure Redis tells us when session keys expire.
//!
//! Keyspace notifications are off by default. gc turns on what it needs (`E` for
//! keyevent channels, `x` for expiry) where `CONFIG SET` is allowed, then *proves*
//! that events arrive by letting a probe key expire: managed Redis services often
//! forbid CONFIG altogether, and some allow GET but not SET, so the probe is the
//! only check that works everywhere.

use std::time::Duration;

use futures_util::StreamExt;
use presence_core::RedisStore;
use rand::Rng;

use crate::GcError;

/// How long to wait for the probe key's expiry event.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Enables expiry events if needed and allowed, then checks that they arrive.
pub async fn ensure(store: &RedisStore) -> Result<(), GcError> {
    let config_result = enable(store).await;
    match probe(store).await {
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
async fn enable(store: &RedisStore) -> Result<Option<String>, redis::RedisError> {
    let mut conn = store.client().get_multiplexed_async_connection().await?;
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

/// Sets a key with a 1 ms TTL, reads it after it lapsed (which makes Redis expire
/// it at once), and waits for the event.
async fn probe(store: &RedisStore) -> Result<bool, redis::RedisError> {
    let channel = store.keys().expired_events_channel(store.database());
    let token: u64 = rand::rng().random();
    let probe_key = store.keys().expiry_probe(&format!("{token:016x}"));

    let mut pubsub = store.client().get_async_pubsub().await?;
    pubsub.subscribe(&channel).await?;
    let mut conn = store.client().get_multiplexed_async_connection().await?;
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
