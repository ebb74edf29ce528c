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
use std::sync::{Arc, Mutex, MutexGuard};

use presence_core::{PostId, SessionId, Store};
use serde_json::json;
use socketioxide::extract::SocketRef;
use tokio::sync::mpsc;

use crate::log_throttle::LogThrottle;

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
}

#[derive(Default)]
struct Registry {
    sessions: HashMap<SessionId, Arc<Session>>,
    local_readers: HashMap<PostId, usize>,
    local_watchers: HashMap<PostId, usize>,
}

pub struct Session {
    id: SessionId,
    socket: SocketRef,
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
    /// Posts whose view this session has counted: a view counts once per session
    /// per post, however often the socket says `viewing`.
    counted: HashSet<PostId>,
    /// Every post the socket asked for, bounded by `security.max_posts_per_socket`
    /// so one connection cannot tour the whole site inflating views.
    visited: HashSet<PostId>,
    /// Posts whose counts the socket watches without reading them.
    watching: Vec<PostId>,
    worker_running: bool,
    closed: bool,
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
    pub fn new(max_posts_per_session: usize) -> (Self, mpsc::Receiver<Answer>) {
        let (answers, answered) = mpsc::channel(ANSWER_BUFFER);
        let shared = Shared {
            answers,
            max_posts_per_session,
            registry: Mutex::default(),
            busy_workers: AtomicUsize::default(),
            store_errors: LogThrottle::default(),
        };
        (
            Self {
                shared: Arc::new(shared),
            },
            answered,
        )
    }

    /// Registers a connected socket.
    pub fn add(&self, id: SessionId, socket: SocketRef) {
        let session = Arc::new(Session {
            id: id.clone(),
            socket,
            state: Mutex::new(SessionState::default()),
        });
        lock(&self.shared.registry).sessions.insert(id, session);
    }

    /// The socket says it reads `post`: it leaves its old post's room now (and
    /// joins the new one once the store has recorded it). Returns the session, whose
    /// worker must then be [driven](Sessions::drive) to record it.
    ///
    /// This is synchronous on purpose: it runs in the order events arrive (see
    /// `socket.rs`), so the last `viewing` a socket sent is the one that sticks.
    pub fn want(&self, id: &SessionId, post: PostId) -> Result<Option<Arc<Session>>, WantError> {
        let session = {
            let mut registry = lock(&self.shared.registry);
            let Some(session) = registry.sessions.get(id).cloned() else {
                return Ok(None);
            };
            let mut state = lock(&session.state);
            if state.closed {
                return Ok(None);
            }
            if !state.visited.contains(&post) {
                let max = self.shared.max_posts_per_session;
                if state.visited.len() >= max {
                    return Err(WantError::TooManyPosts(max));
                }
                state.visited.insert(post.clone());
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
            drop(state);
            session
        };
        Ok(Some(session))
    }

    /// The socket watches `posts` now, instead of what it watched before: it joins
    /// and leaves their watch rooms at once. False if the socket is gone.
    pub fn watch(&self, id: &SessionId, posts: Vec<PostId>) -> bool {
        let mut registry = lock(&self.shared.registry);
        let Some(session) = registry.sessions.get(id).cloned() else {
            return false;
        };
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
        let session = {
            let mut registry = lock(&self.shared.registry);
            let session = registry.sessions.remove(id)?;
            let mut state = lock(&session.state);
            state.closed = true;
            if let Some(post) = &state.wanted {
                forget(&mut registry.local_readers, post);
            }
            for post in &state.watching {
                forget(&mut registry.local_watchers, post);
            }
            drop(state);
            session
        };
        Some(session)
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
    pub fn mark_lost(&self, ids: &[SessionId]) -> Vec<Arc<Session>> {
        let registry = lock(&self.shared.registry);
        ids.iter()
            .filter_map(|id| registry.sessions.get(id))
            .inspect(|session| lock(&session.state).needs_register = true)
            .cloned()
            .collect()
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
            .sessions
            .values()
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
                            if session.viewed(&post, count_view, &viewing) {
                                self.answered(post, viewing.viewers);
                            }
                        }
                        Err(error) => {
                            self.shared
                                .store_errors
                                .warn(&error, "recording a view failed");
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
                        count_view: !state.counted.contains(&post),
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

    /// Records a successful view and answers the socket; false if the answer was
    /// not sent (superseded by a newer wish, or closed).
    fn viewed(&self, post: &PostId, counted: bool, viewing: &presence_core::Viewing) -> bool {
        let mut state = lock(&self.state);
        state.recorded = Some(post.clone());
        state.needs_register = false;
        if counted {
            state.counted.insert(post.clone());
        }
        // A newer wish supersedes this answer; its own answer follows.
        if state.wanted.as_ref() != Some(post) || state.closed {
            return false;
        }
        // Joined under the lock, so a concurrent `want` cannot slip in between and
        // leave the socket in a room it no longer wants.
        self.socket.join(room(post));
        drop(state);
        let _ = self
            .socket
            .emit("viewers", &(post.as_str(), viewing.viewers));
        let _ = self.socket.emit("views", &(post.as_str(), viewing.views));
        true
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
