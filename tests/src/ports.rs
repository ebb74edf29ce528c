//! Free loopback ports for processes that must be told their port up front.

use std::net::TcpListener;

/// A port the OS just handed out and we released. Another process could take it
/// in between, but on a test machine that race is rare and fails loudly.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("no free loopback port")
}

/// A free port below 55536, so that port + 10000 (a Redis Cluster bus) is valid.
pub fn free_redis_port() -> u16 {
    loop {
        let port = free_port();
        if port < 55_536 {
            return port;
        }
    }
}
