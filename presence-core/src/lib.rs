//! The core both presence binaries share: configuration, ids, the Redis key schema,
//! the Lua scripts, the stores and the reaper.

pub mod cli;
pub mod config;
pub mod error;
pub mod fnv;
pub mod ids;
pub mod keys;
pub mod maps;
pub mod notice;
pub mod origin;
pub mod reaper;
pub mod shutdown;
pub mod signing;
pub mod store;
pub mod systemd;
pub mod telemetry;
pub mod viewing;
pub mod watch;

pub use config::Config;
pub use error::{IdError, StoreError};
pub use ids::{PostId, SessionId};
pub use keys::Keys;
pub use store::{Change, MemoryStore, PostStats, RedisStore, Sample, SiteStats, Store, Viewing};

use std::sync::Arc;

/// Opens the store the config asks for: Redis when `redis.url` is set, the
/// in-memory store otherwise.
pub fn open_store(config: &Config) -> Result<Arc<dyn Store>, StoreError> {
    if config.uses_memory_store() {
        Ok(Arc::new(MemoryStore::new(config.session_ttl())))
    } else {
        Ok(Arc::new(RedisStore::connect(
            &config.redis,
            Keys::for_redis(&config.redis),
            config.session_ttl(),
        )?))
    }
}
