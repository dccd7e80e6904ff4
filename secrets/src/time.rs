//! Small time helpers.

use std::time::{Duration, SystemTime};

/// `2026-01-02T03:04:05Z`.
pub(crate) fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// A random fraction of `d` between `low` and `high` (e.g. 0.6 to 0.7 for
/// "renew at about two thirds of the TTL, with jitter").
pub(crate) fn jittered(d: Duration, low: f64, high: f64) -> Duration {
    d.mul_f64(low + (high - low) * random_unit())
}

/// A uniformly random number in `[0, 1)` from the system's generator.
pub(crate) fn random_unit() -> f64 {
    use ring::rand::SecureRandom as _;
    let mut b = [0u8; 8];
    // The system generator does not fail on Linux; if it did, no jitter.
    if ring::rand::SystemRandom::new().fill(&mut b).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64
}

/// Exponential backoff with full jitter between `min` and `max`.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    pub(crate) fn new(min: Duration, max: Duration) -> Self {
        Backoff {
            min,
            max: max.max(min),
            next: min,
        }
    }

    /// The delay before the next retry: between half and all of the current
    /// step, which doubles each time up to `max`.
    pub(crate) fn fail(&mut self) -> Duration {
        let step = self.next;
        self.next = (self.next * 2).min(self.max);
        jittered(step, 0.5, 1.0)
    }

    /// Back to the first step after a success.
    pub(crate) fn reset(&mut self) {
        self.next = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(400));
        let d1 = b.fail();
        assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
        let d2 = b.fail();
        assert!(d2 >= Duration::from_millis(100) && d2 <= Duration::from_millis(200));
        for _ in 0..5 {
            assert!(b.fail() <= Duration::from_millis(400));
        }
        b.reset();
        assert!(b.fail() <= Duration::from_millis(100));
    }

    #[test]
    fn jitter_stays_in_range() {
        for _ in 0..100 {
            let d = jittered(Duration::from_secs(60), 0.6, 0.7);
            assert!(d >= Duration::from_secs(36) && d <= Duration::from_secs(42));
        }
    }
}
