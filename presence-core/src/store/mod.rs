//! Where readers are recorded: the [`Store`] trait and its two implementations.
//!
//! [`RedisStore`] is the real one: shared by every process, each mutation one atomic
//! Lua script. [`MemoryStore`] has the same semantics (TTLs included) inside one
//! process, so `cargo run` works on a bare machine. One conformance suite in
//! `tests/` runs against both.

mod memory;
mod redis;

use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::broadcast;

use crate::error::StoreError;
use crate::ids::{PostId, SessionId};
use crate::notice::Notice;

pub use self::memory::MemoryStore;
pub(crate) use self::redis::Traffic;
pub use self::redis::{ReapOutcome, RedisStore, cluster_nodes};

/// How many change announcements a slow listener may fall behind before it is told
/// to resynchronise instead. Bounded so a flood cannot grow memory.
pub const CHANGE_BUFFER: usize = 4096;

/// A session's reading as recorded by [`Store::view`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Viewing {
    /// Readers of the post now, this session included.
    pub viewers: u64,
    /// All-time views of the post.
    pub views: u64,
    /// The post the session moved away from, with the readers left there.
    pub left: Option<(PostId, u64)>,
}

/// A post's figures: what the HTTP API serves and every `viewers` event carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PostStats {
    pub viewers: u64,
    pub views: u64,
}

/// The whole site's figures now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SiteStats {
    /// Readers on every post together.
    pub viewers: u64,
    /// Posts with at least one reader.
    pub posts: u64,
}

/// Site-wide readers at one moment, for the dashboard's chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    /// Start of the sampling step, in Unix seconds (the store's clock).
    pub at: u64,
    pub viewers: u64,
}

/// The window of the notice rate limits.
pub const NOTICE_WINDOW_SECS: u64 = 60;

/// What became of a notice offered to [`Store::admit_notice`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// On its way to every server.
    Sent,
    /// Its scope (post or site) had its quota for the current minute.
    RateLimited,
    /// This submission was already admitted (by another server).
    Duplicate,
}

/// An announcement on the changes channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// The readers of this post changed.
    Post(PostId),
    /// Announcements may have been lost (a reconnect, or the listener fell behind):
    /// every post's count must be read again.
    Resync,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Records that `session` reads `post`, moving it off `previous` (the post the
    /// caller believes it read) and keeping it alive for one TTL. `count_view` adds
    /// one to the post's all-time views if this starts a reading.
    async fn view(
        &self,
        session: &SessionId,
        post: &PostId,
        previous: Option<&PostId>,
        count_view: bool,
    ) -> Result<Viewing, StoreError>;

    /// Removes `session` at once (its socket closed). Returns the readers left on
    /// the post it read, or `None` if it was not recorded.
    async fn leave(&self, session: &SessionId, post: &PostId) -> Result<Option<u64>, StoreError>;

    /// Removes many sessions in one atomic step (a shutdown), announcing each
    /// affected post once. Returns how many were removed.
    async fn leave_many(&self, sessions: &[(SessionId, PostId)]) -> Result<u64, StoreError>;

    /// Pushes back the expiry of live sessions, all in one round trip. Returns the
    /// indices of sessions the store had lost (expired, or a Redis that restarted
    /// empty) so the caller can record them again.
    async fn keep_alive(&self, sessions: &[(SessionId, PostId)]) -> Result<Vec<usize>, StoreError>;

    /// Live readers of each post, in order, in one round trip.
    async fn viewer_counts(&self, posts: &[PostId]) -> Result<Vec<u64>, StoreError>;

    /// Live readers and all-time views of each post, in order, in one round trip.
    async fn post_stats(&self, posts: &[PostId]) -> Result<Vec<PostStats>, StoreError>;

    /// The `limit` posts with the most readers now, most first.
    async fn top(&self, limit: usize) -> Result<Vec<(PostId, u64)>, StoreError>;

    /// Readers on the whole site and posts being read, in one round trip.
    async fn site_stats(&self) -> Result<SiteStats, StoreError>;

    /// Offers a sample of site-wide readers for the current step of `step`; every
    /// server offers one and the store keeps one per step, for `keep`.
    async fn record_history(&self, step: Duration, keep: Duration) -> Result<(), StoreError>;

    /// The samples kept, oldest first.
    async fn history(&self) -> Result<Vec<Sample>, StoreError>;

    /// Succeeds when the store answers; `/readyz` reports the error otherwise.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Announcements of changed posts, from this and every other process.
    /// A lagging receiver gets `RecvError::Lagged`, which means [`Change::Resync`].
    fn changes(&self) -> broadcast::Receiver<Change>;

    /// Offers a notice for delivery: at most `per_minute` per scope (its post, or
    /// the site) across all processes, and once per `dedupe` key if given.
    async fn admit_notice(
        &self,
        notice: &Notice,
        per_minute: u32,
        dedupe: Option<&str>,
    ) -> Result<Admission, StoreError>;

    /// Admitted notices, from this and every other process, for delivery to this
    /// process's sockets.
    fn notices(&self) -> broadcast::Receiver<Notice>;

    /// Raw notices submitted by other programs on the Redis channel, still to be
    /// validated and admitted. The in-memory store has no such channel.
    fn notice_submissions(&self) -> broadcast::Receiver<String>;
}
