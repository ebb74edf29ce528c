//! A small log-bucketed latency histogram (±1 % resolution) that merges by adding
//! counts, so several load generator processes can be combined afterwards.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Bucket growth factor: each bucket is 2 % wider than the one before.
const GROWTH: f64 = 1.02;
const BUCKETS: usize = 1200;

#[derive(Clone, Serialize, Deserialize)]
pub struct Hist {
    counts: Vec<u64>,
    max_us: u64,
    total: u64,
}

impl Default for Hist {
    fn default() -> Self {
        Self {
            counts: vec![0; BUCKETS],
            max_us: 0,
            total: 0,
        }
    }
}

fn bucket(us: u64) -> usize {
    if us <= 1 {
        return 0;
    }
    ((us as f64).ln() / GROWTH.ln())
        .ceil()
        .min((BUCKETS - 1) as f64) as usize
}

impl Hist {
    pub fn record(&mut self, latency: Duration) {
        let us = latency.as_micros() as u64;
        self.counts[bucket(us)] += 1;
        self.max_us = self.max_us.max(us);
        self.total += 1;
    }

    pub fn merge(&mut self, other: &Hist) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.max_us = self.max_us.max(other.max_us);
        self.total += other.total;
    }

    pub fn len(&self) -> u64 {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The `q` quantile in milliseconds (upper edge of its bucket, capped at max).
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        let rank = ((self.total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, count) in self.counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                let upper = GROWTH.powi(i as i32).min(self.max_us as f64);
                return upper / 1000.0;
            }
        }
        self.max_us as f64 / 1000.0
    }

    pub fn max_ms(&self) -> f64 {
        self.max_us as f64 / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_two_percent() {
        let mut hist = Hist::default();
        for ms in 1..=100 {
            hist.record(Duration::from_millis(ms));
        }
        let p50 = hist.quantile_ms(0.5);
        assert!((49.0..=51.5).contains(&p50), "{p50}");
        assert_eq!(hist.max_ms(), 100.0);
        assert!((98.0..=100.0).contains(&hist.quantile_ms(0.99)));
    }
}
