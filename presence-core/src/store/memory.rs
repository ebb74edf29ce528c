//! [`MemoryStore`]: the embedded default. The same semantics as Redis inside one
//! process: moves are atomic (one lock), sessions expire after their TTL unless kept
//! alive, and changes are announced on the same kind of channel.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use parking_lot::{Mutex, MutexGuard};
use tokio::sync::broadcast;
use tokio::time::Instant;

use super::{
    Admission, CHANGE_BUFFER, Change, NOTICE_WINDOW_SECS, PostStats, Sample, SiteStats, Store,
    Viewing,
};
use crate::error::StoreError;
use crate::ids::{PostId, SessionId};
use crate::maps::shrink_if_sparse;
use crate::notice::Notice;

/// How often expired sessions are looked for. Redis expires keys within about the
/// same time when it is not busy.
const EXPIRY_TICK: Duration = Duration::from_millis(250);

#[derive(Clone)]
pub struct MemoryStore {
    shared: Arc<Shared>,
}

struct Shared {
    /// A blocking mutex: every critical section is a few map operations and never
    /// awaits, which is what tokio recommends a blocking mutex for.
    state: Mutex<State>,
    ttl: Duration,
    changes: broadcast::Sender<Change>,
    notices: broadcast::Sender<Notice>,
    /// Never sent on: there is no Redis channel to submit notices to.
    submissions: broadcast::Sender<String>,
    /// Fixed-window notice counters per scope (`None` = the site).
    notice_windows: Mutex<HashMap<Option<PostId>, (Instant, u32)>>,
}

#[derive(Default)]
struct State {
    /// The `viewers` hash and the `session:<id>` keys in one: post and expiry.
    sessions: HashMap<SessionId, (PostId, Instant)>,
    /// The `viewers:<post>` sets.
    readers: HashMap<PostId, HashSet<SessionId>>,
    /// The `views:<post>` counters.
    views: HashMap<PostId, u64>,
    /// The `presence:history` samples, oldest first.
    history: VecDeque<Sample>,
}

impl State {
    /// Takes `session` off `post`'s readers; the set disappears when empty, as a
    /// Redis set does.
    fn remove_reader(&mut self, post: &PostId, session: &SessionId) -> u64 {
        let Some(set) = self.readers.get_mut(post) else {
            return 0;
        };
        set.remove(session);
        let left = set.len() as u64;
        if left == 0 {
            self.readers.remove(post);
            shrink_if_sparse(&mut self.readers);
        }
        left
    }

    fn reader_count(&self, post: &PostId) -> u64 {
        self.readers.get(post).map_or(0, |set| set.len() as u64)
    }
}

impl MemoryStore {
    /// Must be called inside a tokio runtime: it starts the expiry task, which ends
    /// when the last clone of the store is dropped.
    pub fn new(session_ttl: Duration) -> Self {
        let (changes, _) = broadcast::channel(CHANGE_BUFFER);
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            ttl: session_ttl,
            changes,
            notices: broadcast::channel(256).0,
            submissions: broadcast::channel(1).0,
            notice_windows: Mutex::default(),
        });
        tokio::spawn(expire_sessions(Arc::downgrade(&shared)));
        Self { shared }
    }

    fn announce(&self, post: &PostId) {
        // No receivers is fine: nobody is listening yet.
        let _ = self.shared.changes.send(Change::Post(post.clone()));
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock()
    }
}

async fn expire_sessions(shared: Weak<Shared>) {
    let mut tick = tokio::time::interval(EXPIRY_TICK);
    loop {
        tick.tick().await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        let now = Instant::now();
        let mut changed = HashSet::new();
        {
            let mut state = shared.state.lock();
            let expired: Vec<(SessionId, PostId)> = state
                .sessions
                .iter()
                .filter(|(_, (_, expires))| *expires <= now)
                .map(|(session, (post, _))| (session.clone(), post.clone()))
                .collect();
            for (session, post) in expired {
                state.sessions.remove(&session);
                state.remove_reader(&post, &session);
                changed.insert(post);
            }
            shrink_if_sparse(&mut state.sessions);
        }
        for post in changed {
            let _ = shared.changes.send(Change::Post(post));
        }
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn view(
        &self,
        session: &SessionId,
        post: &PostId,
        _previous: Option<&PostId>,
        count_view: bool,
    ) -> Result<Viewing, StoreError> {
        let expires = Instant::now() + self.shared.ttl;
        let (viewing, joined) = {
            let mut state = self.lock();
            let old = state
                .sessions
                .insert(session.clone(), (post.clone(), expires))
                .map(|(old, _)| old);
            let left = match old {
                Some(old) if old != *post => {
                    let readers_left = state.remove_reader(&old, session);
                    Some((old, readers_left))
                }
                _ => None,
            };
            let joined = state
                .readers
                .entry(post.clone())
                .or_default()
                .insert(session.clone());
            // Only a counted view makes an entry: a post nobody viewed keeps nothing.
            let views = if joined && count_view {
                let views = state.views.entry(post.clone()).or_default();
                *views += 1;
                *views
            } else {
                state.views.get(post).copied().unwrap_or(0)
            };
            let viewing = Viewing {
                viewers: state.reader_count(post),
                views,
                left,
            };
            (viewing, joined)
        };
        if let Some((old, _)) = &viewing.left {
            self.announce(old);
        }
        if joined {
            self.announce(post);
        }
        Ok(viewing)
    }

    async fn leave(&self, session: &SessionId, _post: &PostId) -> Result<Option<u64>, StoreError> {
        let left = {
            let mut state = self.lock();
            let left = state.sessions.remove(session).map(|(post, _)| {
                let readers_left = state.remove_reader(&post, session);
                (post, readers_left)
            });
            shrink_if_sparse(&mut state.sessions);
            left
        };
        Ok(left.map(|(post, readers_left)| {
            self.announce(&post);
            readers_left
        }))
    }

    async fn leave_many(&self, sessions: &[(SessionId, PostId)]) -> Result<u64, StoreError> {
        let mut changed = HashSet::new();
        let mut removed = 0;
        {
            let mut state = self.lock();
            for (session, _) in sessions {
                if let Some((post, _)) = state.sessions.remove(session) {
                    state.remove_reader(&post, session);
                    changed.insert(post);
                    removed += 1;
                }
            }
        }
        for post in &changed {
            self.announce(post);
        }
        Ok(removed)
    }

    async fn keep_alive(&self, sessions: &[(SessionId, PostId)]) -> Result<Vec<usize>, StoreError> {
        let expires = Instant::now() + self.shared.ttl;
        let mut state = self.lock();
        let mut lost = Vec::new();
        for (i, (session, _)) in sessions.iter().enumerate() {
            match state.sessions.get_mut(session) {
                Some((_, expiry)) => *expiry = expires,
                None => lost.push(i),
            }
        }
        Ok(lost)
    }

    async fn viewer_counts(&self, posts: &[PostId]) -> Result<Vec<u64>, StoreError> {
        let state = self.lock();
        Ok(posts.iter().map(|post| state.reader_count(post)).collect())
    }

    async fn post_stats(&self, posts: &[PostId]) -> Result<Vec<PostStats>, StoreError> {
        let state = self.lock();
        Ok(posts
            .iter()
            .map(|post| PostStats {
                viewers: state.reader_count(post),
                views: state.views.get(post).copied().unwrap_or(0),
            })
            .collect())
    }

    /// A scan of every post being read: fine for the one process this store serves
    /// (Redis keeps a sorted index instead).
    async fn top(&self, limit: usize) -> Result<Vec<(PostId, u64)>, StoreError> {
        let state = self.lock();
        let mut ranked: Vec<(PostId, u64)> = state
            .readers
            .iter()
            .map(|(post, set)| (post.clone(), set.len() as u64))
            .collect();
        // Ties in the order Redis's index gives them: by id, descending.
        ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.as_str().cmp(a.0.as_str())));
        ranked.truncate(limit);
        Ok(ranked)
    }

    async fn site_stats(&self) -> Result<SiteStats, StoreError> {
        let state = self.lock();
        Ok(SiteStats {
            viewers: state.sessions.len() as u64,
            posts: state.readers.len() as u64,
        })
    }

    async fn record_history(&self, step: Duration, keep: Duration) -> Result<(), StoreError> {
        let step = step.as_secs().max(1);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        let start = now - now % step;
        let mut state = self.lock();
        let viewers = state.sessions.len() as u64;
        if state.history.back().is_none_or(|last| last.at < start) {
            state.history.push_back(Sample { at: start, viewers });
        }
        let oldest = start.saturating_sub(keep.as_secs());
        while state.history.front().is_some_and(|first| first.at < oldest) {
            state.history.pop_front();
        }
        Ok(())
    }

    async fn history(&self) -> Result<Vec<Sample>, StoreError> {
        Ok(self.lock().history.iter().copied().collect())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn changes(&self) -> broadcast::Receiver<Change> {
        self.shared.changes.subscribe()
    }

    async fn admit_notice(
        &self,
        notice: &Notice,
        per_minute: u32,
        _dedupe: Option<&str>,
    ) -> Result<Admission, StoreError> {
        let now = Instant::now();
        {
            let mut windows = self.shared.notice_windows.lock();
            let window = Duration::from_secs(NOTICE_WINDOW_SECS);
            // Windows that ended go: a post's counter lives a minute at most.
            windows.retain(|_, (started, _)| now.duration_since(*started) < window);
            shrink_if_sparse(&mut windows);
            let (_, sent) = windows.entry(notice.post_id.clone()).or_insert((now, 0));
            *sent += 1;
            if *sent > per_minute {
                return Ok(Admission::RateLimited);
            }
        }
        let _ = self.shared.notices.send(notice.clone());
        Ok(Admission::Sent)
    }

    fn notices(&self) -> broadcast::Receiver<Notice> {
        self.shared.notices.subscribe()
    }

    fn notice_submissions(&self) -> broadcast::Receiver<String> {
        self.shared.submissions.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maps::KEEP;

    fn post(id: &str) -> PostId {
        PostId::parse(id).expect("a valid post id")
    }

    fn session(id: &str) -> SessionId {
        SessionId::parse(id).expect("a valid session id")
    }

    #[tokio::test]
    async fn posts_nobody_reads_keep_their_views_and_nothing_else() {
        let store = MemoryStore::new(Duration::from_secs(60));
        let readers: Vec<(SessionId, PostId)> = (0..10_000)
            .map(|i| (session(&format!("s{i}")), post(&format!("fresh-{i}"))))
            .collect();
        for (i, (reader, post)) in readers.iter().enumerate() {
            // Every other one is a lost session recorded again: no view.
            store.view(reader, post, None, i % 2 == 0).await.unwrap();
        }
        assert_eq!(store.lock().readers.len(), 10_000);
        for (reader, post) in &readers {
            store.leave(reader, post).await.unwrap();
        }
        let state = store.lock();
        assert!(state.sessions.is_empty() && state.readers.is_empty());
        // And the memory is given back, not only the entries.
        assert!(
            state.sessions.capacity() <= KEEP,
            "{}",
            state.sessions.capacity()
        );
        assert!(
            state.readers.capacity() <= KEEP,
            "{}",
            state.readers.capacity()
        );
        assert_eq!(
            state.views.len(),
            5000,
            "one entry per post with a counted view"
        );
        assert_eq!(state.views.get(&post("fresh-998")), Some(&1));
        assert_eq!(state.views.get(&post("fresh-999")), None);
    }
}
