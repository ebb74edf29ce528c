//! The Redis key schema. Every key and channel name is built here and nowhere else.
//!
//! Two layouts, chosen by `redis.mode`:
//!
//! **Single** (one Redis): the 2015 names, plus the site-wide index and history.
//!
//! | key                       | type   | content                               |
//! |---------------------------|--------|---------------------------------------|
//! | `viewers`                 | hash   | session id → post id it views         |
//! | `viewers:<post-id>`       | set    | session ids viewing that post         |
//! | `session:<session-id>`    | string | post id; its TTL is the session's life |
//! | `views:<post-id>`         | string | all-time views of the post            |
//! | `presence:top`            | zset   | post id → readers, posts being read only |
//! | `presence:history`        | zset   | site-wide readers sampled over time   |
//! | `presence:changes`        | channel| post ids whose readers changed        |
//!
//! **Cluster** (Redis Cluster): every script must touch keys of one hash slot, and
//! the site-wide index must change in the same step as a post's set. So posts are
//! spread over [`CLUSTER_SHARDS`] shards by a stable hash of their id, and every key
//! of a shard carries the hash tag `{s<n>}`: the shard's hash, index and changes
//! channel, its posts' sets and views, and the session keys of sessions reading one
//! of its posts: `{s7}viewers`, `{s7}viewers:13`, `{s7}session:<id>`, `{s7}views:13`,
//! `{s7}presence:top`, `{s7}presence:changes` (a sharded pub/sub channel). A move
//! within a shard is one script, as in single mode; a move across shards is a leave
//! in the old shard, then a join in the new one. Reads for many posts are one
//! pipeline per shard, all in flight at once.
//!
//! All of them carry the configured prefix, so several sites can share one Redis.

use std::fmt;

use crate::config::{RedisConfig, RedisMode};
use crate::ids::{PostId, SessionId};

/// Shards of the cluster layout. Enough to spread over many masters (a cluster
/// moves whole slots, so each shard's slot lands on one master); few enough that
/// reading the whole site (`/api/top`, `/api/stats`) is a few dozen small commands.
/// Changing it changes every key name: it is fixed.
pub const CLUSTER_SHARDS: u16 = 64;

/// A group of posts whose keys share one hash slot in cluster mode. There is one
/// shard, shard 0, in single mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shard(u16);

impl Shard {
    pub fn index(self) -> u16 {
        self.0
    }
}

#[derive(Clone, Debug, Default)]
pub struct Keys {
    prefix: String,
    cluster: bool,
}

impl Keys {
    /// The single-Redis layout. `prefix` is validated by the config
    /// (`[A-Za-z0-9_:.-]*`), so it never contains SCAN glob characters or braces.
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            cluster: false,
        }
    }

    /// The Redis Cluster layout.
    pub fn cluster(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            cluster: true,
        }
    }

    /// The layout `redis.mode` asks for.
    pub fn for_redis(config: &RedisConfig) -> Self {
        match config.mode {
            RedisMode::Single => Self::new(config.key_prefix.clone()),
            RedisMode::Cluster => Self::cluster(config.key_prefix.clone()),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    pub fn is_cluster(&self) -> bool {
        self.cluster
    }

    /// The shard of `post`: FNV-1a of its id, so every process agrees.
    pub fn shard_of(&self, post: &PostId) -> Shard {
        if !self.cluster {
            return Shard(0);
        }
        let hash = crate::fnv::fnv1a(post.as_str().as_bytes());
        Shard((hash % u32::from(CLUSTER_SHARDS)) as u16)
    }

    /// Every shard: the one of single mode, or all of the cluster layout.
    pub fn shards(&self) -> impl Iterator<Item = Shard> + use<> {
        let count = if self.cluster { CLUSTER_SHARDS } else { 1 };
        (0..count).map(Shard)
    }

    /// `name` under the prefix, and in cluster mode under the shard's hash tag.
    fn in_shard(&self, shard: Shard, name: fmt::Arguments<'_>) -> String {
        if self.cluster {
            format!("{}{{s{}}}{name}", self.prefix, shard.0)
        } else {
            format!("{}{name}", self.prefix)
        }
    }

    /// The hash from session id to the post it views (of one shard).
    pub fn sessions_hash(&self, shard: Shard) -> String {
        self.in_shard(shard, format_args!("viewers"))
    }

    /// The set of sessions reading `post`; its SCARD is the live count.
    pub fn readers(&self, post: &PostId) -> String {
        self.in_shard(self.shard_of(post), format_args!("viewers:{post}"))
    }

    /// The TTL'd liveness key of a session reading a post of `shard`.
    pub fn session(&self, session: &SessionId, shard: Shard) -> String {
        self.in_shard(shard, format_args!("session:{session}"))
    }

    /// The all-time view counter of `post`.
    pub fn views(&self, post: &PostId) -> String {
        self.in_shard(self.shard_of(post), format_args!("views:{post}"))
    }

    /// The site-wide index (of one shard): every post being read, scored by its
    /// readers. Kept by the same scripts that change the sets, so it never drifts
    /// from them. Post keys all start `viewers:`/`views:`/`session:`, so no post id
    /// can name it.
    pub fn top_index(&self, shard: Shard) -> String {
        self.in_shard(shard, format_args!("presence:top"))
    }

    /// The pub/sub channel on which every change of a post's readers is announced;
    /// in cluster mode a sharded channel per shard, in the shard's slot, so scripts
    /// can `SPUBLISH` to it.
    pub fn changes_channel(&self, shard: Shard) -> String {
        self.in_shard(shard, format_args!("presence:changes"))
    }

    /// Samples of site-wide readers over the last hour, shared by every server.
    pub fn history(&self) -> String {
        format!("{}presence:history", self.prefix)
    }

    /// The channel on which admitted notices go to every server for delivery.
    pub fn notices_channel(&self) -> String {
        format!("{}presence:notices", self.prefix)
    }

    /// The documented channel on which other programs submit notices; servers
    /// validate and rate-limit them exactly like the HTTP API's.
    pub fn notice_submissions_channel(&self) -> String {
        format!("{}presence:notices:submit", self.prefix)
    }

    /// `name` in the notice keys' slot: one script touches a rate counter and a
    /// dedupe mark, so in cluster mode they share the tag `{notices}`.
    fn in_notices_slot(&self, name: fmt::Arguments<'_>) -> String {
        if self.cluster {
            format!("{}{{notices}}{name}", self.prefix)
        } else {
            format!("{}{name}", self.prefix)
        }
    }

    /// Fixed-window counter of notices for one post, or for the site (`None`).
    pub fn notice_rate(&self, post: Option<&PostId>) -> String {
        match post {
            Some(post) => self.in_notices_slot(format_args!("notices:rate:post:{post}")),
            None => self.in_notices_slot(format_args!("notices:rate:site")),
        }
    }

    /// Marks a submission as admitted, so the servers that all receive it from
    /// Redis admit it once.
    pub fn notice_seen(&self, digest: &str) -> String {
        self.in_notices_slot(format_args!("notices:seen:{digest}"))
    }

    /// A throwaway key gc sets with a 1 ms TTL to prove that expiry events arrive.
    pub fn expiry_probe(&self, token: &str) -> String {
        format!("{}presence:gc-probe:{token}", self.prefix)
    }

    /// SCAN pattern matching every reader set (and nothing else: the hash is
    /// `viewers` without a colon).
    pub fn readers_pattern(&self) -> String {
        if self.cluster {
            format!("{}{{s*}}viewers:*", self.prefix)
        } else {
            format!("{}viewers:*", self.prefix)
        }
    }

    /// The keyevent channel on which Redis names every key of database `db` that
    /// expired (with `notify-keyspace-events` containing `Ex`). It carries other
    /// keys too; [`Keys::session_of_key`] picks ours.
    pub fn expired_events_channel(&self, db: i64) -> String {
        format!("__keyevent@{db}__:expired")
    }

    /// Strips the prefix and, in cluster mode, the shard tag: the shard and the
    /// rest of the name. `None` for a key that is not ours.
    fn split<'k>(&self, key: &'k str) -> Option<(Shard, &'k str)> {
        let rest = key.strip_prefix(&self.prefix)?;
        if !self.cluster {
            return Some((Shard(0), rest));
        }
        let (tag, rest) = rest.strip_prefix("{s")?.split_once('}')?;
        let shard: u16 = tag.parse().ok().filter(|n| *n < CLUSTER_SHARDS)?;
        Some((Shard(shard), rest))
    }

    /// The post of a reader-set key found by SCAN, or `None` for a key that only
    /// looks like one (a foreign key under our prefix, or in the wrong shard).
    pub fn post_of_readers_key(&self, key: &str) -> Option<PostId> {
        let (shard, rest) = self.split(key)?;
        let post = PostId::parse(rest.strip_prefix("viewers:")?).ok()?;
        (self.shard_of(&post) == shard).then_some(post)
    }

    /// The session (and its shard) of a session key, as named in an `expired`
    /// event.
    pub fn session_of_key(&self, key: &str) -> Option<(SessionId, Shard)> {
        let (shard, rest) = self.split(key)?;
        let session = SessionId::parse(rest.strip_prefix("session:")?).ok()?;
        Some((session, shard))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_mode_keeps_the_2015_names_under_a_prefix() {
        let post = PostId::parse("13").unwrap();
        let session = SessionId::parse("abc").unwrap();
        let bare = Keys::default();
        let shard = bare.shard_of(&post);
        assert_eq!(bare.sessions_hash(shard), "viewers");
        assert_eq!(bare.readers(&post), "viewers:13");
        assert_eq!(bare.session(&session, shard), "session:abc");
        assert_eq!(bare.views(&post), "views:13");
        assert_eq!(bare.top_index(shard), "presence:top");
        assert_eq!(bare.changes_channel(shard), "presence:changes");
        assert_eq!(bare.notice_rate(None), "notices:rate:site");
        assert_eq!(bare.shards().count(), 1);

        let site = Keys::new("blog1:");
        assert_eq!(site.readers(&post), "blog1:viewers:13");
        assert_eq!(site.post_of_readers_key("blog1:viewers:13"), Some(post));
        assert_eq!(site.post_of_readers_key("blog2:viewers:13"), None);
        assert_eq!(
            site.session_of_key("blog1:session:abc"),
            Some((session, Shard(0)))
        );
        assert_eq!(site.session_of_key("blog1:session:a*c"), None);
    }

    #[test]
    fn cluster_mode_puts_each_post_and_its_sessions_in_one_tagged_shard() {
        let keys = Keys::cluster("blog1:");
        let post = PostId::parse("13").unwrap();
        let session = SessionId::parse("abc").unwrap();
        let shard = keys.shard_of(&post);
        let tag = format!("blog1:{{s{}}}", shard.index());
        for key in [
            keys.readers(&post),
            keys.views(&post),
            keys.sessions_hash(shard),
            keys.session(&session, shard),
            keys.top_index(shard),
            keys.changes_channel(shard),
        ] {
            assert!(key.starts_with(&tag), "{key} is not in {tag}");
        }
        assert_eq!(keys.post_of_readers_key(&keys.readers(&post)), Some(post));
        assert_eq!(
            keys.session_of_key(&keys.session(&session, shard)),
            Some((session, shard))
        );
        // A set under the wrong tag is not one of ours.
        let other = Shard((shard.index() + 1) % CLUSTER_SHARDS);
        assert_eq!(
            keys.post_of_readers_key(&format!("blog1:{{s{}}}viewers:13", other.index())),
            None
        );
        assert_eq!(keys.session_of_key("blog1:{s64}session:abc"), None);
        assert_eq!(
            keys.notice_rate(None),
            "blog1:{notices}notices:rate:site",
            "a notice script's keys share a slot"
        );
        assert!(keys.notice_seen("d").starts_with("blog1:{notices}"));
    }

    #[test]
    fn posts_spread_over_every_shard() {
        let keys = Keys::cluster("");
        let mut used = std::collections::HashSet::new();
        for n in 1..=10_000 {
            used.insert(keys.shard_of(&PostId::parse(&n.to_string()).unwrap()));
        }
        assert_eq!(used.len(), usize::from(CLUSTER_SHARDS));
    }
}
