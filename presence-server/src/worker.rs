//! A session's worker: brings the store in line with what the session wants, one
//! step at a time, and reports each recorded reading to the hub. It never writes to
//! the socket: the hub does.

use std::sync::Arc;

use presence_core::{PostStats, Store};
use tokio_util::task::TaskTracker;

use crate::hub::{HubHandle, ToHub};
use crate::log_throttle::LogThrottle;
use crate::registry::{Session, Sessions};
use crate::session::{Step, ViewFailed};

/// Starts workers, and knows when none is running (shutdown waits for that). A
/// cheap handle: clones share one tracker.
#[derive(Clone)]
pub struct Workers {
    shared: Arc<Shared>,
}

struct Shared {
    store: Arc<dyn Store>,
    sessions: Sessions,
    hub: HubHandle,
    running: TaskTracker,
    store_errors: LogThrottle,
}

impl Workers {
    pub fn new(store: Arc<dyn Store>, sessions: Sessions, hub: HubHandle) -> Self {
        Self {
            shared: Arc::new(Shared {
                store,
                sessions,
                hub,
                running: TaskTracker::new(),
                store_errors: LogThrottle::default(),
            }),
        }
    }

    /// Moves the store towards what `session` wants, unless its worker is running
    /// already (that one sees the new wish). Runs in the caller's task (the
    /// socket's event handler, or keep-alive), tracked until it is done.
    pub async fn drive(&self, session: Arc<Session>) {
        if !session.claim_worker() {
            return;
        }
        self.shared.running.track_future(self.work(session)).await;
    }

    /// Waits until no worker runs (none may start afterwards).
    pub async fn idle(&self) {
        self.shared.running.close();
        self.shared.running.wait().await;
    }

    async fn work(&self, session: Arc<Session>) {
        let Shared {
            store,
            sessions,
            hub,
            store_errors,
            ..
        } = &*self.shared;
        loop {
            match session.next_step() {
                Step::Done => return,
                Step::View {
                    post,
                    previous,
                    count_view,
                } => match store
                    .view(session.id(), &post, previous.as_ref(), count_view)
                    .await
                {
                    Ok(viewing) => {
                        let viewed = sessions.viewed(&session, &post, count_view);
                        if viewed.answer {
                            let counts = PostStats {
                                viewers: viewing.viewers,
                                views: viewing.views,
                            };
                            hub.send(ToHub::Recorded {
                                session: session.clone(),
                                post,
                                counts,
                            });
                        }
                    }
                    Err(error) => {
                        store_errors.warn(&error, "recording a view failed");
                        tracing::debug!(session = %session.id(), %error, "view not recorded; will retry");
                        if sessions.view_failed(&session, post) == ViewFailed::Stop {
                            hub.send(ToHub::ViewFailed(session));
                            return;
                        }
                    }
                },
                Step::Leave(post) => {
                    if let Err(error) = store.leave(session.id(), &post).await {
                        // The session key expires by itself; gc reaps it.
                        store_errors.warn(&error, "removing a session failed");
                    }
                    session.left();
                }
            }
        }
    }
}
