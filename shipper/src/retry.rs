//! The one rule for waiting before another try of a call that failed for a
//! reason that may pass: exponential backoff with full jitter, so clients
//! that failed together (a throttled account, a busy queue) spread out
//! instead of retrying in step.

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Tries in all, the first included.
    pub attempts: u32,
    /// The longest wait before the first retry.
    pub base: Duration,
    /// No wait is longer than this.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 4,
            base: Duration::from_millis(250),
            cap: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// The longest wait before retry number `retry` (1 for the first):
    /// `base * 2^(retry-1)`, capped.
    pub fn ceiling(&self, retry: u32) -> Duration {
        self.base
            .saturating_mul(1u32 << retry.saturating_sub(1).min(16))
            .min(self.cap)
    }

    /// A random wait between nothing and the ceiling (full jitter).
    pub fn delay(&self, retry: u32) -> Duration {
        self.ceiling(retry).mul_f64(fastrand::f64())
    }

    /// Waits before retry number `retry`.
    pub async fn wait(&self, retry: u32) {
        tokio::time::sleep(self.delay(retry)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ceiling_doubles_from_the_base_up_to_the_cap() {
        let policy = RetryPolicy {
            attempts: 10,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(1000),
        };
        let ceilings: Vec<u64> = (1..=6)
            .map(|retry| policy.ceiling(retry).as_millis() as u64)
            .collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(policy.ceiling(u32::MAX), Duration::from_millis(1000));
    }

    #[test]
    fn delays_spread_over_the_whole_range_below_the_ceiling() {
        let policy = RetryPolicy::default();
        let ceiling = policy.ceiling(3);
        let delays: Vec<Duration> = (0..1000).map(|_| policy.delay(3)).collect();
        assert!(delays.iter().all(|d| *d <= ceiling));
        // Full jitter: short and long waits both occur (each missing with a
        // chance of 2^-1000).
        assert!(delays.iter().any(|d| *d < ceiling / 2));
        assert!(delays.iter().any(|d| *d > ceiling / 2));
    }
}
