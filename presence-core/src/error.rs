//! Errors a user or operator sees, one enum per boundary.

use thiserror::Error;

/// Why a post or session id was refused. The messages go back to clients as-is.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum IdError {
    #[error("post id is missing")]
    Missing,
    #[error("post id is empty")]
    Empty,
    #[error("post id is {len} characters long; at most 64 are allowed")]
    TooLong { len: usize },
    #[error("post id may only contain A-Z, a-z, 0-9, '_' and '-'")]
    BadCharacter,
    #[error("numeric post id must be a whole number from 1 to 9007199254740991")]
    BadNumber,
    #[error("post id must be a string or a number")]
    WrongType,
}

impl IdError {
    /// A stable, machine-readable code for the `error` event and HTTP error bodies.
    pub fn code(&self) -> &'static str {
        "invalid_post_id"
    }
}

/// A failed store operation. The server keeps running through these: they are
/// logged, counted and reported by `/readyz`, never turned into a panic.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis connection pool: {0}")]
    Pool(#[from] deadpool_redis::PoolError),
    #[error("cannot build the redis connection pool: {0}")]
    PoolBuild(String),
    #[error("no redis cluster node answered in time")]
    ClusterTimeout,
    #[error("the key layout does not match redis.mode")]
    LayoutMismatch,
    #[error("redis answered fewer replies than commands sent")]
    ShortReply,
    #[error("redis answered {0:?} where presence expected something else")]
    UnexpectedReply(String),
    #[error("session {0} kept moving while its view was recorded")]
    KeptMoving(crate::ids::SessionId),
    #[error("cannot encode a notice: {0}")]
    Encode(#[from] serde_json::Error),
}
