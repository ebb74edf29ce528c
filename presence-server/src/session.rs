//! One socket's session as plain data, and the pure transitions its events make.
//!
//! Events of one socket are handled by concurrent tasks in socketioxide, so two
//! quick `viewing` events, or a `viewing` racing its own disconnect, could reach the
//! store out of order and leave a ghost. Instead a session keeps one *wanted*
//! post, and at most one worker at a time moves the store towards it, one
//! [`Step`] after another. A flood of `viewing` events collapses into a few store
//! calls, and the last word (a disconnect) always wins.
//!
//! Nothing here touches a socket, a lock or the store: the registry applies a
//! transition under the session's lock and carries out what it returns.

use presence_core::PostId;

/// Why a wish was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WantError {
    #[error("this connection has viewed {0} different posts, the most allowed")]
    TooManyPosts(usize),
}

#[derive(Debug, Default)]
pub struct SessionState {
    /// The post the socket last said it reads.
    wanted: Option<PostId>,
    /// The post we believe the store has recorded for this session.
    recorded: Option<PostId>,
    /// The store lost (or never got) this session: record it again.
    needs_register: bool,
    /// The socket asked and awaits its own answer.
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
}

#[derive(Debug)]
struct Visit {
    post: PostId,
    counted: bool,
}

/// What a `viewing` changed.
#[derive(Debug, PartialEq, Eq)]
pub enum Wanted {
    /// The socket is gone; nothing changes.
    Closed,
    /// The wish is recorded. `left` is the post the socket stopped reading (its
    /// room and audience must be left), `entered` whether it joined the wanted
    /// post's audience (false when it already wanted it).
    Yes { left: Option<PostId>, entered: bool },
}

/// What a `watch` changed: the posts the socket stopped and started watching.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct WatchChange {
    pub stopped: Vec<PostId>,
    pub started: Vec<PostId>,
}

/// What closing a session leaves behind: the audiences it leaves.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Closing {
    pub reading: Option<PostId>,
    pub watching: Vec<PostId>,
}

/// One step of a worker.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Record that the session reads `post`, moving it off `previous`.
    View {
        post: PostId,
        previous: Option<PostId>,
        count_view: bool,
    },
    /// Remove the session from `post` (it closed).
    Leave(PostId),
    /// Nothing left to do; the worker stops.
    Done,
}

/// What a recorded view means.
#[derive(Debug, PartialEq, Eq)]
pub struct Viewed {
    /// The socket still wants this post, so it gets its answer (else a newer wish
    /// supersedes it, with its own answer to follow).
    pub answer: bool,
    /// The session had been marked for recording again, and now is recorded.
    pub was_lost: bool,
}

/// What a failed view means for the worker.
#[derive(Debug, PartialEq, Eq)]
pub enum ViewFailed {
    /// The worker stops; keep-alive's retry records the session later, and the
    /// socket is told counts are unavailable.
    Stop,
    /// The socket closed meanwhile: go on, to remove what may have been recorded.
    GoOn,
}

impl SessionState {
    /// The socket says it reads `post`.
    pub fn want(&mut self, post: PostId, max_posts: usize) -> Result<Wanted, WantError> {
        if self.closed {
            return Ok(Wanted::Closed);
        }
        if self.visit(&post).is_none() {
            if self.visited.len() >= max_posts {
                return Err(WantError::TooManyPosts(max_posts));
            }
            self.visited.push(Visit {
                post: post.clone(),
                counted: false,
            });
        }
        self.answer_pending = true;
        if self.wanted.as_ref() == Some(&post) {
            return Ok(Wanted::Yes {
                left: None,
                entered: false,
            });
        }
        let left = self.wanted.replace(post);
        Ok(Wanted::Yes {
            left,
            entered: true,
        })
    }

    /// The socket watches `posts` now, instead of what it watched before. `None`
    /// when it is closed.
    pub fn watch(&mut self, posts: Vec<PostId>) -> Option<WatchChange> {
        if self.closed {
            return None;
        }
        // Lists are short (security.max_watch_posts): linear lookups are fine.
        let change = WatchChange {
            stopped: self
                .watching
                .iter()
                .filter(|post| !posts.contains(post))
                .cloned()
                .collect(),
            started: posts
                .iter()
                .filter(|post| !self.watching.contains(post))
                .cloned()
                .collect(),
        };
        self.watching = posts;
        Some(change)
    }

    /// The socket closed (or never got acknowledged). Returns the audiences it
    /// leaves; its worker, when driven, removes it from the store.
    pub fn close(&mut self) -> Closing {
        if self.closed {
            return Closing::default();
        }
        self.closed = true;
        Closing {
            reading: self.wanted.clone(),
            watching: std::mem::take(&mut self.watching),
        }
    }

    /// Shutdown: closes the session and hands back what the store holds, so every
    /// session can be removed in one batch; `None` when there is nothing, or when
    /// its worker is running (it sees `closed` and removes the session itself).
    pub fn close_for_shutdown(&mut self) -> Option<PostId> {
        self.closed = true;
        if self.worker_running {
            return None;
        }
        self.recorded.take()
    }

    /// Makes this caller the session's worker, unless one is running already
    /// (that one will see the new wish).
    pub fn claim_worker(&mut self) -> bool {
        !std::mem::replace(&mut self.worker_running, true)
    }

    /// The worker's next step. `Done` also releases the worker.
    pub fn next_step(&mut self) -> Step {
        let step = if self.closed {
            match self.recorded.take() {
                Some(post) => Step::Leave(post),
                None => Step::Done,
            }
        } else {
            match self.wanted.clone() {
                Some(post)
                    if self.answer_pending
                        || self.needs_register
                        || self.recorded.as_ref() != Some(&post) =>
                {
                    self.answer_pending = false;
                    Step::View {
                        count_view: !self.visit(&post).is_some_and(|visit| visit.counted),
                        previous: self.recorded.clone(),
                        post,
                    }
                }
                _ => Step::Done,
            }
        };
        if step == Step::Done {
            self.worker_running = false;
        }
        step
    }

    /// The store recorded that the session reads `post`.
    pub fn viewed(&mut self, post: &PostId, counted: bool) -> Viewed {
        self.recorded = Some(post.clone());
        let was_lost = std::mem::take(&mut self.needs_register);
        if counted && let Some(visit) = self.visit(post) {
            visit.counted = true;
        }
        Viewed {
            answer: self.wants(post),
            was_lost,
        }
    }

    /// The store did not answer a view of `post`. The script may have run before
    /// the connection broke, so the post counts as possibly recorded: a later leave
    /// removes it if it is there, and keep-alive records it again if it is not.
    pub fn view_failed(&mut self, post: PostId) -> ViewFailed {
        self.recorded = Some(post);
        self.needs_register = true;
        if self.closed {
            return ViewFailed::GoOn;
        }
        self.worker_running = false;
        ViewFailed::Stop
    }

    /// The store removed the session (or gave up; its key expires by itself).
    pub fn left(&mut self) {
        self.recorded = None;
    }

    /// The store lost this session (keep-alive found its key missing).
    pub fn mark_lost(&mut self) {
        self.needs_register = true;
    }

    /// Whether a retry should record this session again now.
    pub fn retry_due(&self) -> bool {
        self.needs_register && self.wanted.is_some() && !self.worker_running && !self.closed
    }

    /// Whether the open socket reads `post`.
    pub fn wants(&self, post: &PostId) -> bool {
        !self.closed && self.wanted.as_ref() == Some(post)
    }

    /// Whether the open socket watches `post`.
    pub fn watches(&self, post: &PostId) -> bool {
        !self.closed && self.watching.contains(post)
    }

    /// The post the store holds for this session, for keep-alive.
    pub fn recorded(&self) -> Option<&PostId> {
        self.recorded.as_ref()
    }

    fn visit(&mut self, post: &PostId) -> Option<&mut Visit> {
        self.visited.iter_mut().find(|visit| visit.post == *post)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(id: &str) -> PostId {
        PostId::parse(id).expect("a valid post id")
    }

    fn view(id: &str, previous: Option<&str>, count_view: bool) -> Step {
        Step::View {
            post: post(id),
            previous: previous.map(post),
            count_view,
        }
    }

    /// A worker's run: steps until `Done`, every view succeeding.
    fn run_worker(state: &mut SessionState) -> Vec<Step> {
        assert!(state.claim_worker(), "no worker was running");
        let mut steps = Vec::new();
        loop {
            let step = state.next_step();
            match &step {
                Step::View {
                    post, count_view, ..
                } => {
                    state.viewed(post, *count_view);
                }
                Step::Leave(_) => state.left(),
                Step::Done => {}
            }
            let done = step == Step::Done;
            steps.push(step);
            if done {
                return steps;
            }
        }
    }

    #[test]
    fn a_first_viewing_is_recorded_once_and_counted() {
        let mut state = SessionState::default();
        assert_eq!(
            state.want(post("13"), 50),
            Ok(Wanted::Yes {
                left: None,
                entered: true
            })
        );
        assert_eq!(run_worker(&mut state), [view("13", None, true), Step::Done]);
        assert_eq!(state.recorded(), Some(&post("13")));
    }

    #[test]
    fn the_last_viewing_wins_while_a_worker_is_busy() {
        let mut state = SessionState::default();
        state.want(post("1"), 50).unwrap();
        assert!(state.claim_worker());
        let first = state.next_step();
        assert_eq!(first, view("1", None, true));
        // While the store records post 1, the socket says 2, then 3.
        assert_eq!(
            state.want(post("2"), 50),
            Ok(Wanted::Yes {
                left: Some(post("1")),
                entered: true
            })
        );
        state.want(post("3"), 50).unwrap();
        assert!(!state.claim_worker(), "the running worker sees the wish");
        let viewed = state.viewed(&post("1"), true);
        assert_eq!(
            viewed,
            Viewed {
                answer: false,
                was_lost: false
            },
            "post 1 is superseded: no answer"
        );
        // One move straight to 3: post 2 never reaches the store.
        assert_eq!(state.next_step(), view("3", Some("1"), true));
        assert!(state.viewed(&post("3"), true).answer);
        assert_eq!(state.next_step(), Step::Done);
    }

    #[test]
    fn a_move_counts_each_post_once_and_a_repeat_is_answered_again() {
        let mut state = SessionState::default();
        state.want(post("1"), 50).unwrap();
        run_worker(&mut state);
        state.want(post("2"), 50).unwrap();
        assert_eq!(
            run_worker(&mut state),
            [view("2", Some("1"), true), Step::Done]
        );
        // Back to 1: moved, not counted again.
        state.want(post("1"), 50).unwrap();
        assert_eq!(
            run_worker(&mut state),
            [view("1", Some("2"), false), Step::Done]
        );
        // The same post again: no audience change, but a fresh answer.
        assert_eq!(
            state.want(post("1"), 50),
            Ok(Wanted::Yes {
                left: None,
                entered: false
            })
        );
        assert_eq!(
            run_worker(&mut state),
            [view("1", Some("1"), false), Step::Done]
        );
    }

    #[test]
    fn a_socket_may_visit_only_so_many_posts() {
        let mut state = SessionState::default();
        state.want(post("1"), 2).unwrap();
        state.want(post("2"), 2).unwrap();
        assert_eq!(state.want(post("3"), 2), Err(WantError::TooManyPosts(2)));
        // Posts it visited stay open to it.
        assert!(state.want(post("1"), 2).is_ok());
    }

    #[test]
    fn a_failed_view_is_retried_and_counted_once() {
        let mut state = SessionState::default();
        state.want(post("13"), 50).unwrap();
        assert!(state.claim_worker());
        assert_eq!(state.next_step(), view("13", None, true));
        assert_eq!(state.view_failed(post("13")), ViewFailed::Stop);
        assert!(state.retry_due());
        // The retry moves "from" the post that may have been recorded, and still
        // counts the view: the failed call may not have run.
        assert_eq!(
            run_worker(&mut state),
            [view("13", Some("13"), true), Step::Done]
        );
        assert!(!state.retry_due());
    }

    #[test]
    fn a_session_the_store_lost_is_recorded_again_without_a_view() {
        let mut state = SessionState::default();
        state.want(post("13"), 50).unwrap();
        run_worker(&mut state);
        state.mark_lost();
        assert!(state.retry_due());
        assert_eq!(
            run_worker(&mut state),
            [view("13", Some("13"), false), Step::Done]
        );
        let viewed_again = {
            state.mark_lost();
            state.claim_worker();
            let Step::View { post, .. } = state.next_step() else {
                panic!("a view")
            };
            state.viewed(&post, false)
        };
        assert!(viewed_again.was_lost);
    }

    #[test]
    fn leaving_while_busy_removes_what_the_busy_worker_recorded() {
        let mut state = SessionState::default();
        state.want(post("13"), 50).unwrap();
        state.watch(vec![post("7")]);
        assert!(state.claim_worker());
        assert_eq!(state.next_step(), view("13", None, true));
        // The socket closes while the store records the view.
        assert_eq!(
            state.close(),
            Closing {
                reading: Some(post("13")),
                watching: vec![post("7")]
            }
        );
        assert_eq!(
            state.close(),
            Closing::default(),
            "closing twice is a no-op"
        );
        let viewed = state.viewed(&post("13"), true);
        assert!(!viewed.answer, "a closed socket is not answered");
        assert_eq!(state.next_step(), Step::Leave(post("13")));
        state.left();
        assert_eq!(state.next_step(), Step::Done);
        // Nothing the socket says afterwards changes anything.
        assert_eq!(state.want(post("1"), 50), Ok(Wanted::Closed));
        assert_eq!(state.watch(vec![post("1")]), None);
    }

    #[test]
    fn a_view_failing_after_the_socket_closed_still_leaves() {
        let mut state = SessionState::default();
        state.want(post("13"), 50).unwrap();
        assert!(state.claim_worker());
        state.next_step();
        state.close();
        assert_eq!(state.view_failed(post("13")), ViewFailed::GoOn);
        assert_eq!(state.next_step(), Step::Leave(post("13")));
    }

    #[test]
    fn an_orphan_closes_like_a_disconnect() {
        // socketioxide dropped the socket before acknowledging it, after a
        // `viewing` slipped in and was recorded: closing removes it from the store.
        let mut state = SessionState::default();
        state.want(post("13"), 50).unwrap();
        run_worker(&mut state);
        state.close();
        assert_eq!(
            run_worker(&mut state),
            [Step::Leave(post("13")), Step::Done]
        );
        assert!(!state.retry_due());
    }

    #[test]
    fn shutdown_takes_what_the_store_holds_unless_a_worker_is_busy() {
        let mut idle = SessionState::default();
        idle.want(post("13"), 50).unwrap();
        run_worker(&mut idle);
        assert_eq!(idle.close_for_shutdown(), Some(post("13")));
        assert_eq!(idle.next_step(), Step::Done, "nothing left to remove");

        let mut busy = SessionState::default();
        busy.want(post("13"), 50).unwrap();
        busy.claim_worker();
        busy.next_step();
        assert_eq!(busy.close_for_shutdown(), None);
        busy.viewed(&post("13"), true);
        assert_eq!(busy.next_step(), Step::Leave(post("13")));
    }

    #[test]
    fn watching_replaces_the_list_and_reports_the_difference() {
        let mut state = SessionState::default();
        assert_eq!(
            state.watch(vec![post("1"), post("2")]),
            Some(WatchChange {
                stopped: vec![],
                started: vec![post("1"), post("2")]
            })
        );
        assert_eq!(
            state.watch(vec![post("2"), post("3")]),
            Some(WatchChange {
                stopped: vec![post("1")],
                started: vec![post("3")]
            })
        );
        assert!(state.watches(&post("3")) && !state.watches(&post("1")));
        assert_eq!(
            state.watch(vec![]),
            Some(WatchChange {
                stopped: vec![post("2"), post("3")],
                started: vec![]
            })
        );
    }
}
