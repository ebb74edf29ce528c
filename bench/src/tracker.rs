//! What the load generator knows about the truth, and what it measured.
//!
//! Only this process's clients talk to the server under test in the latency runs,
//! so the true count of every post is known here. Every join or leave a client
//! sends is logged per post as (time sent, count after it). A reader's displayed
//! count is *stale* from the first logged change that made it wrong until a push
//! makes it right again; that interval is the "update latency" we report. Pushes
//! that match no logged count (a read racing concurrent changes) are counted but
//! not timed.

use parking_lot::{Mutex, MutexGuard};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::hist::Hist;

/// No post: the client is not viewing anything (yet, or any more).
pub const NO_POST: u32 = u32::MAX;

#[derive(Default)]
pub struct PostLog {
    /// (time sent, true count after this change), oldest first.
    entries: Vec<(Instant, u64)>,
    count: u64,
}

impl PostLog {
    /// Records a join (+1) or leave (−1) sent now; returns its index.
    pub fn change(&mut self, join: bool) -> usize {
        self.count = if join {
            self.count + 1
        } else {
            self.count.saturating_sub(1)
        };
        self.entries.push((Instant::now(), self.count));
        self.entries.len() - 1
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The newest entry whose count is `count` (where a fresh answer fits).
    pub fn last_matching(&self, count: u64) -> usize {
        self.entries
            .iter()
            .rposition(|(_, c)| *c == count)
            .unwrap_or(self.entries.len().saturating_sub(1))
    }

    /// A reader that had seen entries up to `seen` and showed `shown` gets a push
    /// of `count`. Returns the new `seen` and, when the push ended a staleness,
    /// when that staleness began; None when the push matches no entry.
    pub fn observe(&self, seen: usize, shown: u64, count: u64) -> Option<(usize, Option<Instant>)> {
        let end = self.entries.len();
        let k = (seen..end).rev().find(|&j| self.entries[j].1 == count)?;
        if count == shown {
            return Some((k, None));
        }
        let right = (seen..k)
            .rev()
            .find(|&j| self.entries[j].1 == shown)
            .unwrap_or(seen);
        Some((k, self.entries.get(right + 1).map(|(at, _)| *at)))
    }
}

/// The longest update latency of a run, with what is needed to find it again.
#[derive(Debug, Clone)]
pub struct SlowUpdate {
    pub latency: Duration,
    pub client: usize,
    pub post: usize,
    pub shown: u64,
    pub count: u64,
}

/// State shared by every client task of this process.
pub struct Tracker {
    pub posts: Vec<Mutex<PostLog>>,
    /// Per client: the post index it views (NO_POST if none), and what it shows.
    pub client_post: Vec<AtomicU32>,
    pub client_shown: Vec<AtomicU64>,
    /// Per client: connected and answered for its current post.
    pub client_ready: Vec<AtomicBool>,
    /// Per client: the Socket.IO id of its current connection.
    client_sid: Vec<Mutex<Option<Box<str>>>>,
    /// Samples are only recorded while this is set (the measurement window).
    pub measuring: AtomicBool,
    pub answer: Mutex<Hist>,
    pub update: Mutex<Hist>,
    /// The longest staleness measured, and whose it was, to look up in the server's log.
    pub slowest_update: Mutex<Option<SlowUpdate>>,
    pub viewers_msgs: AtomicU64,
    /// `viewers` messages for post index 0 (the hot post in the hot-post run).
    pub post0_msgs: AtomicU64,
    /// Of those, the room pushes (not the direct answers to readers joining it).
    pub post0_pushes: AtomicU64,
    pub unmatched: AtomicU64,
    pub connects: AtomicU64,
    /// Websockets open right now (the denominator of RSS per connection).
    pub open: AtomicU64,
    pub connect_errors: AtomicU64,
    pub disconnects: AtomicU64,
    pub lost_logged: AtomicU64,
    pub viewing_sent: AtomicU64,
    pub answers: AtomicU64,
}

impl Tracker {
    pub fn new(posts: usize, clients: usize) -> Self {
        Self {
            posts: (0..posts).map(|_| Mutex::default()).collect(),
            client_post: (0..clients).map(|_| AtomicU32::new(NO_POST)).collect(),
            client_shown: (0..clients).map(|_| AtomicU64::new(u64::MAX)).collect(),
            client_ready: (0..clients).map(|_| AtomicBool::new(false)).collect(),
            client_sid: (0..clients).map(|_| Mutex::new(None)).collect(),
            measuring: AtomicBool::new(false),
            answer: Mutex::default(),
            update: Mutex::default(),
            slowest_update: Mutex::default(),
            viewers_msgs: AtomicU64::new(0),
            post0_msgs: AtomicU64::new(0),
            post0_pushes: AtomicU64::new(0),
            unmatched: AtomicU64::new(0),
            connects: AtomicU64::new(0),
            open: AtomicU64::new(0),
            connect_errors: AtomicU64::new(0),
            disconnects: AtomicU64::new(0),
            lost_logged: AtomicU64::new(0),
            viewing_sent: AtomicU64::new(0),
            answers: AtomicU64::new(0),
        }
    }

    pub fn post(&self, index: usize) -> MutexGuard<'_, PostLog> {
        self.posts[index].lock()
    }

    /// The Socket.IO id of `client`'s current connection, to find it in a server log.
    pub fn client_sid(&self, client: usize) -> Option<Box<str>> {
        self.client_sid[client].lock().clone()
    }

    pub fn set_client_sid(&self, client: usize, sid: Option<Box<str>>) {
        *self.client_sid[client].lock() = sid;
    }

    pub fn measuring(&self) -> bool {
        self.measuring.load(Ordering::Relaxed)
    }

    pub fn record(&self, hist: &Mutex<Hist>, latency: Duration) {
        if self.measuring() {
            hist.lock().record(latency);
        }
    }

    /// Records an update latency: one reader was stale for `latency` until a push
    /// of `count` (it showed `shown`).
    pub fn record_update(
        &self,
        client: usize,
        post: usize,
        latency: Duration,
        shown: u64,
        count: u64,
    ) {
        if !self.measuring() {
            return;
        }
        self.update.lock().record(latency);
        let mut slowest = self.slowest_update.lock();
        if slowest.as_ref().is_none_or(|slow| slow.latency < latency) {
            *slowest = Some(SlowUpdate {
                latency,
                client,
                post,
                shown,
                count,
            });
        }
    }

    pub fn ready_clients(&self) -> usize {
        self.client_ready
            .iter()
            .filter(|ready| ready.load(Ordering::Relaxed))
            .count()
    }

    /// Clients that are ready but show a count other than their post's true count.
    pub fn wrong_counts(&self) -> usize {
        let truth: Vec<u64> = (0..self.posts.len())
            .map(|p| self.post(p).count())
            .collect();
        (0..self.client_post.len())
            .filter(|&c| {
                let post = self.client_post[c].load(Ordering::Relaxed);
                post != NO_POST
                    && self.client_ready[c].load(Ordering::Relaxed)
                    && self.client_shown[c].load(Ordering::Relaxed) != truth[post as usize]
            })
            .count()
    }

    /// Up to `limit` clients that are not ready or show a wrong count, described
    /// with their Socket.IO id so the server's log can say what became of them.
    pub fn stragglers(&self, limit: usize) -> Vec<String> {
        (0..self.client_post.len())
            .filter_map(|c| {
                let post = self.client_post[c].load(Ordering::Relaxed);
                let ready = self.client_ready[c].load(Ordering::Relaxed);
                let shown = self.client_shown[c].load(Ordering::Relaxed);
                let truth = (post != NO_POST).then(|| self.post(post as usize).count());
                if ready && truth.is_none_or(|truth| truth == shown) {
                    return None;
                }
                let sid = self.client_sid(c);
                Some(format!(
                    "client {c}: post index {post}, ready {ready}, shows {shown}, true {truth:?}, socket id {sid:?}"
                ))
            })
            .take(limit)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staleness_starts_at_the_change_that_made_a_reader_wrong() {
        let mut log = PostLog::default();
        log.change(true); // 0: 1
        log.change(true); // 1: 2  <- reader joined here and shows 2
        let made_wrong = log.change(true); // 2: 3
        log.change(false); // 3: 2  (right again, no push needed)
        let wrong_again = log.change(true); // 4: 3
        let (seen, since) = log.observe(1, 2, 3).unwrap();
        assert_eq!(seen, 4);
        assert_eq!(since, Some(log.entries[wrong_again].0));
        assert_ne!(made_wrong, wrong_again);
        // A push of a count no change produced is not timed.
        assert!(log.observe(1, 2, 9).is_none());
    }
}
