//! Latency histograms: `hdrhistogram`, in microseconds with three significant
//! digits, behind the few calls the load generator makes.

use std::time::Duration;

use hdrhistogram::Histogram;

#[derive(Clone)]
pub struct Hist(Histogram<u64>);

impl Default for Hist {
    fn default() -> Self {
        // 1 µs to an hour; anything longer is recorded as an hour.
        Self(
            Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .expect("bounds and precision are valid constants"),
        )
    }
}

impl Hist {
    pub fn record(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.0.saturating_record(us);
    }

    pub fn len(&self) -> u64 {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `q` quantile in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        self.0.value_at_quantile(q) as f64 / 1000.0
    }

    pub fn max_ms(&self) -> f64 {
        self.0.max() as f64 / 1000.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_within_a_tenth_of_a_percent() {
        let mut hist = Hist::default();
        for ms in 1..=100 {
            hist.record(Duration::from_millis(ms));
        }
        let p50 = hist.quantile_ms(0.5);
        assert!((49.9..=50.1).contains(&p50), "{p50}");
        assert!((99.9..=100.1).contains(&hist.max_ms()));
        assert!((98.9..=99.1).contains(&hist.quantile_ms(0.99)));
    }
}
