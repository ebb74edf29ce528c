//! Test helpers that read like the story they tell: `RedisServer::start()`,
//! `spawn_server()`, `Reader::connect()`, `node_script()`.
//!
//! Everything here is real: a `redis-server` process per test on its own port, the
//! server either in-process (`run` on port 0) or as the built binary, and clients
//! that speak Socket.IO over TCP (`rust_socketio`, the npm `socket.io-client`,
//! headless Chromium).

// A test's (or a load generator's) unwrap is its assertion.
#![allow(clippy::unwrap_used)]

pub mod binaries;
pub mod client;
pub mod http;
pub mod logs;
pub mod metrics;
pub mod node;
pub mod package;
pub mod ports;
pub mod redis_cluster;
pub mod redis_server;
pub mod server;
pub mod wordpress;

pub use binaries::{GcProcess, ServerProcess};
pub use client::Reader;
pub use http::api;
pub use redis_server::RedisServer;
pub use server::{TestServer, spawn_server};

use std::time::Duration;

/// Polls `check` until it returns `Some`, or panics with `what` after `timeout`.
/// Tests wait for conditions, never for fixed times.
pub async fn eventually<T>(
    what: &str,
    timeout: Duration,
    mut check: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
