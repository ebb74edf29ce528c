//! The presence load generator and its helpers.
//!
//! `loadgen` (src/bin/loadgen.rs) opens many lightweight Socket.IO websocket
//! clients and measures latency, message counts and the server's memory and CPU;
//! `bare` (src/bin/bare.rs) is the no-Redis socketioxide baseline. BENCHMARKS.md at
//! the repository root has the commands and the results.

// A test's (or a load generator's) unwrap is its assertion.
#![allow(clippy::unwrap_used)]

pub mod client;
pub mod eio;
pub mod hist;
pub mod procstat;
pub mod tracker;
pub mod zipf;
