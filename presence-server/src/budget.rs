//! A socket's budget of `viewing` and `watch` events.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, Ordering};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// `per_second` events, with bursts of twice that. Lives inside the session, so a
/// reader costs no allocation of its own for it.
pub struct EventBudget {
    limiter: DefaultDirectRateLimiter,
    /// Whether the current run of refusals was reported: one error per run, so a
    /// flood is not answered with a flood.
    reported: AtomicBool,
}

impl EventBudget {
    pub fn per_second(rate: u32) -> Self {
        let rate = NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN);
        let burst = rate.saturating_mul(NonZeroU32::MIN.saturating_add(1));
        Self {
            limiter: RateLimiter::direct(Quota::per_second(rate).allow_burst(burst)),
            reported: AtomicBool::new(false),
        }
    }

    /// Spends one event; false when the budget is spent.
    pub fn allow(&self) -> bool {
        let allowed = self.limiter.check().is_ok();
        if allowed {
            self.reported.store(false, Ordering::Relaxed);
        }
        allowed
    }

    /// True for the first refusal of a run, which is told to the client.
    pub fn first_refusal(&self) -> bool {
        !self.reported.swap(true, Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_burst_of_twice_the_rate_then_refuses_and_reports_once() {
        let budget = EventBudget::per_second(2);
        assert!((0..4).all(|_| budget.allow()));
        assert!(!budget.allow());
        assert!(budget.first_refusal());
        assert!(!budget.allow());
        assert!(!budget.first_refusal());
    }
}
