//! The process's open-file limit, shared out: near it, new connections are refused
//! at once, and the last [`RESERVED`] descriptors are kept for `/healthz`,
//! `/readyz` and `/metrics`, so an operator (and the load balancer) can still see
//! what is going on while the server is full.
//!
//! Every socket is a file descriptor, and a process has a fixed number of them
//! (`ulimit -n`, `LimitNOFILE=`). Without a reserve, a server at its limit cannot
//! even accept the health check that would tell anyone, and `accept` fails in a
//! loop ("Too many open files").

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rlimit::Resource;

/// Descriptors kept for health checks and metrics at the limit.
pub const RESERVED: usize = 32;

/// How full the process's file table is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Room {
    /// Room for anything.
    Plenty,
    /// Within [`RESERVED`] of the limit: only health checks and metrics.
    ReserveOnly,
}

/// Open files: this server's connections, counted as they open and close, plus
/// everything else the process holds (Redis connections, the listener, logs),
/// recounted now and then.
pub struct Files {
    connections: AtomicUsize,
    others: AtomicUsize,
    limit: AtomicUsize,
}

/// One open connection's descriptor; dropping it counts it closed.
pub struct OpenFile(Arc<Files>);

impl Files {
    /// Raises the soft limit to the hard one (the kernel allows that without
    /// privileges; the default soft limit of 1024 is far too low for a server),
    /// then takes a first count.
    pub fn new() -> Arc<Self> {
        if let Err(error) = rlimit::increase_nofile_limit(u64::MAX) {
            tracing::debug!(%error, "cannot raise the open-file limit");
        }
        let files = Arc::new(Self {
            connections: AtomicUsize::new(0),
            others: AtomicUsize::new(0),
            limit: AtomicUsize::new(usize::MAX),
        });
        files.recount();
        files
    }

    /// Counts an accepted connection open until the returned guard drops.
    pub fn opened(self: &Arc<Self>) -> OpenFile {
        self.connections.fetch_add(1, Ordering::Relaxed);
        OpenFile(self.clone())
    }

    /// Whether an ordinary connection may be served now.
    pub fn room(&self) -> Room {
        let in_use = self.in_use();
        let limit = self.limit.load(Ordering::Relaxed);
        if in_use.saturating_add(RESERVED) >= limit {
            Room::ReserveOnly
        } else {
            Room::Plenty
        }
    }

    /// The fraction of the limit in use.
    pub fn used(&self) -> f64 {
        self.in_use() as f64 / self.limit.load(Ordering::Relaxed).max(1) as f64
    }

    /// Reads the limit again (an operator may change it with `prlimit`), and counts
    /// the descriptors that are not connections: everything open, less the
    /// connections open at that moment.
    pub fn recount(&self) {
        if let Ok((soft, _)) = rlimit::getrlimit(Resource::NOFILE) {
            self.limit.store(
                usize::try_from(soft).unwrap_or(usize::MAX),
                Ordering::Relaxed,
            );
        }
        // Linux lists a process's descriptors here; elsewhere only connections count.
        // Reading it opens one more, which is closed again at once.
        if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
            let total = entries.count().saturating_sub(1);
            let connections = self.connections.load(Ordering::Relaxed);
            self.others
                .store(total.saturating_sub(connections), Ordering::Relaxed);
        }
    }

    fn in_use(&self) -> usize {
        self.connections.load(Ordering::Relaxed) + self.others.load(Ordering::Relaxed)
    }
}

impl Drop for OpenFile {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_descriptors_are_kept_for_health_checks() {
        let files = Arc::new(Files {
            connections: AtomicUsize::new(0),
            others: AtomicUsize::new(10),
            limit: AtomicUsize::new(10 + RESERVED + 2),
        });
        let first = files.opened();
        assert_eq!(files.room(), Room::Plenty);
        let second = files.opened();
        assert_eq!(files.room(), Room::ReserveOnly);
        drop(second);
        assert_eq!(files.room(), Room::Plenty);
        drop(first);
        assert!(files.used() > 0.0);
    }
}
