//! Count feeds for listeners that are not sockets: the Server-Sent Events stream
//! of `GET /api/posts/{id}/events`.
//!
//! The fan-out publishes into them exactly what it pushes to the post's rooms, so
//! SSE listeners get the same coalesced updates as sockets and cost nothing per
//! change beyond one `watch` channel send per post.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use presence_core::PostId;
use tokio::sync::{Notify, watch};

#[derive(Default)]
pub struct Feeds {
    inner: Mutex<Inner>,
    /// Woken when a post gets its first listener, so the fan-out reads its count.
    pub opened: Notify,
}

#[derive(Default)]
struct Inner {
    /// The last count published for each post listened to; `None` until the first.
    senders: HashMap<PostId, watch::Sender<Option<u64>>>,
    /// Posts listened to whose count the fan-out has not published yet.
    unpublished: Vec<PostId>,
}

impl Feeds {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A receiver of `post`'s counts. It sees the last count published (if any)
    /// at once, then every change.
    pub fn subscribe(&self, post: &PostId) -> watch::Receiver<Option<u64>> {
        let mut inner = self.lock();
        if let Some(sender) = inner.senders.get(post) {
            return sender.subscribe();
        }
        let (sender, receiver) = watch::channel(None);
        inner.senders.insert(post.clone(), sender);
        inner.unpublished.push(post.clone());
        drop(inner);
        self.opened.notify_one();
        receiver
    }

    /// Posts that got their first listener since the last call.
    pub fn take_opened(&self) -> Vec<PostId> {
        std::mem::take(&mut self.lock().unpublished)
    }

    /// Listeners of `post`; a feed nobody listens to any more is dropped here.
    pub fn listeners(&self, post: &PostId) -> usize {
        let mut inner = self.lock();
        let Some(sender) = inner.senders.get(post) else {
            return 0;
        };
        let listeners = sender.receiver_count();
        if listeners == 0 {
            inner.senders.remove(post);
        }
        listeners
    }

    /// Every post with a feed.
    pub fn posts(&self) -> Vec<PostId> {
        self.lock().senders.keys().cloned().collect()
    }

    /// Hands `count` to `post`'s listeners, if it differs from what they have.
    pub fn publish(&self, post: &PostId, count: u64) {
        if let Some(sender) = self.lock().senders.get(post) {
            sender.send_if_modified(|last| {
                let changed = *last != Some(count);
                *last = Some(count);
                changed
            });
        }
    }
}
