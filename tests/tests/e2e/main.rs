//! End-to-end tests: one binary, a module per area. Each test starts its own
//! `redis-server` and servers on free ports, so tests run in parallel.

// A test's (or a load generator's) unwrap is its assertion.
#![allow(clippy::unwrap_used)]

mod bad_input;
mod cluster;
mod concurrency;
mod config;
mod conformance;
mod dashboard_browser;
mod demo;
mod embed;
mod gc;
mod hardening;
mod multi_server;
mod notices;
mod notices_browser;
mod operations;
mod protocol_2015;
mod redis_auth;
mod redis_layout;
mod security;
mod setup;
mod site;
mod test_logs;
mod wordpress;
mod wordpress_org;
mod wordpress_site;
