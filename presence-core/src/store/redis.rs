//! [`RedisStore`]: the shared store. Every mutation is one EVALSHA of a script in
//! `scripts/`, so it is atomic and one round trip; counts for many posts are one
//! pipeline.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use deadpool_redis::{Manager, Pool, Runtime};
use futures_util::StreamExt;
use redis::AsyncConnectionConfig;
use redis::{ErrorKind, Pipeline, RedisError, Script, ServerErrorKind};
use tokio::sync::broadcast;

use super::{
    Admission, CHANGE_BUFFER, Change, NOTICE_WINDOW_SECS, PostStats, Sample, SiteStats, Store,
    Viewing,
};
use crate::config::RedisConfig;
use crate::error::StoreError;
use crate::ids::{PostId, SessionId};
use crate::keys::Keys;
use crate::notice::Notice;

/// How long a request waits for a pooled connection, or for a new one to Redis.
/// Short, so a dead Redis turns into a quick error instead of stuck sockets.
const POOL_TIMEOUT: Duration = Duration::from_secs(2);

/// How long one command may take to answer. redis-rs defaults to 500 ms, which a
/// loaded 2-core machine exceeds under a join storm while Redis itself answers in
/// microseconds: the timeouts then fail views that would have succeeded. A Redis
/// that is really gone refuses or resets connections, which is noticed at once.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// A script that changes reader sets, with the index helper it calls prepended.
macro_rules! with_index {
    ($path:literal) => {
        concat!(include_str!("scripts/index.lua"), include_str!($path))
    };
}

/// Cheap to clone: every clone shares the pool and the changes listener.
#[derive(Clone)]
pub struct RedisStore {
    shared: Arc<Shared>,
}

struct Shared {
    pool: Pool,
    client: redis::Client,
    keys: Keys,
    ttl_secs: u64,
    view: Script,
    leave: Script,
    leave_many: Script,
    reindex: Script,
    record_history: Script,
    admit_notice: Script,
    /// Started on first use; gc never needs it.
    channels: OnceLock<Channels>,
}

/// What the one pub/sub connection of a server process hands on.
#[derive(Clone)]
struct Channels {
    changes: broadcast::Sender<Change>,
    notices: broadcast::Sender<Notice>,
    submissions: broadcast::Sender<String>,
}

impl Channels {
    fn nobody_listens(&self) -> bool {
        self.changes.receiver_count() == 0
            && self.notices.receiver_count() == 0
            && self.submissions.receiver_count() == 0
    }
}

/// What a reap did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReapOutcome {
    /// The session was removed; the post has this many readers left.
    Reaped { post: PostId, viewers: u64 },
    /// The session key exists again: the session is alive and was left alone.
    Alive,
    /// Nothing was recorded for the session.
    Absent,
}

/// The reply of `leave.lua`: status, readers left, removed from set, other post.
type LeaveReply = (String, u64, u64, String);
/// The reply of `view.lua`: status, readers, views, moved from, readers left there.
type ViewReply = (String, u64, u64, String, u64);

impl RedisStore {
    /// Builds the pool. Connections are made on first use, so this succeeds while
    /// Redis is down; `/readyz` tells the truth from then on.
    pub fn connect(
        config: &RedisConfig,
        keys: Keys,
        session_ttl: Duration,
    ) -> Result<Self, StoreError> {
        let client = redis::Client::open(config.url.as_str())?;
        let connection_config = AsyncConnectionConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(POOL_TIMEOUT));
        let manager = Manager::new_with_config(config.url.as_str(), connection_config)?;
        let pool = Pool::builder(manager)
            .max_size(config.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_TIMEOUT))
            .create_timeout(Some(POOL_TIMEOUT))
            .recycle_timeout(Some(POOL_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Protocol(format!("cannot build the pool: {e}")))?;
        Ok(Self {
            shared: Arc::new(Shared {
                pool,
                client,
                keys,
                ttl_secs: session_ttl.as_secs().max(1),
                view: Script::new(with_index!("scripts/view.lua")),
                leave: Script::new(with_index!("scripts/leave.lua")),
                leave_many: Script::new(with_index!("scripts/leave_many.lua")),
                reindex: Script::new(with_index!("scripts/reindex.lua")),
                record_history: Script::new(include_str!("scripts/record_history.lua")),
                admit_notice: Script::new(include_str!("scripts/admit_notice.lua")),
                channels: OnceLock::new(),
            }),
        })
    }

    pub fn keys(&self) -> &Keys {
        &self.shared.keys
    }

    /// The database number in the URL, which keyspace notification channels name.
    pub fn database(&self) -> i64 {
        self.shared
            .client
            .get_connection_info()
            .redis_settings()
            .db()
    }

    /// The client, for connections that cannot be pooled (pub/sub, CONFIG).
    pub fn client(&self) -> &redis::Client {
        &self.shared.client
    }

    pub(crate) async fn connection(&self) -> Result<deadpool_redis::Connection, StoreError> {
        Ok(self.shared.pool.get().await?)
    }

    /// Reaps sessions whose keys expired, wherever the hash says they were: one
    /// pipelined HGET, then one pipeline of scripts. A session that is alive again
    /// is left alone (the script checks, atomically).
    pub async fn reap_expired(
        &self,
        sessions: &[SessionId],
    ) -> Result<Vec<ReapOutcome>, StoreError> {
        if sessions.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for session in sessions {
            pipe.cmd("HGET")
                .arg(self.shared.keys.sessions_hash())
                .arg(session.as_str());
        }
        let mut conn = self.connection().await?;
        let posts: Vec<Option<String>> = pipe.query_async(&mut conn).await?;
        drop(conn);
        let recorded: Vec<(usize, (SessionId, PostId))> = sessions
            .iter()
            .zip(posts)
            .enumerate()
            .filter_map(|(i, (session, post))| {
                let post = PostId::parse(&post?).ok()?;
                Some((i, (session.clone(), post)))
            })
            .collect();
        let (indices, entries): (Vec<usize>, Vec<(SessionId, PostId)>) =
            recorded.into_iter().unzip();
        let mut outcomes = vec![ReapOutcome::Absent; sessions.len()];
        for (i, outcome) in indices.into_iter().zip(self.reap_many(&entries).await?) {
            outcomes[i] = outcome;
        }
        Ok(outcomes)
    }

    /// Reaps many (session, post) pairs in pipelined round trips; a pair whose post
    /// was wrong is retried with the post the hash names.
    pub async fn reap_many(
        &self,
        entries: &[(SessionId, PostId)],
    ) -> Result<Vec<ReapOutcome>, StoreError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let mut outcomes = vec![ReapOutcome::Absent; entries.len()];
        let mut pending: Vec<(usize, PostId)> = entries
            .iter()
            .enumerate()
            .map(|(i, (_, post))| (i, post.clone()))
            .collect();
        // A session can only be in one post, so a second round always settles it;
        // the third is a guard against a concurrent move.
        for _ in 0..3 {
            if pending.is_empty() {
                break;
            }
            let mut pipe = redis::pipe();
            for (i, post) in &pending {
                self.add_leave(&mut pipe, &entries[*i].0, post, "reap");
            }
            let replies: Vec<LeaveReply> = self.query_scripts(&pipe).await?;
            let mut retry = Vec::new();
            for ((i, post), (status, viewers, removed, other)) in pending.into_iter().zip(replies) {
                outcomes[i] = match status.as_str() {
                    "alive" => ReapOutcome::Alive,
                    "ok" if removed == 1 => ReapOutcome::Reaped { post, viewers },
                    "ok" => ReapOutcome::Absent,
                    _ => {
                        if let Ok(other) = PostId::parse(&other) {
                            retry.push((i, other));
                        }
                        if removed == 1 {
                            ReapOutcome::Reaped { post, viewers }
                        } else {
                            ReapOutcome::Absent
                        }
                    }
                };
            }
            pending = retry;
        }
        Ok(outcomes)
    }

    /// Sets each post's score in the site-wide index to its readers, in one atomic
    /// step; returns how many were wrong. The sweep's repair.
    pub async fn reindex(&self, posts: &[PostId]) -> Result<u64, StoreError> {
        if posts.is_empty() {
            return Ok(0);
        }
        let keys = &self.shared.keys;
        let mut invocation = self.shared.reindex.prepare_invoke();
        invocation.key(keys.top_index());
        for post in posts {
            invocation.key(keys.readers(post)).arg(post.as_str());
        }
        let mut conn = self.connection().await?;
        Ok(invocation.invoke_async(&mut conn).await?)
    }

    fn add_leave(&self, pipe: &mut Pipeline, session: &SessionId, post: &PostId, mode: &str) {
        let keys = &self.shared.keys;
        pipe.cmd("EVALSHA")
            .arg(self.shared.leave.get_hash())
            .arg(4)
            .arg(keys.sessions_hash())
            .arg(keys.readers(post))
            .arg(keys.session(session))
            .arg(keys.top_index())
            .arg(session.as_str())
            .arg(post.as_str())
            .arg(keys.changes_channel())
            .arg(mode);
    }

    /// Runs a pipeline of EVALSHAs, loading the scripts first if Redis lost them
    /// (a restart, or SCRIPT FLUSH).
    async fn query_scripts<T: redis::FromRedisValue>(
        &self,
        pipe: &Pipeline,
    ) -> Result<T, StoreError> {
        let mut conn = self.connection().await?;
        match pipe.query_async(&mut conn).await {
            Err(e) if is_noscript(&e) => {
                self.shared
                    .leave
                    .prepare_invoke()
                    .load_async(&mut conn)
                    .await?;
                self.shared
                    .view
                    .prepare_invoke()
                    .load_async(&mut conn)
                    .await?;
                Ok(pipe.query_async(&mut conn).await?)
            }
            other => Ok(other?),
        }
    }

    async fn run_view(
        &self,
        session: &SessionId,
        post: &PostId,
        believed: Option<&PostId>,
        count_view: bool,
    ) -> Result<ViewReply, StoreError> {
        let keys = &self.shared.keys;
        let mut conn = self.connection().await?;
        let reply = self
            .shared
            .view
            .key(keys.sessions_hash())
            .key(keys.readers(post))
            .key(keys.session(session))
            .key(keys.views(post))
            .key(keys.readers(believed.unwrap_or(post)))
            .key(keys.top_index())
            .arg(session.as_str())
            .arg(post.as_str())
            .arg(believed.map_or("", PostId::as_str))
            .arg(self.shared.ttl_secs)
            .arg(if count_view { "1" } else { "0" })
            .arg(keys.changes_channel())
            .invoke_async(&mut conn)
            .await?;
        Ok(reply)
    }

    async fn run_leave(
        &self,
        session: &SessionId,
        post: &PostId,
    ) -> Result<LeaveReply, StoreError> {
        let mut pipe = redis::pipe();
        self.add_leave(&mut pipe, session, post, "leave");
        let mut replies: Vec<LeaveReply> = self.query_scripts(&pipe).await?;
        replies
            .pop()
            .ok_or_else(|| StoreError::Protocol("leave script returned nothing".into()))
    }

    /// The subscription, started on first use.
    fn channels(&self) -> &Channels {
        self.shared.channels.get_or_init(|| {
            let channels = Channels {
                changes: broadcast::channel(CHANGE_BUFFER).0,
                notices: broadcast::channel(256).0,
                submissions: broadcast::channel(256).0,
            };
            tokio::spawn(self.clone().listen(channels.clone()));
            channels
        })
    }

    /// Listens on the changes and notice channels for as long as anyone holds a
    /// receiver, reconnecting after a lost connection (logged once per outage).
    async fn listen(self, channels: Channels) {
        let mut backoff = Duration::from_millis(100);
        let mut down = false;
        loop {
            match self.forward(&channels).await {
                Ok(Forwarding::NobodyListens) => return,
                Ok(Forwarding::ConnectionLost) => {
                    tracing::warn!("pub/sub connection lost; resubscribing");
                    backoff = Duration::from_millis(100);
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

    /// One subscription's life. It starts with [`Change::Resync`]: whatever was
    /// published while we were not subscribed is lost.
    async fn forward(&self, channels: &Channels) -> Result<Forwarding, RedisError> {
        let keys = &self.shared.keys;
        let (changes, notices, submissions) = (
            keys.changes_channel(),
            keys.notices_channel(),
            keys.notice_submissions_channel(),
        );
        let mut pubsub = self.shared.client.get_async_pubsub().await?;
        pubsub
            .subscribe(&[&changes, &notices, &submissions])
            .await?;
        tracing::debug!("subscribed to changes and notices");
        let _ = channels.changes.send(Change::Resync);
        let mut messages = pubsub.into_on_message();
        while let Some(message) = messages.next().await {
            let Ok(payload) = message.get_payload::<String>() else {
                continue;
            };
            let channel = message.get_channel_name();
            if channel == changes {
                if let Ok(post) = PostId::parse(&payload) {
                    let _ = channels.changes.send(Change::Post(post));
                }
            } else if channel == notices {
                match serde_json::from_str::<Notice>(&payload) {
                    Ok(notice) => {
                        let _ = channels.notices.send(notice);
                    }
                    Err(error) => tracing::warn!(%error, "dropped a malformed admitted notice"),
                }
            } else if channel == submissions {
                let _ = channels.submissions.send(payload);
            }
            if channels.nobody_listens() {
                return Ok(Forwarding::NobodyListens);
            }
        }
        Ok(Forwarding::ConnectionLost)
    }
}

/// How a subscription to the changes channel ended.
enum Forwarding {
    NobodyListens,
    ConnectionLost,
}

/// A history member, `<start>:<readers>`; anything else is skipped.
fn parse_sample(member: &str) -> Option<Sample> {
    let (at, viewers) = member.split_once(':')?;
    Some(Sample {
        at: at.parse().ok()?,
        viewers: viewers.parse().ok()?,
    })
}

fn is_noscript(error: &RedisError) -> bool {
    error.kind() == ErrorKind::Server(ServerErrorKind::NoScript)
}

#[async_trait]
impl Store for RedisStore {
    async fn view(
        &self,
        session: &SessionId,
        post: &PostId,
        previous: Option<&PostId>,
        count_view: bool,
    ) -> Result<Viewing, StoreError> {
        let mut believed = previous.cloned();
        // The first try settles it unless our belief was wrong (Redis lost data, or
        // a bug); the second uses what Redis says.
        for _ in 0..3 {
            let (status, viewers, views, moved_from, readers_left) = self
                .run_view(session, post, believed.as_ref(), count_view)
                .await?;
            if status == "ok" {
                let left = PostId::parse(&moved_from)
                    .ok()
                    .map(|from| (from, readers_left));
                return Ok(Viewing {
                    viewers,
                    views,
                    left,
                });
            }
            believed = PostId::parse(&moved_from).ok();
        }
        Err(StoreError::Protocol(format!(
            "session {session} kept moving while recording a view"
        )))
    }

    async fn leave(&self, session: &SessionId, post: &PostId) -> Result<Option<u64>, StoreError> {
        let mut believed = post.clone();
        let mut removed_any = false;
        for _ in 0..3 {
            let (status, viewers, removed, other) = self.run_leave(session, &believed).await?;
            removed_any |= removed == 1;
            if status == "ok" {
                return Ok(removed_any.then_some(viewers));
            }
            match PostId::parse(&other) {
                Ok(other) => believed = other,
                Err(_) => break,
            }
        }
        Ok(None)
    }

    async fn leave_many(&self, sessions: &[(SessionId, PostId)]) -> Result<u64, StoreError> {
        if sessions.is_empty() {
            return Ok(0);
        }
        let keys = &self.shared.keys;
        let mut invocation = self.shared.leave_many.prepare_invoke();
        invocation.key(keys.sessions_hash()).key(keys.top_index());
        invocation.arg(keys.changes_channel());
        for (session, post) in sessions {
            invocation
                .key(keys.readers(post))
                .key(keys.session(session));
            invocation.arg(session.as_str()).arg(post.as_str());
        }
        let mut conn = self.connection().await?;
        Ok(invocation.invoke_async(&mut conn).await?)
    }

    async fn keep_alive(&self, sessions: &[(SessionId, PostId)]) -> Result<Vec<usize>, StoreError> {
        if sessions.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for (session, _) in sessions {
            pipe.cmd("EXPIRE")
                .arg(self.shared.keys.session(session))
                .arg(self.shared.ttl_secs);
        }
        let mut conn = self.connection().await?;
        let refreshed: Vec<bool> = pipe.query_async(&mut conn).await?;
        Ok(refreshed
            .into_iter()
            .enumerate()
            .filter_map(|(i, alive)| (!alive).then_some(i))
            .collect())
    }

    async fn viewer_counts(&self, posts: &[PostId]) -> Result<Vec<u64>, StoreError> {
        if posts.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for post in posts {
            pipe.cmd("SCARD").arg(self.shared.keys.readers(post));
        }
        let mut conn = self.connection().await?;
        Ok(pipe.query_async(&mut conn).await?)
    }

    async fn post_stats(&self, posts: &[PostId]) -> Result<Vec<PostStats>, StoreError> {
        if posts.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for post in posts {
            pipe.cmd("SCARD").arg(self.shared.keys.readers(post));
            pipe.cmd("GET").arg(self.shared.keys.views(post));
        }
        let mut conn = self.connection().await?;
        let replies: Vec<(u64, Option<u64>)> = pipe.query_async(&mut conn).await?;
        Ok(replies
            .into_iter()
            .map(|(viewers, views)| PostStats {
                viewers,
                views: views.unwrap_or(0),
            })
            .collect())
    }

    async fn top(&self, limit: usize) -> Result<Vec<(PostId, u64)>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut conn = self.connection().await?;
        let ranked: Vec<(String, u64)> = redis::cmd("ZRANGE")
            .arg(self.shared.keys.top_index())
            .arg(0)
            .arg(limit - 1)
            .arg("REV")
            .arg("WITHSCORES")
            .query_async(&mut conn)
            .await?;
        Ok(ranked
            .into_iter()
            .filter_map(|(post, viewers)| Some((PostId::parse(&post).ok()?, viewers)))
            .collect())
    }

    async fn site_stats(&self) -> Result<SiteStats, StoreError> {
        let keys = &self.shared.keys;
        let mut conn = self.connection().await?;
        let (viewers, posts): (u64, u64) = redis::pipe()
            .cmd("HLEN")
            .arg(keys.sessions_hash())
            .cmd("ZCARD")
            .arg(keys.top_index())
            .query_async(&mut conn)
            .await?;
        Ok(SiteStats { viewers, posts })
    }

    async fn record_history(&self, step: Duration, keep: Duration) -> Result<(), StoreError> {
        let keys = &self.shared.keys;
        let mut conn = self.connection().await?;
        let _: u64 = self
            .shared
            .record_history
            .key(keys.history())
            .key(keys.sessions_hash())
            .arg(step.as_secs().max(1))
            .arg(keep.as_secs())
            .invoke_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn history(&self) -> Result<Vec<Sample>, StoreError> {
        let mut conn = self.connection().await?;
        let members: Vec<String> = redis::cmd("ZRANGE")
            .arg(self.shared.keys.history())
            .arg(0)
            .arg(-1)
            .query_async(&mut conn)
            .await?;
        Ok(members.iter().filter_map(|m| parse_sample(m)).collect())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        let mut conn = self.connection().await?;
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }

    fn changes(&self) -> broadcast::Receiver<Change> {
        self.channels().changes.subscribe()
    }

    async fn admit_notice(
        &self,
        notice: &Notice,
        per_minute: u32,
        dedupe: Option<&str>,
    ) -> Result<Admission, StoreError> {
        let keys = &self.shared.keys;
        let payload = serde_json::to_string(notice)
            .map_err(|e| StoreError::Protocol(format!("cannot encode a notice: {e}")))?;
        let mut conn = self.connection().await?;
        let answer: String = self
            .shared
            .admit_notice
            .key(keys.notice_rate(notice.post_id.as_ref()))
            .key(keys.notice_seen(dedupe.unwrap_or(&notice.id)))
            .arg(per_minute)
            .arg(NOTICE_WINDOW_SECS)
            .arg(payload)
            .arg(keys.notices_channel())
            .invoke_async(&mut conn)
            .await?;
        match answer.as_str() {
            "sent" => Ok(Admission::Sent),
            "rate_limited" => Ok(Admission::RateLimited),
            "duplicate" => Ok(Admission::Duplicate),
            other => Err(StoreError::Protocol(format!(
                "admit_notice answered {other:?}"
            ))),
        }
    }

    fn notices(&self) -> broadcast::Receiver<Notice> {
        self.channels().notices.subscribe()
    }

    fn notice_submissions(&self) -> broadcast::Receiver<String> {
        self.channels().submissions.subscribe()
    }
}
