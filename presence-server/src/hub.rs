//! The hub: the one task that writes counts to sockets, answers and pushes alike,
//! so every socket sees a post's figures in the order they were read.
//!
//! It hears from the store (announcements of changed posts, from every process)
//! and from this process (a session's reading recorded, a socket watching posts or
//! now connected, an event stream opened), and it keeps, per post with a local
//! audience, what that post's rooms were last told.
//!
//! A socket is told what its room is told. A reader joins its post's room when its
//! reading is recorded; its answer is the figures the worker got from the store if
//! they are what the room was told, or else the room's next push (read at once
//! when the room may be pushed now), or else what the room was told, with a push
//! to follow. So a reader never ends on figures older than its room's, and no push
//! is ever repeated to a whole room to correct one socket.
//!
//! Coalescing: a popular post with N local readers and churn c/s would cost N·c
//! messages/s if every change were pushed. Instead a post is pushed at most once
//! per [`interval_for`] its audience, and only when its figures changed. Figures
//! always come fresh from the store (one pipelined read for all due posts), never
//! from in-process state, so readers on every process agree.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use presence_core::config::FanoutConfig;
use presence_core::{Change, PostId, PostStats, SessionId, Store};
use socketioxide::SocketIo;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{Notify, mpsc};
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use crate::feeds::Feeds;
use crate::log_throttle::LogThrottle;
use crate::metrics::Metrics;
use crate::process::Process;
use crate::registry::{Session, Sessions};
use crate::wire;
use presence_core::maps::shrink_if_sparse;

/// Posts read per store round trip.
const READ_BATCH: usize = 500;
/// Wait before trying again after the store failed.
const RETRY_AFTER: Duration = Duration::from_millis(500);
/// How often the state of posts nobody here reads, watches or streams any more is
/// dropped.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// What the rest of the process tells the hub.
pub enum ToHub {
    /// The store recorded that `session` reads `post`; `counts` were its figures then.
    Recorded {
        session: Arc<Session>,
        post: PostId,
        counts: PostStats,
    },
    /// The store did not answer a session's view.
    ViewFailed(Arc<Session>),
    /// A socket watches `posts` now (it has joined their rooms already).
    Watching {
        session: Arc<Session>,
        posts: Vec<PostId>,
    },
    /// socketioxide marked a socket connected: answers held for it can go.
    Connected(SessionId),
    /// A socket closed: nothing held for it is owed any more.
    Closed(SessionId),
    /// A post got its first event-stream listener, who is owed its figures.
    FeedOpened(PostId),
}

/// How the process reaches the hub. Unbounded: senders are socket handlers that
/// cannot wait, and what they send is bounded by the per-socket event budget and
/// the per-address connection budget; the hub drains it in batches.
#[derive(Clone)]
pub struct HubHandle {
    inbox: mpsc::UnboundedSender<ToHub>,
}

impl HubHandle {
    pub fn send(&self, message: ToHub) {
        // Only fails once the hub has stopped, at shutdown: nothing is owed then.
        let _ = self.inbox.send(message);
    }
}

/// The hub's end of the channel.
pub struct Inbox(mpsc::UnboundedReceiver<ToHub>);

pub fn channel() -> (HubHandle, Inbox) {
    let (inbox, received) = mpsc::unbounded_channel();
    (HubHandle { inbox }, Inbox(received))
}

/// The shortest time between two pushes to a post with `audience` local readers
/// and watchers: none up to `small_room`, then growing with the audience, reaching
/// `max_interval` at 100 × `small_room`. Every room may so use up to about
/// `100 × small_room / max_interval` messages per second.
pub fn interval_for(audience: usize, small_room: usize, max_interval: Duration) -> Duration {
    if audience <= small_room {
        return Duration::ZERO;
    }
    let full = small_room.saturating_mul(100).max(1);
    max_interval.mul_f64((audience as f64 / full as f64).min(1.0))
}

pub struct Hub {
    store: Arc<dyn Store>,
    io: SocketIo,
    sessions: Sessions,
    feeds: Arc<Feeds>,
    small_room: usize,
    max_interval: Duration,
    inbox: Inbox,
    /// Every post with a local audience (or answers owed), and what it was told.
    posts: HashMap<PostId, PostState>,
    /// Posts announced as changed (or owed a read) and not read yet.
    dirty: HashSet<PostId>,
    /// Answers for sockets not marked connected yet.
    held: HashMap<SessionId, Held>,
    errors: LogThrottle,
    metrics: Arc<Metrics>,
    /// Woken on a resync: the store may have lost sessions (a Redis restart), and
    /// keep-alive should find out now rather than at its next tick.
    resynced: Arc<Notify>,
}

#[derive(Default)]
struct PostState {
    /// What the post's rooms were last told, and when; `None` until the first
    /// read or report.
    told: Option<Told>,
    /// Answers owed once the post's figures are read.
    waiting: Vec<Waiter>,
}

#[derive(Clone, Copy)]
struct Told {
    at: Instant,
    counts: PostStats,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Reader,
    Watcher,
}

enum Waiter {
    Socket(Arc<Session>, Role),
    Feed,
}

/// Answers for one socket that socketioxide has acknowledged but not yet marked
/// connected: it refuses emits until then (see `docs/architecture.md`).
struct Held {
    session: Arc<Session>,
    posts: Vec<(PostId, Role)>,
}

impl Hub {
    /// The hub of `process`, writing to the sockets of `io`; `resynced` is
    /// notified when announcements may have been lost.
    pub fn new(
        process: &Process,
        io: SocketIo,
        config: &FanoutConfig,
        inbox: Inbox,
        resynced: Arc<Notify>,
    ) -> Self {
        Self {
            store: process.store.clone(),
            io,
            sessions: process.sessions.clone(),
            feeds: process.feeds.clone(),
            small_room: config.small_room,
            max_interval: Duration::from_millis(config.max_interval_ms),
            inbox,
            posts: HashMap::new(),
            dirty: HashSet::new(),
            held: HashMap::new(),
            errors: LogThrottle::default(),
            metrics: process.metrics.clone(),
            resynced,
        }
    }

    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut changes = self.store.changes();
        let mut sweep = tokio::time::interval(SWEEP_EVERY);
        sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut wake_at = Instant::now();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                change = changes.recv() => {
                    if !self.note(change) {
                        return;
                    }
                    // Take everything already queued before reading figures.
                    while let Ok(change) = changes.try_recv() {
                        self.note(Ok(change));
                    }
                }
                Some(message) = self.inbox.0.recv() => {
                    self.handle(message);
                    while let Ok(message) = self.inbox.0.try_recv() {
                        self.handle(message);
                    }
                }
                _ = sweep.tick() => self.sweep(),
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

    fn handle(&mut self, message: ToHub) {
        match message {
            ToHub::Recorded {
                session,
                post,
                counts,
            } => self.recorded(session, post, counts),
            ToHub::ViewFailed(session) => {
                if session.socket().connected() {
                    wire::unavailable(session.socket());
                }
            }
            ToHub::Watching { session, posts } => {
                for post in posts {
                    match self.told(&post) {
                        Some(told) => self.answer(session.clone(), post, Role::Watcher, told),
                        None => self.wait(post, Waiter::Socket(session.clone(), Role::Watcher)),
                    }
                }
            }
            ToHub::Connected(id) => self.release(&id),
            ToHub::Closed(id) => {
                self.held.remove(&id);
            }
            ToHub::FeedOpened(post) => match self.told(&post) {
                Some(told) => self.feeds.publish(&post, told),
                None => self.wait(post, Waiter::Feed),
            },
        }
    }

    /// A reader's reading is recorded: it joins its room and gets its answer.
    fn recorded(&mut self, session: Arc<Session>, post: PostId, counts: PostStats) {
        if !self.sessions.join_if_reading(&session, &post) {
            // A newer `viewing` (or a disconnect) superseded it.
            return;
        }
        let now = Instant::now();
        let interval = self.interval_for(&post);
        let state = self.posts.entry(post.clone()).or_default();
        match state.told {
            None => {
                // Nobody here was told anything of this post yet: what the store
                // answered this reader is what its room has been told. Dated long
                // ago, so it delays no push.
                let at = now.checked_sub(self.max_interval).unwrap_or(now);
                state.told = Some(Told { at, counts });
                self.answer(session, post, Role::Reader, counts);
            }
            Some(told) if told.counts == counts => {
                self.answer(session, post, Role::Reader, counts);
            }
            Some(told) if told.at + interval <= now => {
                // The room may be pushed now: read afresh; the push, or the answer
                // if nothing changed, tells this reader.
                self.wait(post, Waiter::Socket(session, Role::Reader));
            }
            Some(told) => {
                // The room is between pushes: this reader is told what the room
                // was, and the room's next push follows.
                self.dirty.insert(post.clone());
                self.answer(session, post, Role::Reader, told.counts);
            }
        }
    }

    /// What `post`'s rooms were last told.
    fn told(&self, post: &PostId) -> Option<PostStats> {
        self.posts.get(post)?.told.map(|told| told.counts)
    }

    /// Owes `waiter` `post`'s figures at the next read, which is due at once.
    fn wait(&mut self, post: PostId, waiter: Waiter) {
        self.posts
            .entry(post.clone())
            .or_default()
            .waiting
            .push(waiter);
        self.dirty.insert(post);
    }

    /// Tells one socket `post`'s figures, if it still reads (or watches) it; held
    /// until it is marked connected if it is not yet.
    fn answer(&mut self, session: Arc<Session>, post: PostId, role: Role, counts: PostStats) {
        let still = match role {
            Role::Reader => session.reads(&post),
            Role::Watcher => session.watches(&post),
        };
        if !still {
            return;
        }
        let socket = session.socket();
        if socket.connected() {
            let told = match role {
                Role::Reader => wire::answer_reader(socket, &post, counts),
                Role::Watcher => wire::answer_watcher(socket, &post, counts),
            };
            if told {
                return;
            }
        }
        self.held
            .entry(session.id().clone())
            .or_insert_with(|| Held {
                session,
                posts: Vec::new(),
            })
            .posts
            .push((post, role));
    }

    /// A socket is marked connected: it gets what its rooms were told meanwhile
    /// (not what was current when its answer was held: pushes it missed are in it).
    fn release(&mut self, id: &SessionId) {
        let Some(Held { session, posts }) = self.held.remove(id) else {
            return;
        };
        for (post, role) in posts {
            match self.told(&post) {
                Some(told) => self.answer(session.clone(), post, role, told),
                None => self.wait(post, Waiter::Socket(session.clone(), role)),
            }
        }
    }

    /// Local readers, watchers and event streams of `post`.
    fn audience(&self, post: &PostId) -> usize {
        self.sessions.local_audience(post) + self.feeds.listeners(post)
    }

    fn interval_for(&self, post: &PostId) -> Duration {
        interval_for(self.audience(post), self.small_room, self.max_interval)
    }

    /// Reads every dirty post whose interval has passed (or that owes answers) and
    /// delivers its figures; returns when the next one falls due.
    async fn push_due(&mut self) -> Instant {
        let now = Instant::now();
        let mut due = Vec::new();
        let mut next_due = now + self.max_interval;
        let dirty: Vec<PostId> = self.dirty.iter().cloned().collect();
        for post in dirty {
            let audience = self.audience(&post);
            let state = self.posts.get(&post);
            let owed = state.is_some_and(|state| !state.waiting.is_empty());
            if audience == 0 && !owed {
                // Nobody here reads, watches or streams it: nothing to push, nothing
                // to remember.
                self.dirty.remove(&post);
                self.posts.remove(&post);
                continue;
            }
            let interval = interval_for(audience, self.small_room, self.max_interval);
            let ready_at = state
                .and_then(|state| state.told)
                .map_or(now, |told| told.at + interval);
            if ready_at <= now || owed {
                due.push(post);
            } else {
                next_due = next_due.min(ready_at);
            }
        }
        for batch in due.chunks(READ_BATCH) {
            match self.store.post_stats(batch).await {
                Ok(figures) => {
                    for (post, counts) in batch.iter().zip(figures) {
                        self.dirty.remove(post);
                        self.deliver(post, counts, now).await;
                    }
                }
                Err(error) => {
                    self.errors.warn(&error, "reading counts for pushes failed");
                    self.read_failed(batch);
                    return Instant::now() + RETRY_AFTER;
                }
            }
        }
        next_due
    }

    /// Hands a post's fresh figures to its rooms (when they changed and the room
    /// may be pushed) and to whoever was owed them.
    async fn deliver(&mut self, post: &PostId, counts: PostStats, now: Instant) {
        let interval = self.interval_for(post);
        let state = self.posts.entry(post.clone()).or_default();
        let waiting = std::mem::take(&mut state.waiting);
        let changed = state.told.map(|told| told.counts) != Some(counts);
        let may_push = state.told.is_none_or(|told| told.at + interval <= now);
        let (told, pushed) = match state.told {
            Some(told) if changed && !may_push => {
                // Read for those owed an answer while the room is between pushes:
                // they are told what the room was; the room's push follows.
                self.dirty.insert(post.clone());
                (told.counts, false)
            }
            _ if changed => {
                state.told = Some(Told { at: now, counts });
                self.metrics.pushes.inc();
                self.feeds.publish(post, counts);
                wire::push(&self.io, post, counts).await;
                (counts, true)
            }
            _ => {
                if waiting.is_empty() {
                    self.metrics.pushes_coalesced.inc();
                }
                (counts, false)
            }
        };
        for waiter in waiting {
            match waiter {
                Waiter::Feed => self.feeds.publish(post, told),
                // A connected watcher in the room got the push. A reader is answered
                // all the same: its answer carries the `views` event too.
                Waiter::Socket(session, Role::Watcher)
                    if pushed && session.socket().connected() => {}
                Waiter::Socket(session, role) => self.answer(session, post.clone(), role, told),
            }
        }
    }

    /// The store did not answer a read: readers owed an answer get what their
    /// room was told, watchers hear that figures are unavailable for now; all stay
    /// owed the next read.
    fn read_failed(&mut self, batch: &[PostId]) {
        for post in batch {
            let Some(state) = self.posts.get(post) else {
                continue;
            };
            let told = state.told.map(|told| told.counts);
            for waiter in &state.waiting {
                if let (Waiter::Socket(session, Role::Watcher), None) = (waiter, told)
                    && session.socket().connected()
                {
                    wire::unavailable_to_watcher(session.socket());
                }
            }
        }
    }

    /// Drops the state of posts nobody here reads, watches or streams any more, so
    /// memory follows what is live however many post ids passed through.
    fn sweep(&mut self) {
        let feeds = self.feeds.prune();
        let sessions = &self.sessions;
        let feeds_of = &self.feeds;
        self.posts.retain(|post, state| {
            !state.waiting.is_empty()
                || sessions.local_audience(post) + feeds_of.listeners(post) > 0
        });
        shrink_if_sparse(&mut self.posts);
        let (readers, watchers) = self.sessions.audience_sizes();
        self.metrics.local_posts("hub", self.posts.len());
        self.metrics.local_posts("feeds", feeds);
        self.metrics.local_posts("readers", readers);
        self.metrics.local_posts("watchers", watchers);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_rooms_are_pushed_at_once_and_large_ones_at_most_every_interval() {
        let max = Duration::from_millis(1000);
        assert_eq!(interval_for(0, 100, max), Duration::ZERO);
        assert_eq!(interval_for(100, 100, max), Duration::ZERO);
        assert_eq!(interval_for(400, 100, max), Duration::from_millis(40));
        assert_eq!(interval_for(1_340, 100, max), Duration::from_millis(134));
        assert_eq!(interval_for(10_000, 100, max), max);
        assert_eq!(interval_for(1_000_000, 100, max), max, "capped");
    }

    #[test]
    fn the_interval_scales_with_the_settings() {
        let half = Duration::from_millis(500);
        assert_eq!(interval_for(400, 100, half), Duration::from_millis(20));
        // A small_room of 0 pushes every room on an interval, and never divides by 0.
        assert_eq!(interval_for(1, 0, half), half);
        assert_eq!(interval_for(usize::MAX, usize::MAX, half), Duration::ZERO);
    }
}
