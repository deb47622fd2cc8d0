//! Shard options and their validation (PROTOCOL.md §10.11).

use std::time::Duration;

use crate::ConfigError;

/// The timing and sizing options of a shard. `Default` gives Phoenix's values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardConfig {
    /// Tick period: at most one heartbeat per tick (default 1.5 s).
    pub broadcast_period: Duration,
    /// Ticks an idle shard stays silent before an empty heartbeat (default 10,
    /// so an idle shard heartbeats every 11 ticks).
    pub max_silent_periods: u32,
    /// Silence after which a peer's presences are hidden (default
    /// `broadcast_period × max_silent_periods × 2` = 30 s; must be at least
    /// twice the broadcast period).
    pub down_period: Duration,
    /// Silence after which a peer is forgotten (default 20 min; must exceed
    /// `down_period`).
    pub permdown_period: Duration,
    /// Ticks between two anti-entropy samplings (default 2).
    pub clock_sample_periods: u32,
    /// Maximum sizes of the delta generations, smallest first (default
    /// `[100, 1000, 10000]`).
    pub max_delta_sizes: Vec<usize>,
}

impl Default for ShardConfig {
    fn default() -> Self {
        let broadcast_period = Duration::from_millis(1500);
        let max_silent_periods = 10;
        ShardConfig {
            broadcast_period,
            max_silent_periods,
            down_period: broadcast_period * max_silent_periods * 2,
            permdown_period: Duration::from_secs(20 * 60),
            clock_sample_periods: 2,
            max_delta_sizes: vec![100, 1000, 10_000],
        }
    }
}

impl ShardConfig {
    /// Refuses the settings Phoenix refuses to start with, and the degenerate ones.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.broadcast_period.is_zero() {
            return Err(ConfigError::NoBroadcastPeriod);
        }
        if self.down_period < self.broadcast_period * 2 {
            return Err(ConfigError::DownPeriodTooShort);
        }
        if self.permdown_period <= self.down_period {
            return Err(ConfigError::PermdownPeriodTooShort);
        }
        if self.clock_sample_periods == 0 {
            return Err(ConfigError::NoClockSamplePeriod);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_phoenixs_and_valid() {
        let c = ShardConfig::default();
        assert_eq!(c.down_period, Duration::from_secs(30));
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn invalid_periods_are_refused_with_phoenixs_messages() {
        let c = ShardConfig { down_period: Duration::from_millis(2999), ..ShardConfig::default() };
        assert_eq!(c.validate(), Err(ConfigError::DownPeriodTooShort));
        assert_eq!(
            ConfigError::DownPeriodTooShort.to_string(),
            "down_period must be at least twice as large as the broadcast_period"
        );
        let c = ShardConfig { permdown_period: Duration::from_secs(30), ..ShardConfig::default() };
        assert_eq!(c.validate(), Err(ConfigError::PermdownPeriodTooShort));
        assert_eq!(
            ConfigError::PermdownPeriodTooShort.to_string(),
            "permdown_period must be at least larger than the down_period"
        );
        let c = ShardConfig { down_period: Duration::from_secs(3), ..ShardConfig::default() };
        assert_eq!(c.validate(), Ok(()));
    }
}
