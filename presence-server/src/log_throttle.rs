//! Logs a recurring error once per interval instead of once per event: during a
//! Redis outage every socket event fails, and a log line per event would bury the
//! one line an operator needs.

use parking_lot::Mutex;
use std::fmt::Display;
use std::time::{Duration, Instant};

const INTERVAL: Duration = Duration::from_secs(10);

#[derive(Default)]
pub struct LogThrottle {
    state: Mutex<Option<(Instant, u64)>>,
}

impl LogThrottle {
    /// Logs `error` at warn level unless one was logged in the last interval; the
    /// next line says how many were suppressed meanwhile.
    pub fn warn(&self, error: &dyn Display, what: &str) {
        let mut state = self.state.lock();
        let now = Instant::now();
        match state.as_mut() {
            Some((since, suppressed)) if now.duration_since(*since) < INTERVAL => {
                *suppressed += 1;
            }
            _ => {
                let suppressed = state.map_or(0, |(_, n)| n);
                *state = Some((now, 0));
                tracing::warn!(%error, suppressed, "{what}");
            }
        }
    }
}
