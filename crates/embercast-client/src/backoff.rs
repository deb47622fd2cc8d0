//! Retry delays: exponential backoff with jitter, and the small random source
//! the jitter draws from.

use std::time::Duration;

/// How long to wait before retry number `attempt` (1, 2, 3, …).
///
/// The delay doubles from `initial` up to `max`; then up to `jitter` of it is
/// taken off at random. Jitter matters when many clients lost the same server
/// at the same moment: without it they would all come back in the same
/// millisecond, and again after each failure.
///
/// ```
/// use std::time::Duration;
/// use embercast_client::Backoff;
///
/// let b = Backoff::exponential(Duration::from_millis(10), Duration::from_secs(5)).jitter(0.0);
/// assert_eq!(b.delay(1, 0.7), Duration::from_millis(10));
/// assert_eq!(b.delay(4, 0.7), Duration::from_millis(80));
/// assert_eq!(b.delay(30, 0.7), Duration::from_secs(5));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    jitter: f64,
}

impl Backoff {
    /// Doubling delays from `initial` to `max`, with half of each delay jittered.
    pub fn exponential(initial: Duration, max: Duration) -> Self {
        Backoff { initial, max: max.max(initial), jitter: 0.5 }
    }

    /// The fraction of each delay (0.0 to 1.0) that may be taken off at random.
    pub fn jitter(mut self, fraction: f64) -> Self {
        self.jitter = if fraction.is_nan() { 0.0 } else { fraction.clamp(0.0, 1.0) };
        self
    }

    /// The delay before retry `attempt` (counted from 1), given a uniform
    /// `sample` in `[0, 1)`.
    pub fn delay(&self, attempt: u32, sample: f64) -> Duration {
        let doublings = attempt.saturating_sub(1).min(32);
        let full = self.initial.saturating_mul(1u32 << doublings.min(31)).min(self.max);
        full.mul_f64(1.0 - self.jitter * sample.clamp(0.0, 1.0))
    }

    /// phoenix.js reconnects after 10 ms, 50 ms, … up to 5 s; this reaches
    /// 5 s after ten failures, jittered.
    pub(crate) fn default_reconnect() -> Self {
        Backoff::exponential(Duration::from_millis(10), Duration::from_secs(5))
    }

    /// phoenix.js rejoins after 1 s, 2 s, 5 s, then every 10 s.
    pub(crate) fn default_rejoin() -> Self {
        Backoff::exponential(Duration::from_secs(1), Duration::from_secs(10))
    }
}

/// A SplitMix64 generator: enough randomness for jitter and WebSocket keys,
/// with no dependency and 8 bytes of state per connection.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    /// Seeded from std's randomly keyed hasher, different for every call.
    pub(crate) fn new() -> Self {
        use std::hash::{BuildHasher, RandomState};
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        Rng(RandomState::new().hash_one(n))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform sample in `[0, 1)`.
    pub(crate) fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_then_caps() {
        let b = Backoff::exponential(Duration::from_millis(100), Duration::from_secs(1)).jitter(0.0);
        let delays: Vec<_> = (1..=6).map(|a| b.delay(a, 0.5).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.delay(u32::MAX, 0.0), Duration::from_secs(1));
        assert_eq!(b.delay(0, 0.0), Duration::from_millis(100));
    }

    #[test]
    fn jitter_takes_off_at_most_its_fraction() {
        let b = Backoff::exponential(Duration::from_millis(1000), Duration::from_secs(10)).jitter(0.5);
        assert_eq!(b.delay(1, 0.0), Duration::from_millis(1000));
        assert_eq!(b.delay(1, 0.5), Duration::from_millis(750));
        assert!(b.delay(1, 0.999_999) > Duration::from_millis(500));
        assert_eq!(
            Backoff::exponential(Duration::from_secs(1), Duration::ZERO).jitter(7.0).delay(1, 0.5),
            Duration::from_millis(500)
        );
    }

    #[test]
    fn samples_are_in_range_and_spread() {
        let mut rng = Rng::new();
        let samples: Vec<f64> = (0..1000).map(|_| rng.next_f64()).collect();
        assert!(samples.iter().all(|s| (0.0..1.0).contains(s)));
        let low = samples.iter().filter(|s| **s < 0.5).count();
        assert!((350..650).contains(&low), "{low} of 1000 below 0.5");
        assert_ne!(Rng::new().next_u64(), Rng::new().next_u64());
    }
}
