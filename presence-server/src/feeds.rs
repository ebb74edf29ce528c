//! Count feeds for listeners that are not sockets: the Server-Sent Events stream
//! of `GET /api/posts/{id}/events`.
//!
//! The hub publishes into them exactly what it pushes to the post's rooms, so SSE
//! listeners get the same coalesced updates as sockets and cost nothing per change
//! beyond one `watch` channel send per post. A feed goes as soon as its last
//! listener does (see [`Feeds::prune`]), so streams over fresh post ids leave
//! nothing behind.

use std::collections::HashMap;

use parking_lot::Mutex;
use presence_core::{PostId, PostStats};
use tokio::sync::watch;

use presence_core::maps::shrink_if_sparse;

#[derive(Default)]
pub struct Feeds {
    /// The last figures published for each post listened to; `None` until the first.
    senders: Mutex<HashMap<PostId, watch::Sender<Option<PostStats>>>>,
}

impl Feeds {
    /// A receiver of `post`'s figures, and whether it is the post's first listener
    /// (the hub owes it a read). It sees the last figures published (if any) at
    /// once, then every change.
    pub fn subscribe(&self, post: &PostId) -> (watch::Receiver<Option<PostStats>>, bool) {
        let mut senders = self.senders.lock();
        if let Some(sender) = senders.get(post) {
            return (sender.subscribe(), false);
        }
        let (sender, receiver) = watch::channel(None);
        senders.insert(post.clone(), sender);
        (receiver, true)
    }

    /// Listeners of `post`.
    pub fn listeners(&self, post: &PostId) -> usize {
        self.senders
            .lock()
            .get(post)
            .map_or(0, watch::Sender::receiver_count)
    }

    /// Every post with a feed.
    pub fn posts(&self) -> Vec<PostId> {
        self.senders.lock().keys().cloned().collect()
    }

    /// Drops the feeds nobody listens to any more; returns how many are left.
    pub fn prune(&self) -> usize {
        let mut senders = self.senders.lock();
        senders.retain(|_, sender| sender.receiver_count() > 0);
        shrink_if_sparse(&mut senders);
        senders.len()
    }

    /// Hands `counts` to `post`'s listeners, if they differ from what they have.
    pub fn publish(&self, post: &PostId, counts: PostStats) {
        if let Some(sender) = self.senders.lock().get(post) {
            sender.send_if_modified(|last| {
                let changed = *last != Some(counts);
                *last = Some(counts);
                changed
            });
        }
    }
}
