//! [`RedisStore`]: the shared store, on one Redis or a Redis Cluster. Every
//! mutation is one EVALSHA of a script in `scripts/`, so it is atomic and one round
//! trip; reads for many posts are pipelined.
//!
//! In cluster mode every script touches keys of one shard (one hash slot; see
//! `keys.rs`), a move across shards is a leave then a join, and work for many
//! sessions or posts is one pipeline per shard, all in flight at once (a cluster
//! pipeline must stay in one slot).

mod backend;
pub mod cluster_nodes;
mod listen;

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::future::try_join_all;
use redis::{
    ErrorKind, FromRedisValue, Pipeline, RedisError, Script, ScriptInvocation, ServerErrorKind,
};
use tokio::sync::broadcast;

use self::backend::Backend;
pub(crate) use self::backend::{Conn, Traffic};
use self::listen::Channels;
use super::{Admission, Change, NOTICE_WINDOW_SECS, PostStats, Sample, SiteStats, Store, Viewing};
use crate::config::RedisConfig;
use crate::error::StoreError;
use crate::ids::{PostId, SessionId};
use crate::keys::{Keys, Shard};
use crate::notice::Notice;

/// A script that changes reader sets, with the index helper it calls prepended.
macro_rules! with_index {
    ($path:literal) => {
        concat!(include_str!("scripts/index.lua"), include_str!($path))
    };
}

/// Cheap to clone: every clone shares the connections and the changes listener.
#[derive(Clone)]
pub struct RedisStore {
    shared: Arc<Shared>,
}

struct Shared {
    backend: Backend,
    keys: Keys,
    /// The database number of the URL (always 0 in a cluster).
    db: i64,
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

/// How often a script runs with a belief about a session before giving up: a
/// session is in one post of a shard, so the second try, with the post Redis names,
/// settles it; the third guards against a concurrent move.
const BELIEF_TRIES: usize = 3;

/// One try of a script run on a belief about where a session is recorded.
enum Try<B, T> {
    /// Done; the belief was right (or nothing was there).
    Done(T),
    /// The belief was wrong (Redis lost data, or a bug): Redis says this instead.
    Instead(B),
}

/// Runs `attempt` on the caller's belief, then on what Redis says instead, at most
/// [`BELIEF_TRIES`] times; `None` if it never settled. The scripts check each
/// belief against the hash and change nothing on a wrong one, so a session is
/// never counted twice.
async fn correcting<B, T, Fut>(
    mut belief: B,
    mut attempt: impl FnMut(B) -> Fut,
) -> Result<Option<T>, StoreError>
where
    Fut: Future<Output = Result<Try<B, T>, StoreError>>,
{
    for _ in 0..BELIEF_TRIES {
        match attempt(belief).await? {
            Try::Done(done) => return Ok(Some(done)),
            Try::Instead(instead) => belief = instead,
        }
    }
    Ok(None)
}

/// What [`RedisStore::resilient`] sends.
#[derive(Clone, Copy)]
enum Request<'a> {
    Command(&'a redis::Cmd),
    Pipeline(&'a Pipeline),
    Script(&'a ScriptInvocation<'a>),
}

/// The reply of `leave.lua`: status, readers left, removed from set, other post.
type LeaveReply = (String, u64, u64, String);
/// The reply of `view.lua`: status, readers, views, moved from, readers left there.
type ViewReply = (String, u64, u64, String, u64);

impl RedisStore {
    /// Connections are made on first use, so this succeeds while Redis is down;
    /// `/readyz` tells the truth from then on. `keys` must be the layout of
    /// `config.mode` ([`Keys::for_redis`]).
    pub fn connect(
        config: &RedisConfig,
        keys: Keys,
        session_ttl: Duration,
    ) -> Result<Self, StoreError> {
        if keys.is_cluster() != (config.mode == crate::config::RedisMode::Cluster) {
            return Err(StoreError::LayoutMismatch);
        }
        let backend = Backend::open(config)?;
        let db = match &backend {
            Backend::Single { client, .. } => client.get_connection_info().redis_settings().db(),
            Backend::Cluster(_) => 0,
        };
        Ok(Self {
            shared: Arc::new(Shared {
                backend,
                keys,
                db,
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
        self.shared.db
    }

    pub(crate) async fn connection(&self, traffic: Traffic) -> Result<Conn, StoreError> {
        self.shared.backend.connection(traffic).await
    }

    /// A plain client for every master, for what only a node can do: keyspace
    /// events (each node sends only its own keys'), CONFIG, SCAN. One client on a
    /// single Redis; in a cluster, the masters it names now (ask again after a
    /// failover).
    pub async fn masters(&self) -> Result<Vec<(String, redis::Client)>, StoreError> {
        match &self.shared.backend {
            Backend::Single { client, .. } => Ok(vec![(
                client.get_connection_info().addr().to_string(),
                client.clone(),
            )]),
            Backend::Cluster(cluster) => {
                let urls = &cluster.urls;
                let mut conn = self.connection(Traffic::Batch).await?;
                let nodes: String = redis::cmd("CLUSTER")
                    .arg("NODES")
                    .query_async(&mut conn)
                    .await?;
                let seed =
                    backend::connection_info(urls.first().map(String::as_str).unwrap_or_default())?;
                cluster_nodes::parse(&nodes)
                    .into_iter()
                    .filter(cluster_nodes::ClusterNode::is_live_master)
                    .map(|cluster_nodes::ClusterNode { host, port, .. }| {
                        let addr = match seed.addr() {
                            redis::ConnectionAddr::TcpTls {
                                insecure,
                                tls_params,
                                ..
                            } => redis::ConnectionAddr::TcpTls {
                                host: host.clone(),
                                port,
                                insecure: *insecure,
                                tls_params: tls_params.clone(),
                            },
                            _ => redis::ConnectionAddr::Tcp(host.clone(), port),
                        };
                        let client = redis::Client::open(seed.clone().set_addr(addr))?;
                        Ok((format!("{host}:{port}"), client))
                    })
                    .collect()
            }
        }
    }

    /// Runs `add(pipe, item)` for every item, in one pipeline per shard (just one
    /// on a single Redis), all at once, and returns the replies in item order.
    /// Each item must add the same number of commands, whose replies make one `R`.
    /// Scripts Redis lost (a restart, SCRIPT FLUSH) are loaded and the pipeline
    /// repeated.
    async fn per_shard<T, R>(
        &self,
        traffic: Traffic,
        items: &[T],
        shard_of: impl Fn(&T) -> Shard,
        add: impl Fn(&mut Pipeline, &T),
    ) -> Result<Vec<R>, StoreError>
    where
        R: FromRedisValue + Send,
    {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let groups = group_by_shard(items, shard_of);
        let pipelines = groups.iter().map(|indices| {
            let mut pipe = redis::pipe();
            for &i in indices {
                add(&mut pipe, &items[i]);
            }
            async move {
                self.resilient::<Vec<R>>(traffic, Request::Pipeline(&pipe))
                    .await
            }
        });
        let replies = try_join_all(pipelines).await?;
        let mut ordered: Vec<Option<R>> =
            std::iter::repeat_with(|| None).take(items.len()).collect();
        for (indices, replies) in groups.iter().zip(replies) {
            if replies.len() != indices.len() {
                return Err(StoreError::ShortReply);
            }
            for (&i, reply) in indices.iter().zip(replies) {
                ordered[i] = Some(reply);
            }
        }
        ordered
            .into_iter()
            .map(|reply| reply.ok_or(StoreError::ShortReply))
            .collect()
    }

    /// Runs `query` on a connection of `traffic`, and runs it again when Redis lost
    /// its scripts (a restart, SCRIPT FLUSH: they are loaded again) or had dropped
    /// the connection (a restart, an idle timeout: the shared connection finds out
    /// only on its next command, which fails even though Redis is back, and
    /// reconnects on that failure), each at most once, so a caller sees
    /// `unavailable` only when Redis really is. Everything sent through here is
    /// safe to run twice: reads, EXPIREs, and scripts that check what they change
    /// (`view.lua` counts a view only when it adds the session to the set).
    async fn resilient<R: FromRedisValue>(
        &self,
        traffic: Traffic,
        request: Request<'_>,
    ) -> Result<R, StoreError> {
        let mut conn = self.connection(traffic).await?;
        let (mut reloaded, mut reconnected) = (false, false);
        loop {
            let reply = match request {
                Request::Command(command) => command.query_async(&mut conn).await,
                Request::Pipeline(pipe) => pipe.query_async(&mut conn).await,
                Request::Script(script) => script.invoke_async(&mut conn).await,
            };
            match reply {
                Ok(reply) => return Ok(reply),
                Err(error) if is_noscript(&error) && !reloaded => {
                    reloaded = true;
                    self.load_scripts(&mut conn).await?;
                }
                Err(error) if error.is_connection_dropped() && !reconnected => {
                    reconnected = true;
                    tracing::debug!(%error, "Redis dropped the connection; trying once more");
                    conn = self.connection(traffic).await?;
                }
                Err(error) => return Err(error.into()),
            }
        }
    }

    async fn load_scripts(&self, conn: &mut Conn) -> Result<(), StoreError> {
        let shared = &self.shared;
        for script in [&shared.view, &shared.leave, &shared.reindex] {
            script.prepare_invoke().load_async(conn).await?;
        }
        Ok(())
    }

    /// `PUBLISH` on a single Redis; in a cluster the changes channels are sharded
    /// (`SPUBLISH` reaches only the shard's nodes, not the whole cluster).
    fn publish_command(&self) -> &'static str {
        if self.shared.keys.is_cluster() {
            "SPUBLISH"
        } else {
            "PUBLISH"
        }
    }

    /// Reaps sessions whose keys expired, wherever their shard's hash says they
    /// were: one pipelined HGET, then one pipeline of scripts (per shard). A
    /// session that is alive again is left alone (the script checks, atomically).
    pub async fn reap_expired(
        &self,
        sessions: &[(SessionId, Shard)],
    ) -> Result<Vec<ReapOutcome>, StoreError> {
        let keys = &self.shared.keys;
        let posts: Vec<Option<String>> = self
            .per_shard(
                Traffic::Batch,
                sessions,
                |(_, shard)| *shard,
                |pipe, (session, shard)| {
                    pipe.cmd("HGET")
                        .arg(keys.sessions_hash(*shard))
                        .arg(session.as_str());
                },
            )
            .await?;
        let recorded: Vec<(usize, (SessionId, PostId))> = sessions
            .iter()
            .zip(posts)
            .enumerate()
            .filter_map(|(i, ((session, _), post))| {
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
        let mut outcomes = vec![ReapOutcome::Absent; entries.len()];
        let mut pending: Vec<(usize, PostId)> = entries
            .iter()
            .enumerate()
            .map(|(i, (_, post))| (i, post.clone()))
            .collect();
        for _ in 0..BELIEF_TRIES {
            if pending.is_empty() {
                break;
            }
            let replies: Vec<LeaveReply> = self
                .per_shard(
                    Traffic::Batch,
                    &pending,
                    |(_, post)| self.shared.keys.shard_of(post),
                    |pipe, (i, post)| self.add_leave(pipe, &entries[*i].0, post, "reap"),
                )
                .await?;
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

    /// Whether each session's key exists (one pipelined EXISTS per shard).
    pub async fn sessions_alive(
        &self,
        sessions: &[(SessionId, PostId)],
    ) -> Result<Vec<bool>, StoreError> {
        let keys = &self.shared.keys;
        self.per_shard(
            Traffic::Batch,
            sessions,
            |(_, post)| keys.shard_of(post),
            |pipe, (session, post)| {
                pipe.cmd("EXISTS")
                    .arg(keys.session(session, keys.shard_of(post)));
            },
        )
        .await
    }

    /// Sets each post's score in the site-wide index to its readers, atomically per
    /// shard; returns how many were wrong. The sweep's repair.
    pub async fn reindex(&self, posts: &[PostId]) -> Result<u64, StoreError> {
        let keys = &self.shared.keys;
        let calls = group_by_shard(posts, |post| keys.shard_of(post))
            .into_iter()
            .map(|indices| async move {
                let shard = keys.shard_of(&posts[indices[0]]);
                let mut invocation = self.shared.reindex.prepare_invoke();
                invocation.key(keys.top_index(shard));
                for &i in &indices {
                    invocation
                        .key(keys.readers(&posts[i]))
                        .arg(posts[i].as_str());
                }
                let mut conn = self.connection(Traffic::Batch).await?;
                Ok::<u64, StoreError>(invocation.invoke_async(&mut conn).await?)
            });
        Ok(try_join_all(calls).await?.into_iter().sum())
    }

    fn add_leave(&self, pipe: &mut Pipeline, session: &SessionId, post: &PostId, mode: &str) {
        let keys = &self.shared.keys;
        let shard = keys.shard_of(post);
        pipe.cmd("EVALSHA")
            .arg(self.shared.leave.get_hash())
            .arg(4)
            .arg(keys.sessions_hash(shard))
            .arg(keys.readers(post))
            .arg(keys.session(session, shard))
            .arg(keys.top_index(shard))
            .arg(session.as_str())
            .arg(post.as_str())
            .arg(keys.changes_channel(shard))
            .arg(mode)
            .arg(self.publish_command());
    }

    async fn run_view(
        &self,
        session: &SessionId,
        post: &PostId,
        believed: Option<&PostId>,
        count_view: bool,
    ) -> Result<ViewReply, StoreError> {
        let keys = &self.shared.keys;
        let shard = keys.shard_of(post);
        let mut invocation = self.shared.view.prepare_invoke();
        invocation
            .key(keys.sessions_hash(shard))
            .key(keys.readers(post))
            .key(keys.session(session, shard))
            .key(keys.views(post))
            .key(keys.readers(believed.unwrap_or(post)))
            .key(keys.top_index(shard))
            .arg(session.as_str())
            .arg(post.as_str())
            .arg(believed.map_or("", PostId::as_str))
            .arg(self.shared.ttl_secs)
            .arg(if count_view { "1" } else { "0" })
            .arg(keys.changes_channel(shard))
            .arg(self.publish_command());
        self.resilient(Traffic::Event, Request::Script(&invocation))
            .await
    }

    /// One shard's part of [`Store::leave_many`]: one atomic script.
    async fn leave_many_in_shard(
        &self,
        shard: Shard,
        sessions: Vec<&(SessionId, PostId)>,
    ) -> Result<u64, StoreError> {
        let keys = &self.shared.keys;
        let mut invocation = self.shared.leave_many.prepare_invoke();
        invocation
            .key(keys.sessions_hash(shard))
            .key(keys.top_index(shard));
        invocation
            .arg(keys.changes_channel(shard))
            .arg(self.publish_command());
        for (session, post) in sessions {
            invocation
                .key(keys.readers(post))
                .key(keys.session(session, shard));
            invocation.arg(session.as_str()).arg(post.as_str());
        }
        let mut conn = self.connection(Traffic::Batch).await?;
        Ok(invocation.invoke_async(&mut conn).await?)
    }

    /// The subscription, started on first use.
    fn channels(&self) -> &Channels {
        self.shared.channels.get_or_init(|| {
            let channels = Channels::new();
            tokio::spawn(listen::run(self.clone(), channels.clone()));
            channels
        })
    }
}

/// Indices of `items` grouped by shard (each group non-empty, in item order).
fn group_by_shard<T>(items: &[T], shard_of: impl Fn(&T) -> Shard) -> Vec<Vec<usize>> {
    let mut groups: HashMap<Shard, Vec<usize>> = HashMap::new();
    for (i, item) in items.iter().enumerate() {
        groups.entry(shard_of(item)).or_default().push(i);
    }
    groups.into_values().collect()
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
        let keys = &self.shared.keys;
        let mut believed = previous.cloned();
        let mut left = None;
        if let Some(old) = previous.filter(|old| keys.shard_of(old) != keys.shard_of(post)) {
            // A move across shards (cluster only) cannot be one script: leave the
            // old shard first, so the session is never counted twice, then join.
            left = self
                .leave(session, old)
                .await?
                .map(|readers| (old.clone(), readers));
            believed = None;
        }
        let recorded = correcting(believed, |believed| async move {
            let (status, viewers, views, moved_from, readers_left) = self
                .run_view(session, post, believed.as_ref(), count_view)
                .await?;
            Ok(match status.as_str() {
                "ok" => Try::Done((viewers, views, moved_from, readers_left)),
                _ => Try::Instead(PostId::parse(&moved_from).ok()),
            })
        })
        .await?;
        let Some((viewers, views, moved_from, readers_left)) = recorded else {
            return Err(StoreError::KeptMoving(session.clone()));
        };
        let moved = PostId::parse(&moved_from)
            .ok()
            .map(|from| (from, readers_left));
        Ok(Viewing {
            viewers,
            views,
            left: moved.or(left),
        })
    }

    async fn leave(&self, session: &SessionId, post: &PostId) -> Result<Option<u64>, StoreError> {
        // Removed on a wrong try too (the script removes what it finds).
        let removed_any = AtomicBool::new(false);
        let left = correcting(post.clone(), |believed| {
            let removed_any = &removed_any;
            async move {
                let replies: Vec<LeaveReply> = self
                    .per_shard(
                        Traffic::Event,
                        std::slice::from_ref(&believed),
                        |post| self.shared.keys.shard_of(post),
                        |pipe, post| self.add_leave(pipe, session, post, "leave"),
                    )
                    .await?;
                let Some((status, viewers, removed, other)) = replies.into_iter().next() else {
                    return Err(StoreError::ShortReply);
                };
                if removed == 1 {
                    removed_any.store(true, Ordering::Relaxed);
                }
                Ok(match (status.as_str(), PostId::parse(&other)) {
                    ("ok", _) => Try::Done(Some(viewers)),
                    // Redis names no other post: nothing is recorded anywhere.
                    (_, Err(_)) => Try::Done(None),
                    (_, Ok(other)) => Try::Instead(other),
                })
            }
        })
        .await?;
        Ok(left
            .flatten()
            .filter(|_| removed_any.load(Ordering::Relaxed)))
    }

    async fn leave_many(&self, sessions: &[(SessionId, PostId)]) -> Result<u64, StoreError> {
        let keys = &self.shared.keys;
        let calls = group_by_shard(sessions, |(_, post)| keys.shard_of(post))
            .into_iter()
            .map(|indices| {
                let shard = keys.shard_of(&sessions[indices[0]].1);
                self.leave_many_in_shard(shard, indices.iter().map(|&i| &sessions[i]).collect())
            });
        Ok(try_join_all(calls).await?.into_iter().sum())
    }

    async fn keep_alive(&self, sessions: &[(SessionId, PostId)]) -> Result<Vec<usize>, StoreError> {
        let keys = &self.shared.keys;
        let ttl = self.shared.ttl_secs;
        let refreshed: Vec<bool> = self
            .per_shard(
                Traffic::Batch,
                sessions,
                |(_, post)| keys.shard_of(post),
                |pipe, (session, post)| {
                    pipe.cmd("EXPIRE")
                        .arg(keys.session(session, keys.shard_of(post)))
                        .arg(ttl);
                },
            )
            .await?;
        Ok(refreshed
            .into_iter()
            .enumerate()
            .filter_map(|(i, alive)| (!alive).then_some(i))
            .collect())
    }

    async fn viewer_counts(&self, posts: &[PostId]) -> Result<Vec<u64>, StoreError> {
        let keys = &self.shared.keys;
        self.per_shard(
            Traffic::Event,
            posts,
            |post| keys.shard_of(post),
            |pipe, post| {
                pipe.cmd("SCARD").arg(keys.readers(post));
            },
        )
        .await
    }

    async fn post_stats(&self, posts: &[PostId]) -> Result<Vec<PostStats>, StoreError> {
        let keys = &self.shared.keys;
        let replies: Vec<(u64, Option<u64>)> = self
            .per_shard(
                Traffic::Event,
                posts,
                |post| keys.shard_of(post),
                |pipe, post| {
                    pipe.cmd("SCARD").arg(keys.readers(post));
                    pipe.cmd("GET").arg(keys.views(post));
                },
            )
            .await?;
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
        let keys = &self.shared.keys;
        let shards: Vec<Shard> = keys.shards().collect();
        // Each shard's best `limit`, merged: the site's best are among them.
        let per_shard: Vec<Vec<(String, u64)>> = self
            .per_shard(
                Traffic::Event,
                &shards,
                |shard| *shard,
                |pipe, shard| {
                    pipe.cmd("ZRANGE")
                        .arg(keys.top_index(*shard))
                        .arg(0)
                        .arg(limit - 1)
                        .arg("REV")
                        .arg("WITHSCORES");
                },
            )
            .await?;
        let mut ranked: Vec<(PostId, u64)> = per_shard
            .into_iter()
            .flatten()
            .filter_map(|(post, viewers)| Some((PostId::parse(&post).ok()?, viewers)))
            .collect();
        // As ZRANGE … REV orders one index: most readers first, ties by id descending.
        ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.as_str().cmp(a.0.as_str())));
        ranked.truncate(limit);
        Ok(ranked)
    }

    async fn site_stats(&self) -> Result<SiteStats, StoreError> {
        let keys = &self.shared.keys;
        let shards: Vec<Shard> = keys.shards().collect();
        let counts: Vec<(u64, u64)> = self
            .per_shard(
                Traffic::Event,
                &shards,
                |shard| *shard,
                |pipe, shard| {
                    pipe.cmd("HLEN").arg(keys.sessions_hash(*shard));
                    pipe.cmd("ZCARD").arg(keys.top_index(*shard));
                },
            )
            .await?;
        Ok(counts
            .into_iter()
            .fold(SiteStats::default(), |total, (viewers, posts)| SiteStats {
                viewers: total.viewers + viewers,
                posts: total.posts + posts,
            }))
    }

    async fn record_history(&self, step: Duration, keep: Duration) -> Result<(), StoreError> {
        let viewers = self.site_stats().await?.viewers;
        let mut conn = self.connection(Traffic::Event).await?;
        let _: u64 = self
            .shared
            .record_history
            .key(self.shared.keys.history())
            .arg(step.as_secs().max(1))
            .arg(keep.as_secs())
            .arg(viewers)
            .invoke_async(&mut conn)
            .await?;
        Ok(())
    }

    async fn history(&self) -> Result<Vec<Sample>, StoreError> {
        let mut range = redis::cmd("ZRANGE");
        range.arg(self.shared.keys.history()).arg(0).arg(-1);
        let members: Vec<String> = self
            .resilient(Traffic::Event, Request::Command(&range))
            .await?;
        Ok(members.iter().filter_map(|m| parse_sample(m)).collect())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        // On a cluster, PING goes to every node: ready means all of them answer.
        let _: String = self
            .resilient(Traffic::Event, Request::Command(&redis::cmd("PING")))
            .await?;
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
        let payload = serde_json::to_string(notice)?;
        let mut conn = self.connection(Traffic::Event).await?;
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
            other => Err(StoreError::UnexpectedReply(other.to_owned())),
        }
    }

    fn notices(&self) -> broadcast::Receiver<Notice> {
        self.channels().notices.subscribe()
    }

    fn notice_submissions(&self) -> broadcast::Receiver<String> {
        self.channels().submissions.subscribe()
    }
}
