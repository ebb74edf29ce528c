//! Count fan-out: turns announcements on the changes channel into `viewers` pushes
//! to this process's rooms (readers and watchers of a post) and its SSE feeds.
//!
//! Counts always come fresh from the store (one pipelined read for all due posts),
//! never from in-process state, so readers on every process agree.
//!
//! Coalescing: a popular post with N local readers and churn c/s would cost N·c
//! messages/s if every change were pushed. Instead a post is pushed at most once
//! per interval, and only when its count changed. Small rooms (up to
//! `fanout.small_room` local readers) are pushed at once; above that the interval
//! grows with the room, reaching `fanout.max_interval_ms` at 100 × `small_room`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use presence_core::{Change, PostId, Store};
use socketioxide::SocketIo;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{Notify, mpsc};
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use crate::feeds::Feeds;
use crate::log_throttle::LogThrottle;
use crate::metrics::Metrics;
use crate::sessions::{Answer, Sessions, room, watch_room};

/// Posts read per store round trip.
const READ_BATCH: usize = 500;
/// Wait before trying again after the store failed.
const RETRY_AFTER: Duration = Duration::from_millis(500);

/// Who hears pushes on this process: the sockets reading or watching a post, and
/// the event streams listening to it.
pub struct Audience {
    pub io: SocketIo,
    pub sessions: Sessions,
    pub feeds: Arc<Feeds>,
}

pub struct Fanout {
    store: Arc<dyn Store>,
    io: SocketIo,
    sessions: Sessions,
    feeds: Arc<Feeds>,
    small_room: usize,
    max_interval: Duration,
    /// Posts announced as changed and not pushed yet.
    dirty: HashSet<PostId>,
    /// When each post was last pushed, and the count pushed.
    pushed: HashMap<PostId, (Instant, u64)>,
    /// Posts whose room must be pushed even if the count did not change: a socket
    /// there was answered with another count (see [`Answer`]).
    forced: HashSet<PostId>,
    answers: mpsc::Receiver<Answer>,
    errors: LogThrottle,
    metrics: Arc<Metrics>,
    /// Woken on a resync: the store may have lost sessions (a Redis restart), and
    /// keep-alive should find out now rather than at its next tick.
    resynced: Arc<Notify>,
}

impl Fanout {
    pub fn new(
        store: Arc<dyn Store>,
        Audience {
            io,
            sessions,
            feeds,
        }: Audience,
        config: &presence_core::config::FanoutConfig,
        metrics: Arc<Metrics>,
        resynced: Arc<Notify>,
        answers: mpsc::Receiver<Answer>,
    ) -> Self {
        Self {
            store,
            io,
            sessions,
            feeds,
            small_room: config.small_room,
            max_interval: Duration::from_millis(config.max_interval_ms),
            dirty: HashSet::new(),
            pushed: HashMap::new(),
            forced: HashSet::new(),
            answers,
            errors: LogThrottle::default(),
            metrics,
            resynced,
        }
    }

    /// The shortest time between two pushes to a room of `readers`.
    pub fn interval_for(&self, readers: usize) -> Duration {
        if readers <= self.small_room {
            return Duration::ZERO;
        }
        let full = self.small_room.saturating_mul(100).max(1);
        self.max_interval
            .mul_f64((readers as f64 / full as f64).min(1.0))
    }

    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut changes = self.store.changes();
        let mut wake_at = Instant::now();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                change = changes.recv() => {
                    if !self.note(change) {
                        return;
                    }
                    // Take everything already queued before reading counts.
                    while let Ok(change) = changes.try_recv() {
                        self.note(Ok(change));
                    }
                }
                Some(answer) = self.answers.recv() => {
                    self.note_answer(answer);
                    while let Ok(answer) = self.answers.try_recv() {
                        self.note_answer(answer);
                    }
                }
                () = self.feeds.opened.notified() => {
                    // A first listener is owed a count: read it now.
                    for post in self.feeds.take_opened() {
                        self.forced.insert(post.clone());
                        self.dirty.insert(post);
                    }
                }
                () = sleep_until(wake_at), if !self.dirty.is_empty() => {}
            }
            wake_at = self.push_due().await;
        }
    }

    /// Records one announcement; false when the channel is gone for good.
    fn note(&mut self, change: Result<Change, RecvError>) -> bool {
        match change {
            Ok(Change::Post(post)) => {
                if !self.dirty.insert(post) {
                    self.metrics.pushes_coalesced.inc();
                }
            }
            Ok(Change::Resync) | Err(RecvError::Lagged(_)) => {
                self.dirty.extend(self.sessions.posts_with_local_audience());
                self.dirty.extend(self.feeds.posts());
                self.resynced.notify_one();
            }
            Err(RecvError::Closed) => return false,
        }
        true
    }

    /// A socket was answered `count`; if its room last got another count, the
    /// answer may be stale: push the room again. A room never pushed knows only
    /// answers: this one is what it was told, so the change that made it is not
    /// pushed again to the reader it was answered to. It is recorded as a push
    /// long past, so it delays no real push.
    fn note_answer(&mut self, (post, count): Answer) {
        match self.pushed.get(&post) {
            None => {
                let now = Instant::now();
                let long_ago = now.checked_sub(self.max_interval).unwrap_or(now);
                self.pushed.insert(post, (long_ago, count));
            }
            Some((_, last)) if *last != count => {
                self.forced.insert(post.clone());
                self.dirty.insert(post);
            }
            Some(_) => {}
        }
    }

    /// Pushes every dirty post whose interval has passed; returns when the next
    /// one falls due.
    async fn push_due(&mut self) -> Instant {
        let now = Instant::now();
        let mut due = Vec::new();
        let mut next_due = now + self.max_interval;
        let dirty: Vec<PostId> = self.dirty.iter().cloned().collect();
        for post in dirty {
            let readers = self.sessions.local_audience(&post) + self.feeds.listeners(&post);
            if readers == 0 {
                // Nobody here reads or watches it: nothing to push, nothing to remember.
                self.dirty.remove(&post);
                self.forced.remove(&post);
                self.pushed.remove(&post);
                continue;
            }
            let ready_at = self
                .pushed
                .get(&post)
                .map_or(now, |(at, _)| *at + self.interval_for(readers));
            if ready_at <= now {
                due.push(post);
            } else {
                next_due = next_due.min(ready_at);
            }
        }
        for batch in due.chunks(READ_BATCH) {
            match self.store.viewer_counts(batch).await {
                Ok(counts) => {
                    for (post, count) in batch.iter().zip(counts) {
                        self.dirty.remove(post);
                        self.push(post, count, now).await;
                    }
                }
                Err(error) => {
                    self.errors.warn(&error, "reading counts for pushes failed");
                    return Instant::now() + RETRY_AFTER;
                }
            }
        }
        next_due
    }

    async fn push(&mut self, post: &PostId, count: u64, now: Instant) {
        let forced = self.forced.remove(post);
        let unchanged = self
            .pushed
            .get(post)
            .is_some_and(|(_, last)| *last == count);
        if unchanged && !forced {
            self.metrics.pushes_coalesced.inc();
            return;
        }
        self.pushed.insert(post.clone(), (now, count));
        self.metrics.pushes.inc();
        self.feeds.publish(post, count);
        if let Err(error) = self
            .io
            .to(vec![room(post), watch_room(post)])
            .emit("viewers", &(post.as_str(), count))
            .await
        {
            tracing::debug!(%post, %error, "push failed");
        }
    }
}
