//! The one subscription of a server process: changes of readers, admitted
//! notices and submitted notices, handed on to in-process receivers.
//!
//! On a single Redis it is one pub/sub connection. On a cluster it is a RESP3
//! cluster connection that `SSUBSCRIBE`s to every shard's changes channel (each on
//! the master of its slot; redis-rs resubscribes after failovers and resharding)
//! and `SUBSCRIBE`s to the notice channels (classic pub/sub reaches every node).
//! Either way, whatever was published while not subscribed is lost, so every
//! (re)subscription starts with [`Change::Resync`].

use std::time::Duration;

use futures_util::StreamExt;
use redis::{PushInfo, PushKind, RedisError, Value};
use tokio::sync::{broadcast, mpsc};

use super::RedisStore;
use super::backend::{Backend, cluster_builder};
use crate::ids::PostId;
use crate::notice::Notice;
use crate::store::{CHANGE_BUFFER, Change};

/// What the subscription hands on.
#[derive(Clone)]
pub struct Channels {
    pub changes: broadcast::Sender<Change>,
    pub notices: broadcast::Sender<Notice>,
    pub submissions: broadcast::Sender<String>,
}

impl Channels {
    pub fn new() -> Self {
        Self {
            changes: broadcast::channel(CHANGE_BUFFER).0,
            notices: broadcast::channel(256).0,
            submissions: broadcast::channel(256).0,
        }
    }

    fn nobody_listens(&self) -> bool {
        self.changes.receiver_count() == 0
            && self.notices.receiver_count() == 0
            && self.submissions.receiver_count() == 0
    }

    /// Hands on one message of `channel`.
    fn deliver(&self, store: &RedisStore, channel: &str, payload: String) {
        let keys = store.keys();
        if channel == keys.notices_channel() {
            match serde_json::from_str::<Notice>(&payload) {
                Ok(notice) => {
                    let _ = self.notices.send(notice);
                }
                Err(error) => tracing::warn!(%error, "dropped a malformed admitted notice"),
            }
        } else if channel == keys.notice_submissions_channel() {
            let _ = self.submissions.send(payload);
        } else if let Ok(post) = PostId::parse(&payload) {
            // Every other channel we subscribe to is a changes channel.
            let _ = self.changes.send(Change::Post(post));
        }
    }
}

/// How a subscription ended.
enum Ended {
    NobodyListens,
    ConnectionLost,
}

/// Listens for as long as anyone holds a receiver, resubscribing after a lost
/// connection (logged once per outage).
pub async fn run(store: RedisStore, channels: Channels) {
    let mut backoff = Duration::from_millis(100);
    let mut down = false;
    loop {
        let result = match &store.shared.backend {
            Backend::Single { client, .. } => single(&store, client, &channels).await,
            Backend::Cluster(cluster_backend) => {
                cluster(&store, &cluster_backend.urls, &channels).await
            }
        };
        match result {
            Ok(Ended::NobodyListens) => return,
            Ok(Ended::ConnectionLost) => {
                tracing::warn!("pub/sub connection lost; resubscribing");
                backoff = Duration::from_millis(100);
                down = false;
            }
            Err(error) if !down => {
                tracing::warn!(%error, "cannot subscribe to the changes channel; retrying");
                down = true;
            }
            Err(_) => {}
        }
        if channels.nobody_listens() {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

async fn single(
    store: &RedisStore,
    client: &redis::Client,
    channels: &Channels,
) -> Result<Ended, RedisError> {
    let keys = store.keys();
    let mut names: Vec<String> = keys.shards().map(|s| keys.changes_channel(s)).collect();
    names.extend([keys.notices_channel(), keys.notice_submissions_channel()]);
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(&names).await?;
    tracing::debug!("subscribed to changes and notices");
    let _ = channels.changes.send(Change::Resync);
    let mut messages = pubsub.into_on_message();
    while let Some(message) = messages.next().await {
        if let Ok(payload) = message.get_payload::<String>() {
            channels.deliver(store, message.get_channel_name(), payload);
        }
        if channels.nobody_listens() {
            return Ok(Ended::NobodyListens);
        }
    }
    Ok(Ended::ConnectionLost)
}

async fn cluster(
    store: &RedisStore,
    urls: &[String],
    channels: &Channels,
) -> Result<Ended, RedisError> {
    let keys = store.keys();
    let (sender, mut pushes) = mpsc::unbounded_channel::<PushInfo>();
    let client = cluster_builder(urls)
        .use_protocol(redis::ProtocolVersion::RESP3)
        .push_sender(sender)
        .build()?;
    let mut connection = client.get_async_connection().await?;
    for shard in keys.shards() {
        connection.ssubscribe(keys.changes_channel(shard)).await?;
    }
    connection
        .subscribe(&[keys.notices_channel(), keys.notice_submissions_channel()])
        .await?;
    tracing::debug!("subscribed to every shard's changes and to notices");
    let _ = channels.changes.send(Change::Resync);
    while let Some(push) = pushes.recv().await {
        match push.kind {
            PushKind::Message | PushKind::SMessage => {
                if let [Value::BulkString(channel), Value::BulkString(payload), ..] =
                    push.data.as_slice()
                {
                    let channel = String::from_utf8_lossy(channel);
                    let payload = String::from_utf8_lossy(payload).into_owned();
                    channels.deliver(store, &channel, payload);
                }
            }
            // A node was lost (a failover may be under way): subscribe afresh,
            // from the topology as it is then, until every shard's channel is
            // subscribed on its master again.
            PushKind::Disconnection => return Ok(Ended::ConnectionLost),
            // A shard channel moved with its slot: redis-rs resubscribes by
            // itself, but what was sent meanwhile is gone.
            PushKind::SUnsubscribe => {
                let _ = channels.changes.send(Change::Resync);
            }
            _ => {}
        }
        if channels.nobody_listens() {
            return Ok(Ended::NobodyListens);
        }
    }
    drop(connection);
    Ok(Ended::ConnectionLost)
}
