//! The sessions this process holds: which post each socket reads, and the worker
//! that brings the store in line with that.
//!
//! Events of one socket are handled by concurrent tasks in socketioxide, so two
//! quick `viewing` events, or a `viewing` racing its own disconnect, could reach the
//! store out of order and leave a ghost. Instead every socket has one *wanted*
//! state, and at most one worker at a time moves the store towards it. A flood of
//! `viewing` events from one socket collapses into a few store calls, and the last
//! word (a disconnect) always wins.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use presence_core::{PostId, SessionId, Store};
use serde_json::json;
use socketioxide::extract::SocketRef;
use tokio::sync::mpsc;

use crate::budget::EventBudget;
use crate::log_throttle::LogThrottle;
use crate::metrics::Metrics;
use crate::security::ConnectionPermit;

/// The room of a post's local readers.
pub fn room(post: &PostId) -> String {
    format!("post:{post}")
}

/// The room of the sockets watching a post without reading it. Apart from the
/// readers' room, so reading and watching the same post never undo each other.
pub fn watch_room(post: &PostId) -> String {
    format!("watch:{post}")
}

/// A count a socket was told directly, in answer to its `viewing`.
///
/// The answer and the room pushes are emitted by different tasks, so an answer
/// computed before a newer push can reach the socket after it. The fan-out hears of
/// every answer and, if it differs from what the room was last pushed, pushes the
/// current count again, after the answer: the socket ends on the truth.
pub type Answer = (PostId, u64);

/// Answers queued for the fan-out; beyond this they are dropped (the next change
/// of the post corrects any socket anyway).
pub const ANSWER_BUFFER: usize = 4096;

/// How long a socket may stay unacknowledged before its session counts as an
/// orphan (see [`Sessions::remove_orphans`]). The acknowledgement follows our
/// connect middleware within microseconds; this is far beyond any real delay.
const ORPHAN_AFTER: Duration = Duration::from_secs(10);

/// How often an answer ready before its socket is marked connected looks again
/// (see [`Session::until_connected`]).
const CONNECTED_POLL: Duration = Duration::from_millis(1);

/// Why a wish was refused.
#[derive(Debug, thiserror::Error)]
pub enum WantError {
    #[error("this connection has viewed {0} different posts, the most allowed")]
    TooManyPosts(usize),
}

/// Every session on this process, and how many of them read each post.
#[derive(Clone)]
pub struct Sessions {
    shared: Arc<Shared>,
}

struct Shared {
    answers: mpsc::Sender<Answer>,
    max_posts_per_session: usize,
    registry: Mutex<Registry>,
    /// Workers running now; shutdown waits for zero.
    busy_workers: AtomicUsize,
    store_errors: LogThrottle,
    /// `presence_connections` is the number of registered sessions, so it can
    /// never drift from what this process holds.
    metrics: Arc<Metrics>,
    /// The origin of [`Session::registered_secs`].
    started: Instant,
}

#[derive(Default)]
struct Registry {
    sessions: HashMap<SessionId, Arc<Session>>,
    local_readers: HashMap<PostId, usize>,
    local_watchers: HashMap<PostId, usize>,
    /// Sessions whose last store call failed (or that the store lost), to be
    /// recorded again: keep-alive's retry visits these, not every session.
    unregistered: HashSet<SessionId>,
}

/// One socket of this process. Everything a reader costs beyond socketioxide's own
/// state is here, in one allocation (plus the short list of posts it visited).
pub struct Session {
    id: SessionId,
    socket: SocketRef,
    /// Its `viewing` and `watch` events.
    pub budget: EventBudget,
    /// When it was registered, in seconds since the registry was made: orphans are
    /// told apart from sockets still connecting by their age.
    registered_secs: u32,
    state: Mutex<SessionState>,
}

#[derive(Default)]
struct SessionState {
    /// The post the socket last said it reads.
    wanted: Option<PostId>,
    /// The post we believe the store has recorded for this session.
    recorded: Option<PostId>,
    /// The store lost (or never got) this session: record it again.
    needs_register: bool,
    /// The socket asked and awaits its own `viewers`/`views` answer.
    answer_pending: bool,
    /// Every post the socket asked for, bounded by `security.max_posts_per_socket`
    /// so one connection cannot tour the whole site inflating views, and whether
    /// its view was counted (once per session per post, however often the socket
    /// says `viewing`). A list: a reader visits one post or a few, and a set would
    /// cost a hundred bytes more per reader.
    visited: Vec<Visit>,
    /// Posts whose counts the socket watches without reading them.
    watching: Vec<PostId>,
    worker_running: bool,
    closed: bool,
    /// The address's connection slot, given back as soon as the socket closes.
    permit: Option<ConnectionPermit>,
}

struct Visit {
    post: PostId,
    counted: bool,
}

impl SessionState {
    fn visit(&mut self, post: &PostId) -> Option<&mut Visit> {
        self.visited.iter_mut().find(|visit| visit.post == *post)
    }
}

/// What [`Session::viewed`] did.
struct Viewed {
    /// The socket got its answer.
    answered: bool,
    /// The session had been marked for recording again, and now is recorded.
    was_lost: bool,
}

/// One step of a worker, decided under the lock and carried out without it.
enum Step {
    View {
        post: PostId,
        previous: Option<PostId>,
        count_view: bool,
    },
    Leave(PostId),
    Done,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these locks; a poisoned one is still consistent.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Sessions {
    /// The sessions of this process, and the receiver of their answers for the
    /// fan-out.
    pub fn new(
        max_posts_per_session: usize,
        metrics: Arc<Metrics>,
    ) -> (Self, mpsc::Receiver<Answer>) {
        let (answers, answered) = mpsc::channel(ANSWER_BUFFER);
        let shared = Shared {
            answers,
            max_posts_per_session,
            registry: Mutex::default(),
            busy_workers: AtomicUsize::default(),
            store_errors: LogThrottle::default(),
            metrics,
            started: Instant::now(),
        };
        (
            Self {
                shared: Arc::new(shared),
            },
            answered,
        )
    }

    /// Registers a socket that is being connected (by the connect middleware,
    /// before socketioxide acknowledges it). The registry owns the session; the
    /// socket's handlers hold it weakly, so neither keeps the other alive.
    pub fn add(
        &self,
        id: SessionId,
        socket: SocketRef,
        budget: EventBudget,
        permit: Option<ConnectionPermit>,
    ) -> Weak<Session> {
        let registered_secs =
            u32::try_from(self.shared.started.elapsed().as_secs()).unwrap_or(u32::MAX);
        let session = Arc::new(Session {
            id: id.clone(),
            socket,
            budget,
            registered_secs,
            state: Mutex::new(SessionState {
                permit,
                ..SessionState::default()
            }),
        });
        let weak = Arc::downgrade(&session);
        if lock(&self.shared.registry)
            .sessions
            .insert(id, session)
            .is_none()
        {
            self.shared.metrics.connections.inc();
        }
        weak
    }

    /// The socket says it reads `post`: it leaves its old post's room now (and
    /// joins the new one once the store has recorded it). True when the session's
    /// worker must then be [driven](Sessions::drive) to record it (false: closed).
    ///
    /// This is synchronous on purpose: it runs in the order events arrive (see
    /// `socket.rs`), so the last `viewing` a socket sent is the one that sticks.
    pub fn want(&self, session: &Session, post: PostId) -> Result<bool, WantError> {
        let mut registry = lock(&self.shared.registry);
        let mut state = lock(&session.state);
        if state.closed {
            return Ok(false);
        }
        if state.visit(&post).is_none() {
            let max = self.shared.max_posts_per_session;
            if state.visited.len() >= max {
                return Err(WantError::TooManyPosts(max));
            }
            state.visited.push(Visit {
                post: post.clone(),
                counted: false,
            });
        }
        if state.wanted.as_ref() != Some(&post) {
            if let Some(old) = state.wanted.take() {
                forget(&mut registry.local_readers, &old);
                session.socket.leave(room(&old));
            }
            // The room is joined once the store has recorded the reading (see
            // `viewed`): until then a push would tell this reader a count that
            // does not include them yet.
            *registry.local_readers.entry(post.clone()).or_default() += 1;
            state.wanted = Some(post);
        }
        state.answer_pending = true;
        Ok(true)
    }

    /// The socket watches `posts` now, instead of what it watched before: it joins
    /// and leaves their watch rooms at once. False if the socket is gone.
    pub fn watch(&self, session: &Session, posts: Vec<PostId>) -> bool {
        let mut registry = lock(&self.shared.registry);
        let mut state = lock(&session.state);
        if state.closed {
            return false;
        }
        // Lists are short (security.max_watch_posts): linear lookups are fine.
        for post in &state.watching {
            if !posts.contains(post) {
                forget(&mut registry.local_watchers, post);
                session.socket.leave(watch_room(post));
            }
        }
        for post in &posts {
            if !state.watching.contains(post) {
                *registry.local_watchers.entry(post.clone()).or_default() += 1;
                session.socket.join(watch_room(post));
            }
        }
        state.watching = posts;
        true
    }

    /// Tells the fan-out that a socket was answered `count` for `post` directly.
    pub fn answered(&self, post: PostId, count: u64) {
        let _ = self.shared.answers.try_send((post, count));
    }

    /// The socket closed: forget it here at once. Returns the session, whose
    /// worker must then be driven to remove it from the store.
    pub fn remove(&self, id: &SessionId) -> Option<Arc<Session>> {
        let (session, permit) = {
            let mut registry = lock(&self.shared.registry);
            let session = registry.sessions.remove(id)?;
            registry.unregistered.remove(id);
            self.shared.metrics.connections.dec();
            let mut state = lock(&session.state);
            state.closed = true;
            if let Some(post) = &state.wanted {
                forget(&mut registry.local_readers, post);
            }
            for post in &state.watching {
                forget(&mut registry.local_watchers, post);
            }
            let permit = state.permit.take();
            drop(state);
            (session, permit)
        };
        // The address's slot comes back now, not once the store has been told.
        drop(permit);
        Some(session)
    }

    /// Sessions whose socket socketioxide never acknowledged, removed here: when
    /// the transport closes between our connect middleware (which registered the
    /// session) and the acknowledgement, socketioxide drops the socket without
    /// calling its disconnect handler, and the session would stay forever, holding
    /// its address's connection slot. A session counts as an orphan once it is
    /// [`ORPHAN_AFTER`] old and its socket is not connected. An event that slipped
    /// in before socketioxide gave up may have been recorded: the caller drives
    /// each orphan's worker, like any closed session's.
    pub fn remove_orphans(&self) -> Vec<Arc<Session>> {
        let now = self.shared.started.elapsed().as_secs();
        let orphans: Vec<SessionId> = {
            let registry = lock(&self.shared.registry);
            registry
                .sessions
                .iter()
                .filter(|(_, session)| {
                    let old_enough = now.saturating_sub(u64::from(session.registered_secs))
                        >= ORPHAN_AFTER.as_secs();
                    old_enough && !session.socket.connected() && !lock(&session.state).closed
                })
                .map(|(id, _)| id.clone())
                .collect()
        };
        let removed: Vec<_> = orphans.iter().filter_map(|id| self.remove(id)).collect();
        for _ in &removed {
            self.shared.metrics.disconnected_unacknowledged();
        }
        removed
    }

    /// Shutdown: closes every session at once and hands back those the store holds,
    /// so they can be removed in one step. Their workers then have nothing left to
    /// do when the sockets close.
    pub fn close_all(&self) -> Vec<(SessionId, PostId)> {
        let registry = lock(&self.shared.registry);
        registry
            .sessions
            .values()
            .filter_map(|session| {
                let mut state = lock(&session.state);
                state.closed = true;
                if state.worker_running {
                    // Its worker sees `closed` and leaves by itself.
                    return None;
                }
                let post = state.recorded.take()?;
                Some((session.id.clone(), post))
            })
            .collect()
    }

    /// Marks the sessions the store lost, so they are recorded again.
    pub fn mark_lost(&self, ids: &[SessionId]) {
        let mut registry = lock(&self.shared.registry);
        for id in ids {
            if let Some(session) = registry.sessions.get(id) {
                lock(&session.state).needs_register = true;
                registry.unregistered.insert(id.clone());
            }
        }
    }

    /// (session, post) of every session the store should hold, for keep-alive.
    pub fn recorded(&self) -> Vec<(SessionId, PostId)> {
        let registry = lock(&self.shared.registry);
        registry
            .sessions
            .values()
            .filter_map(|session| {
                let state = lock(&session.state);
                let post = state.recorded.clone()?;
                Some((session.id.clone(), post))
            })
            .collect()
    }

    /// Sessions whose last store call failed and that must be recorded again.
    pub fn unregistered(&self) -> Vec<Arc<Session>> {
        let registry = lock(&self.shared.registry);
        registry
            .unregistered
            .iter()
            .filter_map(|id| registry.sessions.get(id))
            .filter(|session| {
                let state = lock(&session.state);
                state.needs_register && state.wanted.is_some() && !state.worker_running
            })
            .cloned()
            .collect()
    }

    /// Sockets here that read or watch `post`: who a push of it reaches.
    pub fn local_audience(&self, post: &PostId) -> usize {
        let registry = lock(&self.shared.registry);
        let count = |map: &HashMap<PostId, usize>| map.get(post).copied().unwrap_or(0);
        count(&registry.local_readers) + count(&registry.local_watchers)
    }

    /// Every post read or watched here.
    pub fn posts_with_local_audience(&self) -> HashSet<PostId> {
        let registry = lock(&self.shared.registry);
        registry
            .local_readers
            .keys()
            .chain(registry.local_watchers.keys())
            .cloned()
            .collect()
    }

    pub fn len(&self) -> usize {
        lock(&self.shared.registry).sessions.len()
    }

    /// True when no worker is talking to the store.
    pub fn workers_idle(&self) -> bool {
        self.shared.busy_workers.load(Ordering::Acquire) == 0
    }

    /// Moves the store towards what the session wants, unless a worker for it is
    /// already running (that one will see the new wish).
    pub async fn drive(&self, session: &Session, store: &dyn Store) {
        {
            let mut state = lock(&session.state);
            if state.worker_running {
                return;
            }
            state.worker_running = true;
        }
        self.shared.busy_workers.fetch_add(1, Ordering::AcqRel);
        loop {
            match session.next_step() {
                Step::Done => break,
                Step::View {
                    post,
                    previous,
                    count_view,
                } => {
                    match store
                        .view(&session.id, &post, previous.as_ref(), count_view)
                        .await
                    {
                        Ok(viewing) => {
                            session.until_connected().await;
                            let Viewed { answered, was_lost } =
                                session.viewed(&post, count_view, &viewing);
                            if was_lost {
                                self.registered_again(session);
                            }
                            if answered {
                                self.answered(post, viewing.viewers);
                            }
                        }
                        Err(error) => {
                            self.shared
                                .store_errors
                                .warn(&error, "recording a view failed");
                            self.to_register_again(session);
                            if session.view_failed(post, &error) {
                                break;
                            }
                        }
                    }
                }
                Step::Leave(post) => {
                    if let Err(error) = store.leave(&session.id, &post).await {
                        // The session key expires by itself; gc reaps it.
                        self.shared
                            .store_errors
                            .warn(&error, "removing a session failed");
                    }
                    lock(&session.state).recorded = None;
                }
            }
        }
        self.shared.busy_workers.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Sessions {
    /// Puts a session whose view failed on keep-alive's retry list, unless it has
    /// been removed meanwhile (a closed session is not retried, and must not stay
    /// on the list for good).
    fn to_register_again(&self, session: &Session) {
        let mut registry = lock(&self.shared.registry);
        if registry.sessions.contains_key(&session.id) {
            registry.unregistered.insert(session.id.clone());
        }
    }

    /// Takes a session that was recorded again off the retry list, unless the
    /// store lost it once more in the meantime (keep-alive marked it again).
    fn registered_again(&self, session: &Session) {
        let mut registry = lock(&self.shared.registry);
        if !lock(&session.state).needs_register {
            registry.unregistered.remove(&session.id);
        }
    }
}

/// One socket fewer reads (or watches) `post`.
fn forget(counts: &mut HashMap<PostId, usize>, post: &PostId) {
    if let Some(count) = counts.get_mut(post) {
        *count -= 1;
        if *count == 0 {
            counts.remove(post);
        }
    }
}

impl Session {
    pub fn id(&self) -> &SessionId {
        &self.id
    }

    /// Waits until socketioxide marks the socket connected, so an answer is not
    /// thrown away. It sends the connect acknowledgement a moment *before* it marks
    /// the socket connected, and refuses every emit until then: a client that says
    /// `viewing` as soon as it is acknowledged can be recorded within that moment,
    /// and its answer was lost (about one reader in 20,000 when the load generator
    /// fills a server on two busy cores). Returns at once in every other case;
    /// gives up when the socket closes or turns out an orphan.
    pub async fn until_connected(&self) {
        if self.socket.connected() {
            return;
        }
        let give_up = Instant::now() + ORPHAN_AFTER;
        while !self.socket.connected() && !lock(&self.state).closed && Instant::now() < give_up {
            tokio::time::sleep(CONNECTED_POLL).await;
        }
    }

    fn next_step(&self) -> Step {
        let mut state = lock(&self.state);
        let step = if state.closed {
            match state.recorded.take() {
                Some(post) => Step::Leave(post),
                None => Step::Done,
            }
        } else {
            match state.wanted.clone() {
                Some(post)
                    if state.answer_pending
                        || state.needs_register
                        || state.recorded.as_ref() != Some(&post) =>
                {
                    state.answer_pending = false;
                    Step::View {
                        count_view: !state.visit(&post).is_some_and(|visit| visit.counted),
                        previous: state.recorded.clone(),
                        post,
                    }
                }
                _ => Step::Done,
            }
        };
        if matches!(step, Step::Done) {
            state.worker_running = false;
        }
        step
    }

    /// Records a successful view and answers the socket (unless a newer wish
    /// superseded the answer, or the socket closed).
    fn viewed(&self, post: &PostId, counted: bool, viewing: &presence_core::Viewing) -> Viewed {
        let mut state = lock(&self.state);
        state.recorded = Some(post.clone());
        let was_lost = std::mem::take(&mut state.needs_register);
        if counted && let Some(visit) = state.visit(post) {
            visit.counted = true;
        }
        // A newer wish supersedes this answer; its own answer follows.
        if state.wanted.as_ref() != Some(post) || state.closed {
            return Viewed {
                answered: false,
                was_lost,
            };
        }
        // Joined under the lock, so a concurrent `want` cannot slip in between and
        // leave the socket in a room it no longer wants.
        self.socket.join(room(post));
        drop(state);
        let _ = self
            .socket
            .emit("viewers", &(post.as_str(), viewing.viewers));
        let _ = self.socket.emit("views", &(post.as_str(), viewing.views));
        Viewed {
            answered: true,
            was_lost,
        }
    }

    /// Records a failed view. The script may have run before the connection broke,
    /// so the post counts as possibly recorded: a later leave removes it if it is
    /// there, and keep-alive re-registers it if it is not. Returns whether the
    /// worker stops here (it goes on to leave if the socket closed meanwhile).
    fn view_failed(&self, post: PostId, error: &presence_core::StoreError) -> bool {
        let mut state = lock(&self.state);
        state.recorded = Some(post);
        state.needs_register = true;
        if state.closed {
            return false;
        }
        state.worker_running = false;
        drop(state);
        tracing::debug!(session = %self.id, %error, "view not recorded; will retry");
        let _ = self.socket.emit(
            "error",
            &json!({
                "error": "unavailable",
                "message": "counts are unavailable right now; your reading is kept and recorded when the store is back",
            }),
        );
        true
    }
}
