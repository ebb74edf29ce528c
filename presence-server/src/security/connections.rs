//! The per-address connection cap.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use thiserror::Error;

#[derive(Debug, Error)]
#[error("too many connections from your address (at most {0})")]
pub struct TooManyConnections(pub usize);

/// Open connections per client address. A std mutex: each use is one map update.
#[derive(Clone)]
pub struct ConnectionLimiter {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    max: usize,
}

/// One open connection; dropping it (when the socket's disconnect handler is
/// dropped) gives the slot back.
pub struct ConnectionPermit {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl ConnectionLimiter {
    pub fn new(max: usize) -> Self {
        Self {
            open: Arc::default(),
            max,
        }
    }

    pub fn acquire(&self, ip: IpAddr) -> Result<ConnectionPermit, TooManyConnections> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let count = open.entry(ip).or_default();
        if *count >= self.max {
            return Err(TooManyConnections(self.max));
        }
        *count += 1;
        Ok(ConnectionPermit {
            open: self.open.clone(),
            ip,
        })
    }
}

impl Drop for ConnectionPermit {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_and_releases() {
        let limiter = ConnectionLimiter::new(2);
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let first = limiter.acquire(ip).unwrap();
        let _second = limiter.acquire(ip).unwrap();
        assert!(limiter.acquire(ip).is_err());
        assert!(limiter.acquire("203.0.113.8".parse().unwrap()).is_ok());
        drop(first);
        assert!(limiter.acquire(ip).is_ok());
    }
}
