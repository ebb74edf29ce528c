//! The per-address connection budget: what one client address may hold open on
//! this server at once, counted from the moment the kernel hands us a connection,
//! before a byte is read.
//!
//! Three things hold a lease on their address's budget, each for as long as it
//! holds memory or a file descriptor here:
//! - every TCP connection, from `accept` to close (from a trusted proxy, none: the
//!   proxy carries many clients, each counted below by its forwarded address);
//! - every Engine.IO session opened over HTTP long-polling, from its handshake until
//!   engineioxide drops it: it outlives the requests that carry it;
//! - behind a trusted proxy, every websocket and event stream, whose connection is
//!   the proxy's.
//!
//! So a websocket reader holds one lease (its connection), a long-polling reader
//! its session and the connections it polls on, and a flood of handshakes, idle
//! connections or half-sent requests from one address stops at the budget.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use thiserror::Error;

use presence_core::maps::shrink_if_sparse;

#[derive(Debug, Error)]
#[error("too many connections from your address (at most {0})")]
pub struct OverBudget(pub usize);

/// Leases held per client address. A parking_lot mutex: each use is one map update.
#[derive(Clone)]
pub struct AddressBudget {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    max: usize,
}

/// One thing an address holds open; dropping it gives the slot back.
pub struct Lease {
    open: Arc<Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl AddressBudget {
    pub fn new(max: usize) -> Self {
        Self {
            open: Arc::default(),
            max,
        }
    }

    pub fn lease(&self, ip: IpAddr) -> Result<Lease, OverBudget> {
        let mut open = self.open.lock();
        let count = open.entry(ip).or_default();
        if *count >= self.max {
            return Err(OverBudget(self.max));
        }
        *count += 1;
        Ok(Lease {
            open: self.open.clone(),
            ip,
        })
    }

    /// Addresses holding at least one lease.
    pub fn addresses(&self) -> usize {
        self.open.lock().len()
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut open = self.open.lock();
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
                shrink_if_sparse(&mut open);
            }
        }
    }
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease").field("ip", &self.ip).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_each_address_and_releases_on_drop() {
        let budget = AddressBudget::new(2);
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let first = budget.lease(ip).unwrap();
        let _second = budget.lease(ip).unwrap();
        assert!(budget.lease(ip).is_err());
        assert!(budget.lease("203.0.113.8".parse().unwrap()).is_ok());
        drop(first);
        assert!(budget.lease(ip).is_ok());
    }

    #[test]
    fn an_address_with_nothing_open_is_forgotten() {
        let budget = AddressBudget::new(2);
        let lease = budget.lease("203.0.113.7".parse().unwrap()).unwrap();
        assert_eq!(budget.addresses(), 1);
        drop(lease);
        assert_eq!(budget.addresses(), 0);
    }
}
