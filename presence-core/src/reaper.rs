//! The reaper: removes sessions that died without saying goodbye.
//!
//! Two ways in, one script (`leave.lua` in reap mode) for both:
//! - [`Reaper::reap_expired`] for a keyspace `expired` event, which is fast but
//!   fire-and-forget: events sent while gc was away are simply lost;
//! - [`Reaper::sweep`], which walks every reader set and the `viewers` hash and
//!   removes entries whose session key is gone. It makes gc exact, whatever events
//!   were lost, and repairs any drift between the hash and the sets. Then it sets
//!   the site-wide index right for every post it met in a set or in the index
//!   (`reindex.lua`), which repairs the index after anything that bypassed the
//!   scripts (a restore, a hand edit).
//!
//! The sweep uses SCAN/SSCAN/HSCAN and pipelined EXISTS in batches: never KEYS or
//! SMEMBERS, which would block Redis on a large site. On a cluster it SCANs every
//! master (each holds only its slots' keys) and walks every shard's hash and index.

use std::time::{Duration, Instant};

use crate::error::StoreError;
use crate::ids::{PostId, SessionId};
use crate::keys::Shard;
use crate::store::{ReapOutcome, RedisStore, Traffic};

#[derive(Clone)]
pub struct Reaper {
    store: RedisStore,
    batch_size: usize,
}

/// What one sweep did, for logs and metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Set members and hash entries looked at.
    pub checked: u64,
    /// Stale entries removed.
    pub removed: u64,
    /// Posts whose score in the site-wide index was wrong.
    pub reindexed: u64,
    pub duration: Duration,
}

impl Reaper {
    pub fn new(store: RedisStore, batch_size: usize) -> Self {
        Self {
            store,
            batch_size: batch_size.max(1),
        }
    }

    pub fn store(&self) -> &RedisStore {
        &self.store
    }

    /// Reaps the sessions of expired keys; returns how many were removed (a session
    /// already gone, or alive again, is not).
    pub async fn reap_expired(&self, sessions: &[(SessionId, Shard)]) -> Result<u64, StoreError> {
        let outcomes = self.store.reap_expired(sessions).await?;
        Ok(count_reaped(&outcomes))
    }

    /// One full reconciling pass over the reader sets and the hash.
    pub async fn sweep(&self) -> Result<SweepReport, StoreError> {
        let started = Instant::now();
        let mut report = SweepReport::default();
        let posts = self.sweep_reader_sets(&mut report).await?;
        self.sweep_sessions_hashes(&mut report).await?;
        self.repair_index(posts, &mut report).await?;
        report.duration = started.elapsed();
        Ok(report)
    }

    /// Returns the posts whose sets it met, for the index repair.
    async fn sweep_reader_sets(&self, report: &mut SweepReport) -> Result<Vec<PostId>, StoreError> {
        let keys = self.store.keys();
        let pattern = keys.readers_pattern();
        let mut posts = Vec::new();
        for (_, master) in self.store.masters().await? {
            let mut node = master.get_multiplexed_async_connection().await?;
            let mut cursor: u64 = 0;
            loop {
                let (next, set_keys): (u64, Vec<String>) = redis::cmd("SCAN")
                    .arg(cursor)
                    .arg("MATCH")
                    .arg(&pattern)
                    .arg("COUNT")
                    .arg(self.batch_size)
                    .arg("TYPE")
                    .arg("set")
                    .query_async(&mut node)
                    .await?;
                for set_key in set_keys {
                    if let Some(post) = keys.post_of_readers_key(&set_key) {
                        self.sweep_reader_set(&set_key, &post, report).await?;
                        posts.push(post);
                    }
                }
                cursor = next;
                if cursor == 0 {
                    break;
                }
            }
        }
        Ok(posts)
    }

    /// Rescores every post in `posts` and every post in the index, in batches.
    /// A post appears in both, usually: rescoring is idempotent, so no need to
    /// remember which were done.
    async fn repair_index(
        &self,
        posts: Vec<PostId>,
        report: &mut SweepReport,
    ) -> Result<(), StoreError> {
        for batch in posts.chunks(self.batch_size) {
            report.reindexed += self.store.reindex(batch).await?;
        }
        for shard in self.store.keys().shards() {
            let index = self.store.keys().top_index(shard);
            let mut pages = self.scan("ZSCAN", &index);
            while let Some(scored) = pages.next(self).await? {
                // Members and scores alternate.
                let posts: Vec<PostId> = scored
                    .iter()
                    .step_by(2)
                    .filter_map(|member| PostId::parse(member).ok())
                    .collect();
                report.reindexed += self.store.reindex(&posts).await?;
            }
        }
        Ok(())
    }

    async fn sweep_reader_set(
        &self,
        set_key: &str,
        post: &PostId,
        report: &mut SweepReport,
    ) -> Result<(), StoreError> {
        let mut pages = self.scan("SSCAN", set_key);
        while let Some(members) = pages.next(self).await? {
            let entries = members
                .iter()
                .filter_map(|member| SessionId::parse(member).ok())
                .map(|session| (session, post.clone()))
                .collect();
            self.reap_dead(entries, report).await?;
        }
        Ok(())
    }

    async fn sweep_sessions_hashes(&self, report: &mut SweepReport) -> Result<(), StoreError> {
        for shard in self.store.keys().shards() {
            self.sweep_sessions_hash(shard, report).await?;
        }
        Ok(())
    }

    async fn sweep_sessions_hash(
        &self,
        shard: Shard,
        report: &mut SweepReport,
    ) -> Result<(), StoreError> {
        let hash = self.store.keys().sessions_hash(shard);
        let mut pages = self.scan("HSCAN", &hash);
        while let Some(fields) = pages.next(self).await? {
            let entries = fields
                .chunks_exact(2)
                .filter_map(|pair| {
                    Some((
                        SessionId::parse(&pair[0]).ok()?,
                        PostId::parse(&pair[1]).ok()?,
                    ))
                })
                .collect();
            self.reap_dead(entries, report).await?;
        }
        Ok(())
    }

    /// A walk over one set, hash or sorted set with `command` (SSCAN, HSCAN,
    /// ZSCAN) in pages of `batch_size`.
    fn scan<'k>(&self, command: &'static str, key: &'k str) -> KeyScan<'k> {
        KeyScan {
            command,
            key,
            cursor: Some(0),
        }
    }

    /// Checks which sessions' keys are gone (one pipeline of EXISTS) and reaps those
    /// (one pipeline of scripts, which check again atomically).
    async fn reap_dead(
        &self,
        entries: Vec<(SessionId, PostId)>,
        report: &mut SweepReport,
    ) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        report.checked += entries.len() as u64;
        let alive = self.store.sessions_alive(&entries).await?;
        let dead: Vec<(SessionId, PostId)> = entries
            .into_iter()
            .zip(alive)
            .filter_map(|(entry, alive)| (!alive).then_some(entry))
            .collect();
        if dead.is_empty() {
            return Ok(());
        }
        let outcomes = self.store.reap_many(&dead).await?;
        report.removed += count_reaped(&outcomes);
        Ok(())
    }
}

fn count_reaped(outcomes: &[ReapOutcome]) -> u64 {
    outcomes
        .iter()
        .filter(|outcome| matches!(outcome, ReapOutcome::Reaped { .. }))
        .count() as u64
}

/// Pages of one key's SSCAN/HSCAN/ZSCAN: members, or field/value and member/score
/// pairs flattened.
struct KeyScan<'k> {
    command: &'static str,
    key: &'k str,
    /// `None` once Redis said the walk is complete.
    cursor: Option<u64>,
}

impl KeyScan<'_> {
    /// The next page, or `None` at the end. The connection is given back before
    /// the caller works on the page (which makes its own round trips).
    async fn next(&mut self, reaper: &Reaper) -> Result<Option<Vec<String>>, StoreError> {
        let Some(cursor) = self.cursor else {
            return Ok(None);
        };
        let mut conn = reaper.store.connection(Traffic::Batch).await?;
        let (next, items): (u64, Vec<String>) = redis::cmd(self.command)
            .arg(self.key)
            .arg(cursor)
            .arg("COUNT")
            .arg(reaper.batch_size)
            .query_async(&mut conn)
            .await?;
        self.cursor = (next != 0).then_some(next);
        Ok(Some(items))
    }
}
