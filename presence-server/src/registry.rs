//! Every session on this process: the map of sessions, how many of them read or
//! watch each post (the local audience), and the list of sessions to record again.
//!
//! Each method applies one [`SessionState`] transition under the session's lock
//! and carries out what it returns on the socket's rooms and the counts, so a
//! socket's rooms always match what it last asked for.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use presence_core::{PostId, SessionId};
use socketioxide::extract::SocketRef;

use crate::budget::EventBudget;
use crate::metrics::Metrics;
use crate::session::{Closing, SessionState, Step, ViewFailed, Viewed, WantError, Wanted};
use crate::wire::{reader_room, watcher_room};
use presence_core::maps::shrink_if_sparse;

/// How long a socket may stay unacknowledged before its session counts as an
/// orphan (see [`Sessions::remove_orphans`]). The acknowledgement follows our
/// connect middleware within microseconds; this is far beyond any real delay.
const ORPHAN_AFTER: Duration = Duration::from_secs(10);

/// Every session of this process. A cheap handle: clones share one registry.
#[derive(Clone)]
pub struct Sessions {
    shared: Arc<Shared>,
}

struct Shared {
    max_posts_per_session: usize,
    /// A parking_lot mutex: every critical section is a few map operations and
    /// never awaits. Lock order: the registry, then a session's state.
    registry: Mutex<Registry>,
    /// `presence_connections` is the number of registered sessions, so it can
    /// never drift from what this process holds.
    metrics: Arc<Metrics>,
    /// The origin of [`Session::registered_secs`].
    started: Instant,
}

#[derive(Default)]
struct Registry {
    sessions: HashMap<SessionId, Arc<Session>>,
    readers: HashMap<PostId, usize>,
    watchers: HashMap<PostId, usize>,
    /// Sessions whose last store call failed (or that the store lost), to be
    /// recorded again: keep-alive's retry visits these, not every session.
    retry: HashSet<SessionId>,
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

impl Session {
    pub fn id(&self) -> &SessionId {
        &self.id
    }

    pub fn socket(&self) -> &SocketRef {
        &self.socket
    }

    /// Whether the open socket reads `post`.
    pub fn reads(&self, post: &PostId) -> bool {
        self.state.lock().wants(post)
    }

    /// Whether the open socket watches `post`.
    pub fn watches(&self, post: &PostId) -> bool {
        self.state.lock().watches(post)
    }

    /// Makes the caller the session's worker, unless one is running.
    pub fn claim_worker(&self) -> bool {
        self.state.lock().claim_worker()
    }

    /// The worker's next step; `Done` releases the worker.
    pub fn next_step(&self) -> Step {
        self.state.lock().next_step()
    }

    /// The store removed the session, or gave up (its key expires by itself).
    pub fn left(&self) {
        self.state.lock().left();
    }
}

impl Sessions {
    pub fn new(max_posts_per_session: usize, metrics: Arc<Metrics>) -> Self {
        Self {
            shared: Arc::new(Shared {
                max_posts_per_session,
                registry: Mutex::default(),
                metrics,
                started: Instant::now(),
            }),
        }
    }

    /// Registers a socket that is being connected (by the connect middleware,
    /// before socketioxide acknowledges it). The registry owns the session; the
    /// socket's handlers hold it weakly, so neither keeps the other alive.
    pub fn add(&self, id: SessionId, socket: SocketRef, budget: EventBudget) -> Weak<Session> {
        let registered_secs =
            u32::try_from(self.shared.started.elapsed().as_secs()).unwrap_or(u32::MAX);
        let session = Arc::new(Session {
            id: id.clone(),
            socket,
            budget,
            registered_secs,
            state: Mutex::default(),
        });
        let weak = Arc::downgrade(&session);
        if self
            .shared
            .registry
            .lock()
            .sessions
            .insert(id, session)
            .is_none()
        {
            self.shared.metrics.connections.inc();
        }
        weak
    }

    /// The socket says it reads `post`: it leaves its old post's room now (and
    /// joins the new one once the store has recorded it, see
    /// [`Sessions::join_if_reading`]). True when its worker must then be driven.
    ///
    /// Synchronous on purpose: it runs in the order events arrive (see
    /// `socket.rs`), so the last `viewing` a socket sent is the one that sticks.
    pub fn want(&self, session: &Session, post: PostId) -> Result<bool, WantError> {
        let mut registry = self.shared.registry.lock();
        let mut state = session.state.lock();
        match state.want(post.clone(), self.shared.max_posts_per_session)? {
            Wanted::Closed => Ok(false),
            Wanted::Yes { left, entered } => {
                if let Some(old) = left {
                    forget(&mut registry.readers, &old);
                    session.socket.leave(reader_room(&old));
                }
                if entered {
                    *registry.readers.entry(post).or_default() += 1;
                }
                Ok(true)
            }
        }
    }

    /// The socket watches `posts` now, instead of what it watched before: it joins
    /// and leaves their watchers' rooms at once. False if the socket is gone.
    pub fn watch(&self, session: &Session, posts: Vec<PostId>) -> bool {
        let mut registry = self.shared.registry.lock();
        let mut state = session.state.lock();
        let Some(change) = state.watch(posts) else {
            return false;
        };
        for post in &change.stopped {
            forget(&mut registry.watchers, post);
            session.socket.leave(watcher_room(post));
        }
        for post in change.started {
            session.socket.join(watcher_room(&post));
            *registry.watchers.entry(post).or_default() += 1;
        }
        true
    }

    /// Joins the session's socket to `post`'s readers' room if it still reads it:
    /// under its lock, so a `viewing` racing this cannot leave the socket in a room
    /// it no longer wants.
    pub fn join_if_reading(&self, session: &Session, post: &PostId) -> bool {
        let state = session.state.lock();
        let reads = state.wants(post);
        if reads {
            session.socket.join(reader_room(post));
        }
        reads
    }

    /// The store recorded that `session` reads `post`.
    pub fn viewed(&self, session: &Session, post: &PostId, counted: bool) -> Viewed {
        let mut registry = self.shared.registry.lock();
        let viewed = session.state.lock().viewed(post, counted);
        // Under the registry's lock, keep-alive cannot mark it lost again meanwhile.
        if viewed.was_lost {
            registry.retry.remove(&session.id);
        }
        viewed
    }

    /// The store did not answer a view: the session goes on the retry list, unless
    /// it was removed meanwhile (a closed session is not retried, and must not stay
    /// on the list for good).
    pub fn view_failed(&self, session: &Session, post: PostId) -> ViewFailed {
        let mut registry = self.shared.registry.lock();
        let failed = session.state.lock().view_failed(post);
        if registry.sessions.contains_key(&session.id) {
            registry.retry.insert(session.id.clone());
        }
        failed
    }

    /// The socket closed: forget it here at once. Returns the session, whose
    /// worker must then be driven to remove it from the store.
    pub fn remove(&self, id: &SessionId) -> Option<Arc<Session>> {
        let mut registry = self.shared.registry.lock();
        let session = registry.sessions.remove(id)?;
        registry.retry.remove(id);
        self.shared.metrics.connections.dec();
        let Closing { reading, watching } = session.state.lock().close();
        if let Some(post) = reading {
            forget(&mut registry.readers, &post);
        }
        for post in &watching {
            forget(&mut registry.watchers, post);
        }
        Some(session)
    }

    /// Sessions whose socket socketioxide never acknowledged, removed here: when
    /// the transport closes between our connect middleware (which registered the
    /// session) and the acknowledgement, socketioxide drops the socket without
    /// calling its disconnect handler, and the session would stay forever. A
    /// session counts as an orphan once it is [`ORPHAN_AFTER`] old and its socket
    /// is not connected. An event that slipped in before socketioxide gave up may
    /// have been recorded: the caller drives each orphan's worker, like any closed
    /// session's.
    pub fn remove_orphans(&self) -> Vec<Arc<Session>> {
        let now = self.shared.started.elapsed().as_secs();
        let orphans: Vec<SessionId> = {
            let registry = self.shared.registry.lock();
            registry
                .sessions
                .values()
                .filter(|session| {
                    now.saturating_sub(u64::from(session.registered_secs)) >= ORPHAN_AFTER.as_secs()
                        && !session.socket.connected()
                })
                .map(|session| session.id.clone())
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
        let registry = self.shared.registry.lock();
        registry
            .sessions
            .values()
            .filter_map(|session| {
                let post = session.state.lock().close_for_shutdown()?;
                Some((session.id.clone(), post))
            })
            .collect()
    }

    /// Marks the sessions the store lost, so they are recorded again.
    pub fn mark_lost(&self, ids: &[SessionId]) {
        let mut registry = self.shared.registry.lock();
        for id in ids {
            if let Some(session) = registry.sessions.get(id) {
                session.state.lock().mark_lost();
                registry.retry.insert(id.clone());
            }
        }
    }

    /// (session, post) of every session the store should hold, for keep-alive.
    pub fn recorded(&self) -> Vec<(SessionId, PostId)> {
        let registry = self.shared.registry.lock();
        registry
            .sessions
            .values()
            .filter_map(|session| {
                let post = session.state.lock().recorded()?.clone();
                Some((session.id.clone(), post))
            })
            .collect()
    }

    /// Sessions on the retry list that are ready to be recorded again.
    pub fn due_for_retry(&self) -> Vec<Arc<Session>> {
        let registry = self.shared.registry.lock();
        registry
            .retry
            .iter()
            .filter_map(|id| registry.sessions.get(id))
            .filter(|session| session.state.lock().retry_due())
            .cloned()
            .collect()
    }

    /// Sockets here that read or watch `post`: who a push of it reaches.
    pub fn local_audience(&self, post: &PostId) -> usize {
        let registry = self.shared.registry.lock();
        let count = |map: &HashMap<PostId, usize>| map.get(post).copied().unwrap_or(0);
        count(&registry.readers) + count(&registry.watchers)
    }

    /// Every post read or watched here.
    pub fn posts_with_local_audience(&self) -> HashSet<PostId> {
        let registry = self.shared.registry.lock();
        registry
            .readers
            .keys()
            .chain(registry.watchers.keys())
            .cloned()
            .collect()
    }

    /// Posts read and posts watched here, for the gauges.
    pub fn audience_sizes(&self) -> (usize, usize) {
        let mut registry = self.shared.registry.lock();
        let Registry {
            readers, watchers, ..
        } = &mut *registry;
        shrink_if_sparse(readers);
        shrink_if_sparse(watchers);
        (readers.len(), watchers.len())
    }

    pub fn len(&self) -> usize {
        self.shared.registry.lock().sessions.len()
    }
}

/// One socket fewer reads (or watches) `post`; a post nobody reads goes.
fn forget(counts: &mut HashMap<PostId, usize>, post: &PostId) {
    if let Some(count) = counts.get_mut(post) {
        *count -= 1;
        if *count == 0 {
            counts.remove(post);
        }
    }
}
