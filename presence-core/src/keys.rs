//! The Redis key schema. Every key and channel name is built here and nowhere else,
//! so a later layout (hash tags for Redis Cluster) is a change to this one file.
//!
//! | key                       | type   | content                               |
//! |---------------------------|--------|---------------------------------------|
//! | `viewers`                 | hash   | session id → post id it views         |
//! | `viewers:<post-id>`       | set    | session ids viewing that post         |
//! | `session:<session-id>`    | string | post id; its TTL is the session's life |
//! | `views:<post-id>`         | string | all-time views of the post            |
//! | `presence:top`            | zset   | post id → readers, posts being read only |
//! | `presence:history`        | zset   | site-wide readers sampled over time   |
//! | `presence:changes`        | channel| post ids whose readers changed        |
//!
//! All of them carry the configured prefix, so several sites can share one Redis.

use crate::ids::{PostId, SessionId};

#[derive(Clone, Debug, Default)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// `prefix` is validated by the config (`[A-Za-z0-9_:-]*`), so it never contains
    /// SCAN glob characters.
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The hash from session id to the post it views.
    pub fn sessions_hash(&self) -> String {
        format!("{}viewers", self.prefix)
    }

    /// The set of sessions reading `post`; its SCARD is the live count.
    pub fn readers(&self, post: &PostId) -> String {
        format!("{}viewers:{post}", self.prefix)
    }

    /// The TTL'd liveness key of a session.
    pub fn session(&self, session: &SessionId) -> String {
        format!("{}session:{session}", self.prefix)
    }

    /// The all-time view counter of `post`.
    pub fn views(&self, post: &PostId) -> String {
        format!("{}views:{post}", self.prefix)
    }

    /// The site-wide index: every post being read, scored by its readers. Kept by
    /// the same scripts that change the sets, so it never drifts from them. Post
    /// keys all start `viewers:`/`views:`/`session:`, so no post id can name it.
    pub fn top_index(&self) -> String {
        format!("{}presence:top", self.prefix)
    }

    /// Samples of site-wide readers over the last hour, shared by every server.
    pub fn history(&self) -> String {
        format!("{}presence:history", self.prefix)
    }

    /// The pub/sub channel on which every change of a post's readers is announced.
    pub fn changes_channel(&self) -> String {
        format!("{}presence:changes", self.prefix)
    }

    /// The channel on which admitted notices go to every server for delivery.
    pub fn notices_channel(&self) -> String {
        format!("{}presence:notices", self.prefix)
    }

    /// The documented channel on which other programs submit notices; servers
    /// validate and rate-limit them exactly like the HTTP API's.
    pub fn notice_submissions_channel(&self) -> String {
        format!("{}presence:notices:submit", self.prefix)
    }

    /// Fixed-window counter of notices for one post, or for the site (`None`).
    pub fn notice_rate(&self, post: Option<&PostId>) -> String {
        match post {
            Some(post) => format!("{}notices:rate:post:{post}", self.prefix),
            None => format!("{}notices:rate:site", self.prefix),
        }
    }

    /// Marks a submission as admitted, so the servers that all receive it from
    /// Redis admit it once.
    pub fn notice_seen(&self, digest: &str) -> String {
        format!("{}notices:seen:{digest}", self.prefix)
    }

    /// A throwaway key gc sets with a 1 ms TTL to prove that expiry events arrive.
    pub fn expiry_probe(&self, token: &str) -> String {
        format!("{}presence:gc-probe:{token}", self.prefix)
    }

    /// SCAN pattern matching every reader set (and nothing else: the hash is
    /// `viewers` without a colon).
    pub fn readers_pattern(&self) -> String {
        format!("{}viewers:*", self.prefix)
    }

    /// The keyevent channel on which Redis names every key of database `db` that
    /// expired (with `notify-keyspace-events` containing `Ex`). It carries other
    /// keys too; [`Keys::session_of_key`] picks ours.
    pub fn expired_events_channel(&self, db: i64) -> String {
        format!("__keyevent@{db}__:expired")
    }

    /// The post of a reader-set key found by SCAN, or `None` for a key that only
    /// looks like one (a foreign key under our prefix).
    pub fn post_of_readers_key(&self, key: &str) -> Option<PostId> {
        let id = key.strip_prefix(&self.prefix)?.strip_prefix("viewers:")?;
        PostId::parse(id).ok()
    }

    /// The session of a session key, as named in a keyspace notification channel or
    /// an `expired` event payload.
    pub fn session_of_key(&self, key: &str) -> Option<SessionId> {
        let id = key.strip_prefix(&self.prefix)?.strip_prefix("session:")?;
        SessionId::parse(id).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_2015_names_under_a_prefix() {
        let post = PostId::parse("13").unwrap();
        let session = SessionId::parse("abc").unwrap();
        let bare = Keys::default();
        assert_eq!(bare.sessions_hash(), "viewers");
        assert_eq!(bare.readers(&post), "viewers:13");
        assert_eq!(bare.session(&session), "session:abc");
        assert_eq!(bare.views(&post), "views:13");
        assert_eq!(bare.top_index(), "presence:top");

        let site = Keys::new("blog1:");
        assert_eq!(site.readers(&post), "blog1:viewers:13");
        assert_eq!(site.post_of_readers_key("blog1:viewers:13"), Some(post));
        assert_eq!(site.post_of_readers_key("blog2:viewers:13"), None);
        assert_eq!(site.session_of_key("blog1:session:abc"), Some(session));
        assert_eq!(site.session_of_key("blog1:session:a*c"), None);
    }
}
