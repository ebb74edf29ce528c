//! What stops presence-gc, in words an operator can act on.

use presence_core::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum GcError {
    #[error("presence-gc needs Redis: set redis.url (PRESENCE_REDIS__URL)")]
    NoRedis,
    #[error(
        "Redis does not send key expiry events and presence-gc cannot turn them on: {why}. \
         Configure notify-keyspace-events to include \"Ex\" (redis.conf: `notify-keyspace-events Ex`, \
         or your provider's parameter for it)"
    )]
    ExpiryEventsOff { why: String },
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("metrics endpoint: {0}")]
    Io(#[from] std::io::Error),
}

impl From<redis::RedisError> for GcError {
    fn from(error: redis::RedisError) -> Self {
        GcError::Store(error.into())
    }
}
