//! Typed errors, one per operation that can refuse.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

use crate::{OwnerId, ReplicaRef};

/// Why [`State::track`](crate::State::track) refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrackError {
    /// The (owner, topic, key) triple is already tracked (Phoenix:
    /// `{:error, {:already_tracked, pid, topic, key}}`). The same owner may be
    /// tracked under another topic or key.
    AlreadyTracked {
        /// The owner.
        owner: OwnerId,
        /// The topic.
        topic: Arc<str>,
        /// The key.
        key: Arc<str>,
    },
    /// Metas are maps: the given meta was not a JSON object.
    MetaNotObject,
}

impl fmt::Display for TrackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrackError::AlreadyTracked { owner, topic, key } => {
                write!(f, "{owner} is already tracked on topic {topic:?} under key {key:?}")
            }
            TrackError::MetaNotObject => f.write_str("presence meta must be a JSON object"),
        }
    }
}

impl Error for TrackError {}

/// Why [`State::update`](crate::State::update) refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpdateError {
    /// Nothing is tracked for that (owner, topic, key) (Phoenix: `{:error, :nopresence}`).
    NoPresence,
    /// Metas are maps: the new meta was not a JSON object.
    MetaNotObject,
}

impl fmt::Display for UpdateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UpdateError::NoPresence => f.write_str("no presence tracked for that owner, topic and key"),
            UpdateError::MetaNotObject => f.write_str("presence meta must be a JSON object"),
        }
    }
}

impl Error for UpdateError {}

/// A delta was refused because it starts after what this replica has seen of
/// one of its replicas: merging it would skip events (a gap).
///
/// Nothing is lost: the sender's clock, advertised in every heartbeat, stays
/// ahead of ours, so the next anti-entropy round asks a peer for a transfer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GapError {
    /// The replica whose events would be skipped.
    pub replica: ReplicaRef,
    /// The delta's first counter for it, exclusive (the delta holds `start + 1..`).
    pub start: u64,
    /// The highest contiguous counter this replica has seen of it.
    pub seen: u64,
}

impl fmt::Display for GapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "delta starts after {} of {} but only {} were seen", self.start, self.replica, self.seen)
    }
}

impl Error for GapError {}

/// Two deltas whose ranges do not touch cannot be merged into one
/// (Phoenix: `{:error, :not_contiguous}`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotContiguous;

impl fmt::Display for NotContiguous {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("delta ranges are not contiguous")
    }
}

impl Error for NotContiguous {}

/// Invalid [`ShardConfig`](crate::ShardConfig); the messages are Phoenix's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// `down_period < 2 × broadcast_period`.
    DownPeriodTooShort,
    /// `permdown_period <= down_period`.
    PermdownPeriodTooShort,
    /// `clock_sample_periods` is 0.
    NoClockSamplePeriod,
    /// `broadcast_period` is zero.
    NoBroadcastPeriod,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConfigError::DownPeriodTooShort => "down_period must be at least twice as large as the broadcast_period",
            ConfigError::PermdownPeriodTooShort => "permdown_period must be at least larger than the down_period",
            ConfigError::NoClockSamplePeriod => "clock_sample_periods must be at least 1",
            ConfigError::NoBroadcastPeriod => "broadcast_period must not be zero",
        })
    }
}

impl Error for ConfigError {}

/// A heartbeat [`Liveness`](crate::Liveness) did not accept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaleIncarnation {
    /// The sender.
    pub replica: ReplicaRef,
    /// The newest incarnation already seen under that name.
    pub newest_vsn: u64,
}

impl fmt::Display for StaleIncarnation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} is older than incarnation {} of the same name", self.replica, self.newest_vsn)
    }
}

impl Error for StaleIncarnation {}
